"""One typed settings object.

Precedence: keyword arguments > ``CONDOR_NB_*`` environment > the selected
``[profiles.NAME]`` table of ``~/.config/condor_nb/config.toml`` > its top level >
packaged defaults. Reading settings never changes the process (no side effects).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_nb.errors import ConfigError

_ENV_PREFIX = "CONDOR_NB_"
_MAX_CONFIG_BYTES = 1024 * 1024


def _data_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or ""
    if not os.path.isabs(base):  # the XDG rule: a relative XDG_DATA_HOME is ignored
        base = str(Path.home() / ".local" / "share")
    return Path(base) / "condor_nb"


@dataclass(frozen=True)
class Settings:
    """Everything condor_nb needs to know about where and how to submit."""

    home: Path = field(default_factory=_data_home)
    profile: str = "personal"
    condor_config: str | None = None
    collector: str | None = None
    schedd: str | None = None
    owner: str | None = None
    image: str | None = None
    # One more SciToken audience the access point accepts (beyond ANY, WLCG's "any" and
    # condor://COLLECTOR_HOST): what its SCITOKENS_SERVER_AUDIENCE names.
    token_audience: str | None = None
    cpus: int = 1
    memory: str = "1GB"
    disk: str = "1GB"
    gpus: int = 0
    worker_python: str = "python3"
    # Bring papermill & co. with each job (condor_nb.submission.executor): auto, always or never.
    ship_executor: str = "auto"
    spool_timeout: int = 600
    poll_interval: float = 2.0
    # Longest wait for one schedd call (all its retries included): then exit 5.
    schedd_timeout: float = 60.0
    # The access point sees this host's files at the same paths (campus NFS/home):
    # submit without spooling; the shadow reads inputs and writes outputs in place.
    shared_filesystem: bool = False
    # Machines join the pool for idle jobs (an autoscaler, an annex): a job no slot can
    # run now is submitted with a warning instead of refused (submission/nomatch.py).
    pool_may_grow: bool = False
    # Notification targets every job gets unless --notify is given (space separated; see
    # condor_nb.spec.notify), the Slack Web API the jobs call, and this user's Jupyter
    # server (for the job's link in a notification), when known.
    notify: str | None = None
    slack_api_url: str = "https://slack.com/api"
    jupyter_url: str | None = None
    # Read from the configuration file, not settable one by one: the named profiles of
    # its [profiles.NAME] tables, and whether a profile was named at all (anywhere),
    # which decides the pool when no HTCondor configuration exists (condor_config.py).
    profiles: Mapping[str, Any] = field(default_factory=dict)
    profile_given: bool = False

    @property
    def registry_path(self) -> Path:
        return self.home / "registry.sqlite"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_FIELDS = {
    f.name: f for f in dataclasses.fields(Settings) if f.name not in ("profiles", "profile_given")
}
_INT_FIELDS = {"cpus", "gpus", "spool_timeout"}
_FLOAT_FIELDS = {"poll_interval", "schedd_timeout"}
_BOOL_FIELDS = {"shared_filesystem", "pool_may_grow"}
_CHOICE_FIELDS = {"ship_executor": ("auto", "always", "never")}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError("not true or false")


def config_file_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get(_ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "condor_nb" / "config.toml"


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib

    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the configuration file {path}: {exc.strerror}",
            hint="check its permissions, or move it away to use the defaults",
        ) from None
    if len(data) > _MAX_CONFIG_BYTES:
        raise ConfigError(
            f"configuration file {path}: expected at most {_MAX_CONFIG_BYTES // 1024} KiB "
            "of settings; it is larger",
            hint="is CONDOR_NB_CONFIG pointing at the right file?",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"configuration file {path}: expected UTF-8 text (TOML); "
            f"got an invalid byte at offset {exc.start}",
            hint="save the file as UTF-8, or move it away to use the defaults",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"configuration file {path} is not valid TOML: {exc}",
            hint="fix the line named above, or move the file away to use the defaults",
        ) from exc


def _home(value: Any, source: str) -> Path:
    """An absolute folder: a relative one would move with the current directory."""
    if not isinstance(value, str | os.PathLike):
        raise TypeError("not a path")
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # "~nosuchuser/x"
        path = Path(value)
    if not path.is_absolute():
        raise ConfigError(
            f"setting 'home' from {source}: expected an absolute path; got {str(value)!r}",
            hint=f"use a full path such as {Path.cwd() / path} (the registry and staging "
            "folders must not change with the current directory)",
        )
    return path


def _convert(name: str, value: Any, source: str) -> Any:
    """Turn a raw value (string from the environment, TOML value) into the field's type."""
    if value is None:
        return None
    try:
        if name == "home":
            return _home(value, source)
        if name in _INT_FIELDS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("not a whole number")
            return int(value)
        if name in _FLOAT_FIELDS:
            number = float(value)
            if not math.isfinite(number) or number <= 0:
                raise ValueError("not a positive number")
            return number
        if name in _BOOL_FIELDS:
            return _to_bool(value)
        if name in _CHOICE_FIELDS and str(value).strip().lower() not in _CHOICE_FIELDS[name]:
            raise ValueError("not one of the choices")
        if name in _CHOICE_FIELDS:
            return str(value).strip().lower()
    except (TypeError, ValueError) as exc:
        expected = (
            "an absolute path"
            if name == "home"
            else " or ".join(_CHOICE_FIELDS[name])
            if name in _CHOICE_FIELDS
            else "true or false"
            if name in _BOOL_FIELDS
            else "a whole number"
            if name in _INT_FIELDS
            else "a positive number"
        )
        raise ConfigError(
            f"setting '{name}' from {source}: expected {expected}, got {value!r}",
            hint=f"set {name} to {expected} in {source}",
        ) from exc
    return str(value) if not isinstance(value, str) else value


def _from_table(table: Any, source: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"{source}: expected a table of settings; got {type(table).__name__} {table!r:.60}",
            hint="write it as a [section] with `name = value` lines, e.g. [profiles.campus]",
        )
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "profiles":
            continue
        if key not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(
                f"unknown setting '{key}' in {source}",
                hint=f"known settings: {known}",
            )
        out[key] = _convert(key, value, source)
    return out


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FIELDS:
        raw = environ.get(_ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            out[name] = _convert(name, raw, f"environment variable {_ENV_PREFIX}{name.upper()}")
    return out


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from all sources; ``overrides`` are keyword arguments (highest)."""
    env = os.environ if environ is None else environ
    path = config_file_path(env)
    raw = _read_config_file(path)
    values = _from_table(raw, str(path))
    env_values = _from_environment(env)
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(_FIELDS)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    profile = given.get("profile") or env_values.get("profile") or values.get("profile")
    profiles = raw.get("profiles", {})
    if not isinstance(profiles, Mapping):
        raise ConfigError(
            f"{path}: 'profiles' must be a table of named profiles; got {profiles!r:.60}",
            hint="write each profile as [profiles.NAME] followed by its settings",
        )
    if profile and isinstance(profiles, Mapping) and profile in profiles:
        values.update(_from_table(profiles[profile], f"{path} [profiles.{profile}]"))
    values.update(env_values)
    values.update({k: _convert(k, v, "keyword argument") for k, v in given.items()})
    if not values.get("image"):  # default: the image this notebook server runs in
        values["image"] = env.get("APPTAINER_CONTAINER") or env.get("SINGULARITY_CONTAINER")
    return Settings(**values, profiles=dict(profiles), profile_given=bool(profile))
