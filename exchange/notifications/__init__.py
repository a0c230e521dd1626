"""What waits for each school's DSLs and DPO, and the emails that tell them (never a name)."""
