"""Is everything in place, and did the worker run what this side runs: doctor and parity."""
