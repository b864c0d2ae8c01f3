"""Download job files: outputs come from the schedd into jupyter-scheduler's staging
folder, then into the workspace folder the UI links to (``jobs/<name>-<job id>/``).

Sources are the job's own staging folder (names checked by :mod:`paths`); every
target, after resolving symbolic links, lies inside the server's root directory.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from jupyter_scheduler.job_files_manager import JobFilesManager

from condor_nb_jupyter import joblist, paths, tasks

EXTRA_FILES = ("stdout.txt", "stderr.txt", "result.json", "manifest.json")
#: The staging sub-folder the job's outputs are fetched into (see tasks._stage_outputs).
FETCHED = "condor_nb"


class CondorJobFilesManager(JobFilesManager):  # type: ignore[misc]
    scheduler: Any

    async def copy_from_staging(self, job_id: str, redownload: bool | None = False) -> None:
        sched = self.scheduler
        job = await sched.get_job(job_id, False)
        staged = sched.get_staging_paths(job)  # PathRefused for a name that is not plain
        staging_dir = paths.staging_folder(sched.staging_path, job.job_id)
        fetched_dir = os.path.join(staging_dir, FETCHED)
        missing = [f for f in job.output_formats or [] if not os.path.exists(staged[f])]
        link = sched.links.job(job_id)
        if (missing or not os.path.isdir(fetched_dir)) and link is not None and link.condor_nb_id:
            try:
                await sched.worker.call(
                    tasks.stage, sched.overrides, link.condor_nb_id, sched._stage_map(job)
                )
            except tasks.TaskError as exc:
                raise joblist.unstaged(exc, staged["input"], job.input_filename) from None
        names = sched.get_job_filenames(job)
        root = sched.root_dir
        out_dir = paths.download_target(root, sched.get_local_output_path(model=job))
        os.makedirs(out_dir, exist_ok=True)
        paths.download_target(root, out_dir)  # made through no link leading out
        pairs = [(staged[f], names[f]) for f in job.output_formats or []]
        if os.path.isdir(fetched_dir):  # what `condor_nb fetch` brought, as it laid it out
            pairs += _fetched(fetched_dir, job.input_filename)
        else:  # a schedule's run: the files kept beside its notebook
            pairs += [(os.path.join(staging_dir, n), n) for n in EXTRA_FILES]
        for source, name in pairs:
            target = paths.download_target(root, os.path.join(out_dir, name))
            if not paths.inside(staging_dir, source):
                continue  # a link in the staging folder: not ours to copy
            if os.path.isfile(source) and (redownload or not os.path.exists(target)):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                paths.download_target(root, os.path.dirname(target))
                shutil.copyfile(source, target)


def _fetched(folder: str, input_filename: str) -> list[tuple[str, str]]:
    """(source, relative name) of every regular file fetched into ``folder``, except the
    executed notebook and report under fetch's names (jupyter-scheduler's output names
    carry them already)."""
    from condor_nb.contract.names import OUTPUT_NOTEBOOK, REPORT_HTML
    from condor_nb.store.outputs import friendly_names

    names = friendly_names(os.path.splitext(input_filename)[0])
    skip = {names[OUTPUT_NOTEBOOK], names[REPORT_HTML]}
    out = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
        for name in files:
            source = os.path.join(here, name)
            rel = os.path.relpath(source, folder)
            if rel not in skip and os.path.isfile(source) and not os.path.islink(source):
                out.append((source, rel))
    return sorted(out)
