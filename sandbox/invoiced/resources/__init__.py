"""One module per Invoiced object: its fields, rules, events and list options."""
