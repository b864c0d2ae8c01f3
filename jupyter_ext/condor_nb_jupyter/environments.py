"""Runtime environments offered by the "Create Notebook Job" form: condor_nb's site
profiles that can run a notebook (not a layer such as ``dask-worker``), each alone and
with every configured image (``profile@image``)."""

from __future__ import annotations

from typing import Any

from jupyter_scheduler.environments import EnvironmentManager
from jupyter_scheduler.models import RuntimeEnvironment

from condor_nb_jupyter.errors import BadRequest

#: Set when the server extension loads (the scheduler app builds this class with no arguments).
CURRENT: dict[str, Any] = {"config": None}
OUTPUT_FORMATS = {"ipynb": "Notebook", "html": "HTML"}


def _config() -> Any:
    from condor_nb_jupyter.config import CondorNbJupyter

    return CURRENT["config"] or CondorNbJupyter()


def environment_names() -> list[tuple[str, str, str | None]]:
    """(name, profile, image) for every offered environment, the default first."""
    from condor_nb.settings import load_settings
    from condor_nb.submission import templates
    from condor_nb_jupyter.form import runs_notebooks

    cfg = _config()
    default = load_settings(**cfg.overrides()).profile
    usable = [p for p in templates.available() if runs_notebooks(p)]
    profiles = sorted(usable, key=lambda p: (p != default, p))
    images = [i for i in dict.fromkeys([cfg.image, *cfg.images]) if i]
    out: list[tuple[str, str, str | None]] = []
    for profile in profiles:
        out.append((profile, profile, None))
        out.extend((f"{profile}@{image}", profile, image) for image in images)
    return out


def resolve(name: str) -> tuple[str, str | None]:
    """(profile, image) of an environment name; BadRequest names the choices."""
    for env_name, profile, image in environment_names():
        if env_name == name:
            return profile, image
    choices = ", ".join(n for n, _, _ in environment_names())
    raise BadRequest(
        f"runtime environment: expected one of {choices}; got {name!r}",
        hint="pick an environment offered by GET /scheduler/runtime_environments",
    )


class CondorEnvironmentManager(EnvironmentManager):  # type: ignore[misc]
    def list_environments(self) -> list[RuntimeEnvironment]:
        envs = []
        for name, profile, image in environment_names():
            where = f" in {image}" if image else ""
            envs.append(
                RuntimeEnvironment(
                    name=name,
                    label=name,
                    description=f"HTCondor, site profile {profile!r}{where}",
                    file_extensions=["ipynb"],
                    output_formats=list(OUTPUT_FORMATS),
                    metadata={"profile": profile, "image": image or ""},
                    compute_types=None,
                    default_compute_type=None,
                    utc_only=True,
                )
            )
        return envs

    def manage_environments_command(self) -> str:
        return ""

    def output_formats_mapping(self) -> dict[str, str]:
        return dict(OUTPUT_FORMATS)
