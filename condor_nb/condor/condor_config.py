"""Which HTCondor client configuration condor_nb uses, found the way HTCondor finds it.

Order, first match wins:

1. the ``condor_config`` setting (``CONDOR_NB_CONDOR_CONFIG``, ``config.toml``, keyword);
2. the ``CONDOR_CONFIG`` environment variable (HTCondor's own first place);
3. the ``personal`` profile asked for by name (keyword, ``CONDOR_NB_PROFILE`` or
   ``config.toml``): the personal pool's client configuration;
4. HTCondor's standard places: ``/etc/condor/condor_config``,
   ``/usr/local/etc/condor_config``, ``~condor/condor_config``;
5. nothing found anywhere: the personal pool (``condor_nb pool start``).

HTCondor also reads the user's ``~/.condor/user_config`` on top of whichever file is
used (as it does for condor_submit); it is reported, not chosen. No daemon is
contacted and nothing is changed here.
"""

from __future__ import annotations

import functools
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from condor_nb.errors import CondorNbError, ConfigError, PoolError
from condor_nb.settings import Settings

#: HTCondor's search when CONDOR_CONFIG is unset (the manual's "Ordered Evaluation to
#: Set the Configuration"); ``~condor`` is the home of the user named condor.
STANDARD_PLACES: tuple[str, ...] = (
    "/etc/condor/condor_config",
    "/usr/local/etc/condor_config",
    "~condor/condor_config",
)

SETTING, ENVIRONMENT, PERSONAL_ASKED, STANDARD, PERSONAL_FALLBACK = (
    "setting",
    "CONDOR_CONFIG",
    "personal profile",
    "standard search",
    "personal pool (nothing else found)",
)


@dataclass(frozen=True)
class ConfigChoice:
    """The configuration file chosen, and why (said by ``condor_nb doctor``)."""

    path: str
    source: str  # one of SETTING, ENVIRONMENT, PERSONAL_ASKED, STANDARD, PERSONAL_FALLBACK
    why: str
    user_config: str | None = None  # ~/.condor/user_config, read by HTCondor on top

    @property
    def is_personal_pool(self) -> bool:
        return self.source in (PERSONAL_ASKED, PERSONAL_FALLBACK)

    def describe(self) -> str:
        extra = f"; HTCondor also reads {self.user_config}" if self.user_config else ""
        return f"{self.path} ({self.why}){extra}"


@functools.lru_cache(maxsize=1)
def _condor_home() -> str | None:
    """The home of the user named condor, looked up once per process: every submit
    chooses the configuration several times, and on an access point the password
    database may be a directory service (sssd, LDAP) answering over the network."""
    try:
        return pwd.getpwnam("condor").pw_dir
    except KeyError:
        return None


def _expand(place: str) -> str | None:
    if not place.startswith("~condor/"):
        return place
    home = _condor_home()
    return None if home is None else os.path.join(home, place[len("~condor/") :])


def standard_config() -> str | None:
    """The first file of HTCondor's standard places that exists, or None."""
    for place in STANDARD_PLACES:
        path = _expand(place)
        if path and os.path.isfile(path):
            return path
    return None


def user_config(environ: Mapping[str, str]) -> str | None:
    """``~/.condor/user_config`` when it exists (HTCondor's USER_CONFIG_FILE default)."""
    home = environ.get("HOME") or str(Path.home())
    path = os.path.join(home, ".condor", "user_config")
    return path if os.path.isfile(path) else None


def personal_asked(settings: Settings) -> bool:
    """Was the ``personal`` profile named (not merely the default)?"""
    return settings.profile == "personal" and settings.profile_given


def choose(
    settings: Settings, environ: Mapping[str, str] | None = None, *, set_by_us: str | None = None
) -> ConfigChoice:
    """The client configuration for ``settings`` (see the module docstring for the order).

    ``set_by_us`` is a CONDOR_CONFIG value condor_nb itself exported for the bindings;
    like ``/dev/null`` (what ``import htcondor2`` sets when it finds nothing) it is not
    the user's choice. Raises PoolError when the personal pool is the answer but was
    never started, ConfigError when nothing at all is found (both hints say what to do).
    """
    env = os.environ if environ is None else environ
    extra = user_config(env)
    if settings.condor_config:
        return ConfigChoice(
            settings.condor_config, SETTING, "the condor_config setting of condor_nb", extra
        )
    given = env.get("CONDOR_CONFIG")
    if given not in (None, "", os.devnull) and given != set_by_us:
        return ConfigChoice(str(given), ENVIRONMENT, "CONDOR_CONFIG is set", extra)
    if personal_asked(settings):
        return ConfigChoice(_personal(), PERSONAL_ASKED, "the personal profile was asked for")
    found = standard_config()
    if found:
        why = "found by HTCondor's standard search; CONDOR_CONFIG unset"
        return ConfigChoice(found, STANDARD, why, extra)
    try:
        path = _personal()
    except PoolError as exc:
        raise no_configuration(exc) from exc
    why = "the personal pool: no CONDOR_CONFIG and no file in " + ", ".join(STANDARD_PLACES)
    return ConfigChoice(path, PERSONAL_FALLBACK, why, extra)


def _personal() -> str:
    # Lazy: the pool package (subprocess, socket, its daemons' code) is needed only
    # when the personal pool is the answer, not on an access point's first submit.
    from condor_nb import pool

    return pool.client_config()


def no_configuration(cause: CondorNbError) -> ConfigError:
    places = ", ".join(STANDARD_PLACES)
    return ConfigError(
        f"no HTCondor configuration found (CONDOR_CONFIG is unset and none of {places} "
        f"exists), and {cause.message}",
        hint="on an access point: export CONDOR_CONFIG=/path/to/condor_config (or set "
        "condor_config in ~/.config/condor_nb/config.toml); on this machine alone: "
        "condor_nb pool start",
    )
