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

from condor_nb_jupyter import paths, tasks

EXTRA_FILES = ("stdout.txt", "stderr.txt", "result.json", "manifest.json")


class CondorJobFilesManager(JobFilesManager):  # type: ignore[misc]
    scheduler: Any

    async def copy_from_staging(self, job_id: str, redownload: bool | None = False) -> None:
        sched = self.scheduler
        job = await sched.get_job(job_id, False)
        staged = sched.get_staging_paths(job)  # PathRefused for a name that is not plain
        missing = [f for f in job.output_formats or [] if not os.path.exists(staged[f])]
        link = sched.links.job(job_id)
        if missing and link is not None and link.condor_nb_id:
            await sched.worker.call(
                tasks.stage, sched.overrides, link.condor_nb_id, sched._stage_map(job)
            )
        names = sched.get_job_filenames(job)
        root = sched.root_dir
        out_dir = paths.download_target(root, sched.get_local_output_path(model=job))
        os.makedirs(out_dir, exist_ok=True)
        paths.download_target(root, out_dir)  # made through no link leading out
        staging_dir = paths.staging_folder(sched.staging_path, job.job_id)
        pairs = [(staged[f], names[f]) for f in [*(job.output_formats or []), "input"]]
        pairs += [(os.path.join(staging_dir, n), n) for n in EXTRA_FILES]
        for source, name in pairs:
            target = paths.download_target(root, os.path.join(out_dir, name))
            if not paths.inside(staging_dir, source):
                continue  # a link in the staging folder: not ours to copy
            if os.path.isfile(source) and (redownload or not os.path.exists(target)):
                shutil.copyfile(source, target)
