"""The HTCondor bindings, pointed at the right client configuration.

``import htcondor2`` reads its configuration once, at import: which configuration is
chosen (condor_config.py) and when the bindings must read it again live here, below
the schedd client and the credential discovery that both need them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from condor_nb.condor import condor_config
from condor_nb.errors import ConfigError
from condor_nb.settings import Settings

log = logging.getLogger(__name__)


def condor_config_for(settings: Settings) -> str | None:
    """Which client configuration to use, found as HTCondor finds it (condor_config.py)."""
    # `import htcondor2` sets CONDOR_CONFIG=/dev/null when it finds no configuration,
    # and configure_bindings sets it for the bindings: neither is the user's choice.

    return condor_config.choose(settings, set_by_us=_set_by_us).path


_configured: str | None = None  # what the bindings were last configured with
_set_by_us: str | None = None  # a CONDOR_CONFIG we wrote ourselves (not the user's choice)


def configure_bindings(settings: Settings) -> Any:
    """Point the bindings at the right pool and return the ``htcondor2`` module."""
    global _configured, _set_by_us
    config = condor_config_for(settings)
    if config and not os.path.isfile(config):
        raise ConfigError(
            f"HTCondor client configuration not found: {config}",
            hint="start the personal pool with `condor_nb pool start`, "
            "or set CONDOR_CONFIG to your access point's client configuration",
        )
    # Only CONDOR_CONFIG: _CONDOR_* overrides would leak into child processes
    # and outrank the configuration they were asked to use.
    if config and os.environ.get("CONDOR_CONFIG") != config:
        os.environ["CONDOR_CONFIG"] = _set_by_us = config
    imported_before = "htcondor2" in sys.modules
    import htcondor2

    # The bindings read their configuration at import: if someone imported them
    # first (a notebook cell, a test), or we now want another pool, read it again.
    if imported_before and (_configured is None or _configured != config):
        htcondor2.reload_config()
    if _configured != config:
        log.debug("HTCondor client configuration: %s", config or "HTCondor's own search")
    _configured = config
    return htcondor2


def client_params(settings: Settings, names: Sequence[str]) -> dict[str, str | None]:
    """Client configuration values as HTCondor reads them (token directories, methods...).

    Used by condor_nb.credentials.discover; no daemon is contacted.
    """
    h = configure_bindings(settings)
    return {name: h.param.get(name) for name in names}
