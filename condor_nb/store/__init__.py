"""What this side keeps of the user's jobs.

The registry, its sync with the schedd, the cache, the outputs.
"""
