"""What the user asked for, validated once: :class:`NotebookJob`.

No submission happens here; building a spec only reads the notebook (to check the
parameters against its ``parameters`` cell) and checks that input files exist.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condor_nb.contract import names
from condor_nb.contract.layout import worker_notebook_name
from condor_nb.errors import SpecError
from condor_nb.settings import Settings
from condor_nb.spec import quoting
from condor_nb.spec.notebook import inspect_notebook
from condor_nb.spec.notify import NotifyTarget, check_targets, parse_targets
from condor_nb.spec.options import JobOptions
from condor_nb.spec.params import check_parameters
from condor_nb.spec.units import parse_count, parse_size_mib, show_value

_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_MAX_NAME = 256


@dataclass(frozen=True)
class Resources:
    cpus: int
    memory_mib: int
    disk_mib: int
    gpus: int


@dataclass(frozen=True)
class NotebookJob:
    """A validated notebook job: everything needed to render and submit it."""

    notebook: Path
    parameters: Mapping[str, Any]
    resources: Resources
    name: str
    profile: str
    image: str | None = None
    files: tuple[Path, ...] = ()
    kernel: str | None = None
    cell_timeout: float | None = None
    wall_time: float | None = None
    retries: int = 0
    # (NAME, where the value comes from: "env:VAR" or "file:/path"); values are read
    # only when the job is staged, so a spec never holds a secret.
    secrets: tuple[tuple[str, str], ...] = ()
    content_hash: str = ""
    allow_no_match: bool = False  # submit even if no slot of the pool can run it
    # Who is told when the job ends (condor_nb.spec.notify); no secret value in them.
    notify: tuple[NotifyTarget, ...] = ()


def _resources(settings: Settings, cpus: Any, memory: Any, disk: Any, gpus: Any) -> Resources:

    return Resources(
        cpus=parse_count(settings.cpus if cpus is None else cpus, field="cpus", minimum=1),
        memory_mib=parse_size_mib(settings.memory if memory is None else memory, field="memory"),
        disk_mib=parse_size_mib(settings.disk if disk is None else disk, field="disk"),
        gpus=parse_count(settings.gpus if gpus is None else gpus, field="gpus", minimum=0),
    )


# Names the job's own inputs take on the worker; an extra input may not shadow them.
_RESERVED_INPUTS = (
    *names.SHIPPED_FILES,
    names.EXECUTOR_NAME,
    names.JOB_JSON,
    names.SECRETS_JSON,
    names.CRON_NAME,
    names.RUNS_ARCHIVE,
)


def _input_files(files: Iterable[str | os.PathLike[str]], notebook_name: str) -> tuple[Path, ...]:
    out: list[Path] = []
    seen: dict[str, Path] = {}
    reserved = {*_RESERVED_INPUTS, notebook_name}
    for raw in files:
        if not os.fspath(raw).strip():
            raise SpecError(
                f"an input file path is empty ({os.fspath(raw)!r})",
                hint="name the file or folder to send (`.` sends the current folder)",
            )
        path = Path(raw).expanduser().absolute()
        if not path.exists():
            raise SpecError(
                f"input file not found: {raw}",
                hint="check the path (relative paths are relative to the current directory)",
            )
        try:
            quoting.transfer_path(str(path))
        except ValueError as exc:
            raise SpecError(
                f"input file {str(path)!r} cannot be sent to the worker: {exc}",
                hint="rename it without spaces, commas or quotes, "
                "or put it in a directory and pass the directory",
            ) from None
        if path.name in reserved:
            raise SpecError(
                f"input file {str(path)!r} would replace the job's own {path.name!r} on the worker",
                hint="rename the input file, or put it in a directory and pass the directory",
            )
        if path.name in seen:
            raise SpecError(
                f"two input files share the name {path.name!r}: {seen[path.name]} and {path}",
                hint="the worker sees all inputs in one directory; rename one of them",
            )
        seen[path.name] = path
        out.append(path)
    return tuple(out)


def _job_name(name: str | None, notebook: Path) -> str:
    if name is None:
        return notebook.stem
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"job name: expected a non-empty string; got {name!r}")
    if len(name) > _MAX_NAME:
        raise SpecError(f"job name: expected at most {_MAX_NAME} characters; got {len(name)}")
    return name


def _profile(profile: str | None, settings: Settings) -> str:
    value = profile or settings.profile
    if not _PROFILE_NAME.fullmatch(value):
        raise SpecError(
            f"site profile: expected a name like 'personal' or 'ospool'; got {value!r}",
            hint="`condor_nb profiles` lists the profiles available",
        )
    return value


def _image(image: str | None, settings: Settings) -> str | None:
    value = image if image is not None else settings.image
    if not value:
        return None
    try:
        return quoting.plain_value(value, what="image")
    except ValueError as exc:
        raise SpecError(
            f"image: {exc}",
            hint="give a path such as /cvmfs/singularity.opensciencegrid.org/ORG/IMAGE:TAG",
        ) from None


def _timeout(value: float | None) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SpecError(f"cell timeout: expected a positive number of seconds; got {value!r}")
    return float(value)


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)\s*([smhd]?))", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: float | str, *, field: str) -> float:
    """Seconds from 90, "90s", "30m", "2h", "1d" or "1h30m"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpecError(f"{field}: expected a duration such as 30m or 2h; got {show_value(value)}")
    if isinstance(value, int | float):
        seconds = float(value) if abs(value) < 1e300 else (math.inf if value > 0 else -math.inf)
    else:
        text = value.strip().replace(" ", "")
        parts = _DURATION.findall(text)
        if not text or "".join(n + u for n, u in parts).lower() != text.lower():
            raise SpecError(
                f"{field}: expected a duration such as 90, 30m, 2h or 1h30m; "
                f"got {show_value(value)}",
                hint="units: s, m, h, d; a bare number is seconds",
            )
        seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise SpecError(f"{field}: expected a positive, finite duration; got {show_value(value)}")
    return seconds


# HTCondor keeps AllowedExecuteDuration in a 32-bit int and the worker's alarm()
# takes at most 2**31 - 1 s: a year is far beyond any real slot and well within both.
MAX_WALL_TIME = 366 * 86400


def _wall_time(value: float | str | None) -> float | None:
    """Whole seconds (rounded up), at most :data:`MAX_WALL_TIME`: stored exactly as given."""
    if value is None:
        return None
    seconds = parse_duration(value, field="wall time")
    if seconds > MAX_WALL_TIME:
        raise SpecError(
            f"wall time: expected at most 366 days ({MAX_WALL_TIME} s); got {show_value(value)}",
            hint="give a duration such as 2h or 7d; no slot runs a job longer than that",
        )
    # round() first: "0.1h" is 360.00000000000006 s in floating point, and means 360 s.
    return float(max(1, math.ceil(round(seconds, 6))))


def _retries(value: int | str | None) -> int:
    if value is None:
        return 0

    retries = parse_count(value, field="retries", minimum=0)
    if retries > 100:
        raise SpecError(f"retries: expected at most 100; got {retries}")
    return retries


_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def parse_secrets(
    secrets: Iterable[str] | Mapping[str, str | os.PathLike[str]] | None,
) -> tuple[tuple[str, str], ...]:
    """``["TOKEN"]`` (from $TOKEN), ``{"TOKEN": Path("tok.txt")}`` or CLI ``NAME=/path``."""
    if not secrets:
        return ()
    pairs: list[tuple[str, str]] = []
    items = secrets.items() if isinstance(secrets, Mapping) else [
        tuple(s.split("=", 1)) if "=" in s else (s, None) for s in secrets
    ]  # fmt: skip
    for name, source in items:
        if not isinstance(name, str) or not _SECRET_NAME.fullmatch(name):
            raise SpecError(
                f"secret name: expected an environment variable name such as API_TOKEN; "
                f"got {name!r}",
                hint="--secret NAME takes $NAME; --secret NAME=/path/file reads the file",
            )
        if source is None or str(source) == "":
            if name not in os.environ:
                raise SpecError(
                    f"secret {name}: the environment variable {name} is not set",
                    hint=f"export {name}=... first, or give a file: --secret {name}=/path/to/file",
                )
            pairs.append((name, f"env:{name}"))
            continue
        path = Path(source).expanduser().absolute()
        if not path.is_file() or not os.access(path, os.R_OK):
            raise SpecError(
                f"secret {name}: expected a readable file; got {str(path)!r}",
                hint="check the path and its permissions",
            )
        _secret_file_text(name, path)  # checked now; read again (and kept) only when staged
        pairs.append((name, f"file:{path}"))
    return tuple(pairs)


_MAX_SECRET_BYTES = 1024 * 1024


def _secret_file_text(name: str, path: Path) -> str:
    """A secret file's text: UTF-8, at most 1 MiB; every failure a SpecError."""
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SpecError(
            f"secret {name}: cannot read {str(path)!r}: {exc.strerror}",
            hint="check the path and its permissions",
        ) from None
    if len(data) > _MAX_SECRET_BYTES:
        raise SpecError(
            f"secret {name}: expected a file of at most 1 MiB; {str(path)!r} is larger",
            hint="a secret is a token or a password; send data files with --file",
        )
    try:
        return data.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"secret {name}: expected UTF-8 text in {str(path)!r}; "
            f"got an invalid byte at offset {exc.start}",
            hint="the secret becomes an environment variable (text): save it as UTF-8, "
            "or base64-encode binary data and decode it in the notebook",
        ) from None


def read_secret(source: str) -> str:
    """The value behind a source of :func:`parse_secrets` (at staging time only)."""
    kind, _, where = source.partition(":")
    if kind == "env":
        if where not in os.environ:
            raise SpecError(f"secret: the environment variable {where} is no longer set")
        return os.environ[where]
    return _secret_file_text(Path(where).name, Path(where))


def notebook_job(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    settings: Settings,
    options: JobOptions | None = None,
    **kwargs: Any,
) -> NotebookJob:
    """Validate everything the user gave and return a :class:`NotebookJob`.

    The job's options come as ``options`` (a :class:`~condor_nb.spec.options.JobOptions`)
    or as keyword arguments (those of :func:`condor_nb.submit`), not both.
    """
    if options is None:
        options = JobOptions.from_kwargs(kwargs)
    elif kwargs:
        raise TypeError("notebook_job: give the options as options=JobOptions(...) or as "
                        f"keyword arguments, not both (got {', '.join(kwargs)})")  # fmt: skip
    return build(notebook, parameters, options, settings)


def build(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None,
    options: JobOptions,
    settings: Settings,
) -> NotebookJob:
    """:class:`JobOptions` (what the user gave) -> :class:`NotebookJob` (validated)."""

    o = options
    path = Path(notebook).expanduser().absolute()
    info = inspect_notebook(path)
    checked = check_parameters(info, parameters or {}, allow_unknown=o.allow_unknown_params)
    if o.kernel is not None:
        try:
            quoting.plain_value(o.kernel, what="kernel name")
        except ValueError as exc:
            raise SpecError(f"kernel: {exc}") from None
    secrets = parse_secrets(o.secrets)
    notify = parse_targets(
        o.notify, settings.notify, slack_api_url=settings.slack_api_url,
        jupyter_url=settings.jupyter_url,
    )  # fmt: skip
    check_targets(notify, [name for name, _ in secrets], checked)
    return NotebookJob(
        notebook=path,
        parameters=checked,
        resources=_resources(settings, o.cpus, o.memory, o.disk, o.gpus),
        name=_job_name(o.name, path),
        profile=_profile(o.profile, settings),
        image=_image(o.image, settings),
        files=_input_files(o.files, worker_notebook_name(path)),
        kernel=o.kernel,
        cell_timeout=_timeout(o.cell_timeout),
        wall_time=_wall_time(o.wall_time),
        retries=_retries(o.retries),
        secrets=secrets,
        content_hash=info.content_hash,
        allow_no_match=bool(o.allow_no_match),
        notify=notify,
    )


def secrets_as_given(secrets: Iterable[tuple[str, str]]) -> list[str]:
    """A job's parsed secrets as :func:`parse_secrets` takes them again (``NAME`` for
    $NAME, ``NAME=/path`` for a file): where the values come from, never a value."""
    out = []
    for name, source in secrets:
        kind, _, where = source.partition(":")
        out.append(name if kind == "env" else f"{name}={where}")
    return out
