"""The Create Job form: its fields, the notebook's parameters, and checking what was typed.

Pure functions over :mod:`condor_nb.spec` (no HTCondor call, nothing staged), run in the
worker process by the ``/condor_nb/form`` handlers. Values arrive as the text typed in
the form and are turned into what the CLI passes to :func:`condor_nb.spec.job.build`
(``-p`` values typed by :func:`~condor_nb.spec.params.coerce_cli_value`, options as
:class:`~condor_nb.spec.options.JobOptions`), so every message is the CLI's own: what
was expected, what was given, the hint. Paths are relative to the server's root
directory and confined to it; messages name them that way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from condor_nb.errors import CondorNbError, SpecError
from condor_nb.spec import options as spec_options
from condor_nb.spec.notebook import DeclaredParameter, inspect_notebook
from condor_nb_jupyter.tasks import _settings, task

#: (key, label, kind) of the form's fields, in order; the help is the option's own doc.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("cpus", "CPUs", "int"),
    ("memory", "Memory", "size"),
    ("disk", "Disk", "size"),
    ("gpus", "GPUs", "int"),
    ("image", "Image", "text"),
    ("files", "Input files", "list"),
    ("wall_time", "Wall time", "duration"),
    ("retries", "Retries", "int"),
    ("cell_timeout", "Cell timeout (s)", "number"),
    ("secrets", "Secrets", "list"),
)
OPTION_KEYS = tuple(key for key, _, _ in FIELDS)
#: Switches a runtime environment parameter may turn on ("true"/"false").
FLAG_KEYS = ("allow_no_match",)
_TRUE = ("1", "true", "yes", "on")
_LIST_SPLIT = re.compile(r"[\n,]")
FILES_HINT = (
    "give paths relative to the server's root directory, as the file browser shows them"
    " (e.g. data/input.csv), one per line or comma-separated"
)


class FieldError(SpecError):
    """A form field's value is refused; ``key`` is the field (or ``param:<name>``)."""

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


# --- the container the server runs in -----------------------------------------------

#: Read in this order; the first set one is the server's image.
IMAGE_VARIABLES = (
    "APPTAINER_CONTAINER",  # set by Apptainer inside a container: the image's path
    "SINGULARITY_CONTAINER",  # the same, by Singularity (and older Apptainer)
    "JUPYTER_IMAGE_SPEC",  # set by JupyterHub's KubeSpawner/DockerSpawner: the image
    "JUPYTER_IMAGE",  # the same, older JupyterHub spawners
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def default_image(environ: Mapping[str, str] | None = None) -> str | None:
    """The image the Jupyter server runs in, as HTCondor's container_image takes it
    (a JupyterHub Docker image reference gets ``docker://``); None outside a container."""
    env = os.environ if environ is None else environ
    for name in IMAGE_VARIABLES:
        value = env.get(name, "").strip()
        if not value:
            continue
        if name.startswith("JUPYTER_") and not (value.startswith("/") or _SCHEME.match(value)):
            return f"docker://{value}"
        return value
    return None


# --- profiles -----------------------------------------------------------------------


def runs_notebooks(profile: str) -> bool:
    """False for a layer that is not a notebook environment (``MY.IsDaskWorker = true``:
    defaults for Dask worker jobs, put on top of a site profile)."""
    from condor_nb.submission import templates

    try:
        template = templates.load(profile)
    except CondorNbError:
        return False
    for key, value in template.commands:
        if key.lower() in ("my.isdaskworker", "+isdaskworker"):
            return value.strip().lower() == "false"
    return True


def image_problem(profile: str, image: str | None) -> SpecError | None:
    """The error submitting with this profile and image gives (preflight's own check of a
    container profile given no image), or None."""
    from condor_nb.contract.names import PROFILE_ATTR
    from condor_nb.submission import preflight, templates

    template = templates.load(profile)
    description = {k: v for k, v in template.commands}
    description["CONDOR_NB_IMAGE"] = image or ""
    description[f"MY.{PROFILE_ATTR}"] = f'"{profile}"'
    if image and not any("CONDOR_NB_IMAGE" in v for v in description.values()):
        description["container_image"] = image
    try:
        preflight.image_given(description)
        preflight.check_image(image)
    except SpecError as exc:
        return exc
    return None


def needs_image(profile: str) -> bool:
    """Does this profile refuse a job given no image?"""
    try:
        return image_problem(profile, None) is not None
    except CondorNbError:
        return False


# --- the form's fields --------------------------------------------------------------


def fields(settings: Any) -> list[dict[str, Any]]:
    """The form's fields, in order, with the options' docs as help."""
    placeholders = {
        "cpus": str(settings.cpus),
        "memory": str(settings.memory),
        "disk": str(settings.disk),
        "gpus": str(settings.gpus),
        "image": settings.image or "/cvmfs/singularity.opensciencegrid.org/ORG/IMAGE:TAG",
        "files": "data/input.csv",
        "wall_time": "2h",
        "retries": "0",
        "cell_timeout": "600",
        "secrets": "API_TOKEN",
    }
    return [
        {
            "key": key,
            "label": label,
            "kind": kind,
            "help": spec_options.info(key).doc,
            "placeholder": placeholders[key],
        }
        for key, label, kind in FIELDS
    ]


def parameters(
    info_parameters: Mapping[str, DeclaredParameter], source: str
) -> list[dict[str, Any]]:
    """The declared parameters, each with its type, default (JSON), its source text and
    the trailing comment of its line (``alpha = 0.5  # learning rate`` -> learning rate)."""
    import ast

    comments = _trailing_comments(source)
    out = []
    for p in info_parameters.values():
        try:
            value: Any = ast.literal_eval(p.default_source)
            if not _is_json(value):
                value = None
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = None
        out.append(
            {
                "name": p.name,
                "type": p.type,
                "nullable": p.nullable,
                "default": value,
                "default_text": p.default_source,
                "help": comments.get(p.name, ""),
            }
        )
    return out


def _is_json(value: Any) -> bool:
    import json
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return False
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _trailing_comments(source: str) -> dict[str, str]:
    """name -> the comment at the end of its (top-level) assignment line."""
    import io
    import tokenize

    lines = source.splitlines()
    found: dict[str, str] = {}
    try:  # tokens: a '#' inside a string literal is not a comment
        comments = {
            tok.start[0]: tok.string.lstrip("#").strip()
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT
        }
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for number, text in comments.items():
        line = lines[number - 1] if number - 1 < len(lines) else ""
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=", line)
        if match and text:
            found.setdefault(match.group(1), text)
    return found


def _parameters_cell_source(path: Path, index: int | None) -> str:
    from condor_nb.spec.notebook import read_notebook

    if index is None:
        return ""
    cell = read_notebook(path)["cells"][index]
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


# --- paths --------------------------------------------------------------------------


def notebook_path(root_dir: str, notebook: object) -> Path:
    """The real path of the form's notebook (relative to root_dir, confined to it)."""
    from condor_nb_jupyter import paths
    from condor_nb_jupyter.errors import BadRequest

    try:
        return Path(paths.resolve_input(root_dir, notebook, field="notebook"))
    except BadRequest as exc:
        raise FieldError("notebook", exc.message, exc.hint) from None


def input_files(root_dir: str, raw: str | list[str], key: str = "files") -> list[str]:
    """The form's files (one per line or comma-separated, relative to root_dir) as real
    paths inside root_dir; a path leading out of it is refused."""
    from condor_nb_jupyter import paths

    items = raw if isinstance(raw, list) else split_list(raw)
    root = os.path.realpath(root_dir)
    out = []
    for item in items:
        candidate = os.path.normpath(os.path.join(root, item))
        if not paths.inside(root, candidate):
            raise FieldError(
                key,
                f"{key}: expected a file or folder inside the server's root directory;"
                f" got {item!r:.300}, which resolves to {os.path.realpath(candidate)!r:.300}",
                hint=FILES_HINT,
            )
        out.append(candidate)
    return out


def split_list(raw: object) -> list[str]:
    """One item per line or comma-separated; blanks dropped (a list is taken as it is)."""
    if isinstance(raw, list | tuple):
        return [str(item).strip() for item in raw if str(item).strip()]
    return [item.strip() for item in _LIST_SPLIT.split(str(raw)) if item.strip()]


def user_paths(text: str, root_dir: str, named: Mapping[str, str] = {}) -> str:
    """``text`` with real paths replaced by the names the user gave: ``named`` maps a path
    to its name (a staged copy -> the user's notebook); the root directory is dropped."""
    for real, shown in sorted(named.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(real, shown)
    root = os.path.realpath(root_dir)
    for prefix in {root, os.path.abspath(root_dir)}:
        text = text.replace(prefix + os.sep, "")
    return text


@contextmanager
def naming_user_paths(root_dir: str, named: Mapping[str, str]) -> Iterator[None]:
    """Errors raised inside name the user's paths (``named``: a staged copy -> the user's
    notebook), relative to root_dir, instead of the server's; the hint is kept and also
    ends the message (jupyter-scheduler's UI shows only the message)."""
    from condor_nb_jupyter.errors import BadRequest
    from condor_nb_jupyter.tasks import TaskError

    try:
        yield
    except (TaskError, BadRequest) as exc:
        message = user_paths(exc.message, root_dir, named)
        hint = user_paths(exc.hint, root_dir, named) if exc.hint else None
        if hint and hint not in message:
            message = f"{message} (hint: {hint})"
        if isinstance(exc, TaskError):
            raise TaskError(exc.kind, message, hint, exc.status) from None
        raise BadRequest(message, hint=hint, status=exc.status) from None


def shown_path(root_dir: str, uri: str) -> str:
    """How the user names a notebook: its path relative to root_dir."""
    real = os.path.realpath(os.path.join(root_dir, uri))
    return os.path.relpath(real, os.path.realpath(root_dir))


def given_parameters(raw: Mapping[str, object] | None) -> dict[str, object]:
    """The parameters a form gave: an empty value means "the notebook's default", as in
    the form's check (a str parameter cannot be set to "" from a form)."""
    return {name: value for name, value in (raw or {}).items() if value != ""}


# --- options: form text -> what the CLI gives JobOptions ------------------------------


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in _TRUE


def job_options(
    raw: Mapping[str, object], root_dir: str, *, kind: spec_options.Kind = "job"
) -> dict[str, Any]:
    """The form's option strings as :class:`JobOptions` keyword arguments (not validated
    yet: that is :func:`condor_nb.spec.job.build`'s job); empty means "the default".
    An unknown key is a FieldError naming the choices; an option ``kind`` does not take
    (a schedule's ``retries``), given a value, one saying why."""
    out: dict[str, Any] = {}
    allowed = [k for k in OPTION_KEYS + FLAG_KEYS if k in spec_options.names_for(kind)]
    for key, value in raw.items():
        why = spec_options.NOT_TAKEN.get((kind, key))
        if why and not str("" if value is None else value).strip():
            continue  # empty: not given
        if why:  # an option, but not one of this kind's (a schedule's retries)
            raise FieldError(
                key,
                f"{key} is not an option of a {kind}: {why}",
                hint=f"leave {key} empty for a {kind}; a job (Run now) takes it",
            )
        if key not in allowed:
            raise FieldError(
                key,
                f"runtime environment parameter: expected one of {', '.join(allowed)}; got {key!r}",
                hint="give options such as memory=4GB or cpus=2",
            )
        if key in FLAG_KEYS:
            out[key] = _truthy(value)
            continue
        if key in ("files", "secrets"):
            items = split_list(value)
            if items:
                out[key] = input_files(root_dir, items) if key == "files" else items
            continue
        text = "" if value is None else str(value).strip()
        if not text:
            continue
        if key == "cell_timeout":  # the CLI's click parses a float; a word stays as given
            try:
                out[key] = float(text)
            except ValueError:
                out[key] = text
            continue
        out[key] = text
    return out


# --- checking the whole form -----------------------------------------------------------


def _message(exc: CondorNbError, root_dir: str, named: Mapping[str, str]) -> str:
    text = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    return user_paths(text, root_dir, named)


def _secret_files(secrets: list[str], root_dir: str) -> list[str]:
    """``NAME=FILE`` with FILE relative to root_dir (and inside it)."""
    out = []
    for item in secrets:
        name, sep, source = item.partition("=")
        if sep and source.strip():
            (path,) = input_files(root_dir, [source.strip()], key="secrets")
            out.append(f"{name}={path}")
        else:
            out.append(item)
    return out


def check(
    settings: Any,
    root_dir: str,
    notebook: object,
    profile: str,
    env_image: str | None,
    raw_options: Mapping[str, object],
    raw_parameters: Mapping[str, object],
    kind: spec_options.Kind = "job",
) -> dict[str, Any]:
    """{"errors": {key: message}, "parameters": {name: typed value}} for the form's
    values, validated as ``condor_nb submit -p NAME VALUE --OPTION VALUE`` would be
    (:func:`condor_nb.spec.job.build`), with no submission and nothing staged. ``kind``
    "schedule" (a job definition) refuses the options a schedule does not take
    (``retries``) on their field, with the message creating the definition gives."""
    from condor_nb.spec.job import build
    from condor_nb.spec.options import JobOptions
    from condor_nb.spec.params import check_parameters, coerce_cli_value

    errors: dict[str, str] = {}
    typed: dict[str, Any] = {}
    try:
        path = notebook_path(root_dir, notebook)
        info = inspect_notebook(path)
    except CondorNbError as exc:
        key = exc.key if isinstance(exc, FieldError) else "notebook"
        return {"errors": {key: _message(exc, root_dir, {})}, "parameters": {}}
    named = {str(path): str(notebook)}

    def fail(key: str, exc: CondorNbError) -> None:
        errors.setdefault(key, _message(exc, root_dir, named))

    # Parameters: each -p value typed as the CLI types it, then checked against the cell.
    for name, value in raw_parameters.items():
        text = "" if value is None else str(value)
        if text == "":
            continue  # the notebook's default
        try:
            value_typed = coerce_cli_value(text, info.parameters.get(name))
            typed.update(check_parameters(info, {name: value_typed}))
        except CondorNbError as exc:
            fail(f"param:{name}", exc)

    # Options: each one alone through build(), so that each error lands on its field.
    given: dict[str, Any] = {}
    for key, value in raw_options.items():
        try:
            one = job_options({key: value}, root_dir, kind=kind)
            if "secrets" in one:
                one["secrets"] = _secret_files(one["secrets"], root_dir)
        except CondorNbError as exc:
            fail(exc.key if isinstance(exc, FieldError) else key, exc)
            continue
        given.update(one)
    for key, value in given.items():
        if key == "image":
            continue
        try:
            build(path, None, JobOptions(profile=profile, **{key: value}), settings)
        except CondorNbError as exc:
            fail(key, exc)
    image = given.get("image") or env_image
    base: dict[str, Any] = {"profile": profile, "image": image} if image else {"profile": profile}
    try:
        spec = build(path, None, JobOptions(**base), settings)
        problem = image_problem(spec.profile, spec.image)
        if problem is not None:
            raise problem
    except CondorNbError as exc:
        fail("image", exc)
    if not errors:  # all together, as submit would (a rule spanning two options)
        try:
            build(path, typed, JobOptions(**{**base, **given}), settings)
        except CondorNbError as exc:
            fail("form", exc)
    return {"errors": errors, "parameters": typed}


def describe(
    settings: Any, root_dir: str, notebook: object, environments: list[dict[str, Any]]
) -> dict[str, Any]:
    """The answer of ``GET /condor_nb/form``."""
    out: dict[str, Any] = {
        "environments": environments,
        "default_image": default_image(),
        "options": fields(settings),
        "parameters": [],
        "parameters_error": None,
    }
    if notebook in (None, ""):
        return out
    try:
        path = notebook_path(root_dir, notebook)
        info = inspect_notebook(path)
        source = _parameters_cell_source(path, info.parameters_cell_index)
        out["parameters"] = parameters(info.parameters, source)
    except CondorNbError as exc:
        out["parameters_error"] = _message(exc, root_dir, {})
    return out


# --- in the worker process ----------------------------------------------------------


@task
def form_task(
    overrides: Mapping[str, Any],
    root_dir: str,
    notebook: object,
    environments: list[tuple[str, str, str | None]],
) -> dict[str, Any]:
    """:func:`describe`, with ``needs_image`` for each offered environment."""
    settings = _settings(overrides)
    needs = {profile: needs_image(profile) for _, profile, _ in environments}
    envs = [
        {
            "name": name,
            "profile": profile,
            "image": image or "",
            "needs_image": needs[profile] and not image,
        }
        for name, profile, image in environments
    ]
    return describe(settings, root_dir, notebook, envs)


@task
def check_task(
    overrides: Mapping[str, Any],
    root_dir: str,
    notebook: object,
    profile: str,
    env_image: str | None,
    raw_options: Mapping[str, object],
    raw_parameters: Mapping[str, object],
    kind: spec_options.Kind = "job",
) -> dict[str, Any]:
    return check(
        _settings(overrides), root_dir, notebook, profile, env_image, raw_options,
        raw_parameters, kind,
    )  # fmt: skip
