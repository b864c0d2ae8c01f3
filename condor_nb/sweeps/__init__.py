"""Sweeps: one notebook over many parameter sets, as one HTCondor cluster."""
