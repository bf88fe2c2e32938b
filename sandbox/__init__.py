"""Local stand-ins for Customcrm and Invoiced, used by the demo, the tests and the benchmarks."""
