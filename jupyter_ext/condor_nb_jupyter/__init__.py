"""condor_nb's Jupyter server extension.

- a REST API under ``/condor_nb/`` (pool and credential status, profiles, jobs, schedules);
- a jupyter-scheduler backend (:mod:`condor_nb_jupyter.scheduler`): "Create Notebook
  Job" submits to HTCondor, job definitions are schedules on the schedd;
- terminals that reach the pool: the client configuration is put in the server's
  environment at load, and every JupyterLab terminal inherits it.

HTCondor calls run in worker processes (:mod:`condor_nb_jupyter.worker`), never on the
server's event loop. Enabled on install by ``jupyter-config/.../condor_nb_jupyter.json``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "condor_nb_jupyter"}]


#: jupyter-scheduler's classes this extension selects, unless the user chose others
#: (or set ``c.CondorNbJupyter.scheduler_backend = False``).
SCHEDULER_CLASSES = {
    "scheduler_class": "condor_nb_jupyter.scheduler.CondorScheduler",
    "environment_manager_class": "condor_nb_jupyter.environments.CondorEnvironmentManager",
    "job_files_manager_class": "condor_nb_jupyter.files.CondorJobFilesManager",
}


def _link_jupyter_server_extension(serverapp: Any) -> None:
    """Runs before jupyter_scheduler and jupyter_server_terminals (alphabetical order)."""
    from jupyter_core.paths import jupyter_runtime_dir

    from condor_nb_jupyter.config import CondorNbJupyter, terminal_shell_command

    shell = terminal_shell_command(getattr(serverapp, "runtime_dir", "") or jupyter_runtime_dir())
    if shell is not None and "shell_command" not in serverapp.terminado_settings:
        serverapp.terminado_settings = {**serverapp.terminado_settings, "shell_command": shell}
    # Read through the traitlet: a command-line value arrives as text ("False", truthy).
    if not CondorNbJupyter(config=serverapp.config).scheduler_backend:
        return
    chosen = serverapp.config.SchedulerApp
    for key, value in SCHEDULER_CLASSES.items():
        if key not in chosen:
            chosen[key] = value


def _load_jupyter_server_extension(serverapp: Any) -> None:
    import os

    from condor_nb_jupyter import environments, guard, handlers
    from condor_nb_jupyter.config import CondorNbJupyter, terminal_environment
    from condor_nb_jupyter.worker import shared_worker

    config = CondorNbJupyter(parent=serverapp)
    environments.CURRENT["config"] = config
    # Terminals (and the worker processes, spawned later) inherit the server's environment.
    os.environ.update(terminal_environment(config))
    worker = shared_worker(config.worker_processes)
    web_app = serverapp.web_app
    web_app.settings.update(condor_nb_config=config, condor_nb_worker=worker)
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", handlers.handlers(base_url))
    # Ahead of jupyter-scheduler's own routes: the same URLs, answering 4xx for bad input.
    web_app.add_handlers(".*$", guard.scheduler_routes(base_url))
    router = web_app.default_router
    router.rules.insert(0, router.rules.pop(-2))  # the rule just added (before the catch-all)
    serverapp.io_loop.call_later(0, lambda: serverapp.io_loop.add_callback(worker.warm))
    serverapp.log.info(
        "condor_nb_jupyter: loaded (profile %s, %d worker processes)",
        config.profile or "default",
        worker.processes,
    )


async def _unload_jupyter_server_extension(serverapp: Any) -> None:
    from condor_nb_jupyter.worker import shared_worker

    shared_worker().shutdown()
