"""Site profiles: HTCondor submit templates an admin can read.

A profile is a plain submit description fragment (``NAME.sub``). condor_nb adds
the job's own commands to it; the commands it owns (:data:`RESERVED`) may not be
set by a profile. Profiles are looked up, first match wins, in:
``$CONDOR_NB_PROFILES_PATH`` (colon-separated), the user's
``~/.config/condor_nb/profiles``, ``/etc/condor_nb/profiles``, then the packaged ones.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import condor_nb.submit_templates as pkg
from condor_nb.errors import ConfigError

log = logging.getLogger(__name__)

RESERVED = frozenset(
    {
        "executable",
        "arguments",
        "transfer_executable",
        "transfer_input_files",
        "transfer_output_files",
        "transfer_output_remaps",
        "initialdir",
        "output",
        "error",
        "log",
        "should_transfer_files",
        "when_to_transfer_output",
        "stream_output",
        "stream_error",
        "queue",
    }
)
RESERVED_PREFIXES = ("+condornb", "my.condornb")


@dataclass(frozen=True)
class Template:
    """A parsed profile: ordered submit commands plus where they came from."""

    name: str
    path: Path
    commands: tuple[tuple[str, str], ...]
    description: str


def _packaged_dir() -> Path:

    return Path(next(iter(pkg.__path__)))


def search_path() -> list[tuple[str, Path]]:
    """(origin, directory) pairs in lookup order."""
    dirs: list[tuple[str, Path]] = []
    for item in filter(None, os.environ.get("CONDOR_NB_PROFILES_PATH", "").split(":")):
        dirs.append(("CONDOR_NB_PROFILES_PATH", Path(item)))
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(("user", Path(config_home) / "condor_nb" / "profiles"))
    dirs.append(("site", Path("/etc/condor_nb/profiles")))
    dirs.append(("packaged", _packaged_dir()))
    return dirs


def available() -> dict[str, tuple[str, Path]]:
    """Profile name -> (origin, file), first match in the search path wins."""
    found: dict[str, tuple[str, Path]] = {}
    for origin, directory in search_path():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.sub")):
            found.setdefault(path.stem, (origin, path))
    return found


def load(name: str) -> Template:
    for origin, directory in search_path():
        path = directory / f"{name}.sub"
        if path.is_file():
            log.debug("site profile %s: %s (%s)", name, path, origin)
            return parse(path.read_text(encoding="utf-8"), path=path, name=name)
    names = ", ".join(sorted(available())) or "(none)"
    raise ConfigError(
        f"unknown site profile {name!r}",
        hint=f"available profiles: {names}; "
        f"add your own as ~/.config/condor_nb/profiles/{name}.sub",
    )


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; keep the first physical line number."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        out.append((start, " ".join(part.strip() for part in pending).strip()))
        pending = []
    if pending:
        out.append((start, " ".join(part.strip() for part in pending).strip()))
    return out


def _description(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and len(stripped) > 1:
            return stripped.lstrip("#").strip()
        if stripped:
            break
    return ""


def parse(text: str, *, path: Path, name: str) -> Template:
    """Parse a submit template; errors name the file and line."""
    commands: list[tuple[str, str]] = []
    for number, line in _logical_lines(text):
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if "=" not in line:
            raise ConfigError(
                f"{where}: expected 'command = value'; got {line!r}",
                hint="a profile holds submit commands only (no queue, include or if lines)",
            )
        key, value = (part.strip() for part in line.split("=", 1))
        lowered = key.lower()
        if not key or " " in key:
            raise ConfigError(f"{where}: expected a submit command name before '='; got {key!r}")
        if lowered in RESERVED or lowered.startswith(RESERVED_PREFIXES):
            raise ConfigError(
                f"{where}: '{key}' is set by condor_nb itself and may not appear in a profile",
                hint="remove the line; condor_nb manages transfers, the executable "
                "and its own attributes",
            )
        commands.append((key, value))
    return Template(name=name, path=path, commands=tuple(commands), description=_description(text))
