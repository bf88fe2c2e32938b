"""What the Customcrm and Invoiced plugins share: HTTP rules, link store, planner, executor."""
