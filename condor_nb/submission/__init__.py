"""From a spec to a job on the schedd.

Site profiles, quoting, the submit description, the shipped executor.
"""
