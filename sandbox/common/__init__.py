"""Code shared by both sandboxes: the HTTP server, fault injection, CLI flags and seed data."""
