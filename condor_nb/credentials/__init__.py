"""Which credential HTCondor will present, and whether it is good enough to submit."""
