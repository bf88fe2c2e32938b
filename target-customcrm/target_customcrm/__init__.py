"""target-customcrm: Invoiced records, mapped, synced into Customcrm."""
