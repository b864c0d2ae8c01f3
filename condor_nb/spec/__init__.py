"""What the user asked for, validated once.

Notebooks, parameters, sizes, job and sweep specs (no I/O but reading).
"""
