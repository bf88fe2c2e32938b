"""target-invoiced: Customcrm records, mapped, synced into Invoiced."""
