"""``python -m condor_nb.pool start|stop|status|env``: same as ``condor_nb pool ...``."""

from __future__ import annotations

from condor_nb.cli.main import main

if __name__ == "__main__":
    import sys

    main(["pool", *sys.argv[1:]])
