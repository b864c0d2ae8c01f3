"""Talking to HTCondor.

The schedd client (the only importer of the bindings), its configuration, job states.
"""
