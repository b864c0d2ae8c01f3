"""`condor_nb doctor`: is everything in place to run notebook jobs?

Each check says what it found; a failed one says what is wrong and the command that
fixes it. The subset that runs at every submission (fast, no daemon contacted: the
credential, the image path, no secret in the description, the submit side's
environment manifest) is :mod:`condor_nb.submission.preflight`; the credential and
image checks here are reported with the very same functions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from condor_nb.condor import bindings, condor_config, credential_in_use, schedd
from condor_nb.contract.names import PROBE_ATTR
from condor_nb.credentials import policy as credentials_policy
from condor_nb.errors import CondorNbError
from condor_nb.settings import Settings, config_file_path
from condor_nb.submission import preflight, templates

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN, FAIL, SKIP
    detail: str
    fix: str = ""


def _configuration(settings: Settings) -> Check:

    where = f"profile {settings.profile!r}, settings file {config_file_path()}"
    try:
        choice = condor_config.choose(settings, set_by_us=bindings._set_by_us)
    except CondorNbError as exc:
        return Check("configuration", FAIL, f"{where}; {exc.message}", exc.hint or "")
    if not os.path.isfile(choice.path):
        return Check(
            "configuration", FAIL,
            f"{where}; HTCondor configuration {choice.path} ({choice.why}) does not exist",
            "condor_nb pool start   (personal pool), or point CONDOR_CONFIG (or the "
            "condor_config setting) at your access point's existing condor_config",
        )  # fmt: skip
    return Check("configuration", OK, f"{where}; HTCondor configuration: {choice.describe()}")


def _schedd(settings: Settings) -> Check:

    try:
        client = schedd.client_for(settings)
        client.summary(f'Owner == "{settings.owner or "?"}" && false')
    except CondorNbError as exc:
        return Check(
            "schedd", FAIL, exc.message,
            "condor_nb pool start   (personal pool); otherwise check COLLECTOR_HOST in your "
            "client configuration and that ports 9618 (and the schedd's) are open",
        )  # fmt: skip
    return Check("schedd", OK, f"reached {client.name}")


def _authentication(settings: Settings) -> list[Check]:

    report = credential_in_use.discover(settings)
    verdict = credentials_policy.assess(report, wall_time=None)
    cred = report.selected
    methods = ", ".join(report.methods)
    checks: list[Check] = []
    if cred is None:
        status = FAIL if verdict.errors else WARN
        detail = (
            verdict.errors[0]
            if verdict.errors
            else (f"no token found; the client will try {methods}")
        )
        checks.append(Check("authentication", status, detail, verdict.fix))
    else:
        checks.append(Check(
            "authentication", OK,
            f"{credentials_policy.describe(cred)} as {cred.identity} (methods: {methods})",
        ))  # fmt: skip
        left = cred.seconds_left()
        life = (
            "no expiry"
            if left is None
            else (
                f"expires in {credentials_policy.format_duration(left)}"
                if left > 0
                else f"expired {credentials_policy.format_duration(left)} ago"
            )
        )
        scopes = " ".join(cred.scopes) or "none (unrestricted)"
        status = FAIL if verdict.errors else (WARN if left is not None and left < 3600 else OK)
        detail = f"{life}; scopes: {scopes}"
        if verdict.errors:
            detail += "; " + "; ".join(verdict.errors)
        checks.append(Check("token", status, detail, verdict.fix if status != OK else ""))
    checks.extend(Check("credential note", WARN, note, "") for note in report.notes)
    return checks


def _profile(settings: Settings) -> Check:

    try:
        template = templates.load(settings.profile)
    except CondorNbError as exc:
        return Check("profile", FAIL, exc.message, "condor_nb profiles   (lists them)")
    return Check("profile", OK, f"{template.name}: {template.path}")


def _image(settings: Settings) -> Check:
    image = settings.image
    if not image:
        return Check("image", OK, "none: jobs run in the worker's own environment")
    problem = preflight.image_problem(image)
    if problem:
        return Check("image", FAIL, problem, "condor_nb submit ... --image /cvmfs/...   "
                     "(or set image in ~/.config/condor_nb/config.toml)")  # fmt: skip
    return Check("image", OK, image)


def _probe_folder(settings: Settings) -> str:
    """Where the probe job runs from: with a shared filesystem, inside condor_nb's home,
    so that the probe also shows whether the access point sees it (no spooling)."""
    import tempfile

    if not settings.shared_filesystem:
        return tempfile.mkdtemp(prefix="condor_nb_probe_")
    probes = settings.home / "probes"
    probes.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix="probe_", dir=probes)


PROBE = "worker probe"
PROBE_CODE = "import ipykernel, jupyter_client"


def _probe(settings: Settings, timeout: float) -> Check:
    """A tiny job: can the worker's Python (in the image) import ipykernel? (condor_nb ships
    papermill with every job; a kernel needs ipykernel and jupyter_client on the worker.)"""
    from condor_nb.condor.status import (
        COMPLETED,
        FAILURE_CLASSES,
        HELD,
        HOLD_CODE_SPOOLING_INPUT,
        NOT_SHARED_HOLD_CODES,
    )

    fix = (
        "use an image with ipykernel (--image /cvmfs/..., any image a Jupyter server runs in), "
        "or point worker_python at a Python that has it (CONDOR_NB_WORKER_PYTHON)"
    )
    description = dict(templates.load(settings.profile).commands)
    description.update(
        executable="/usr/bin/env",
        transfer_executable="false",
        arguments=f"\"{settings.worker_python} -c '{PROBE_CODE}'\"",  # new syntax
        should_transfer_files="YES",
        initialdir=_probe_folder(settings),
        request_cpus="1",
        request_memory="256",
        request_disk="102400",
    )
    description[f"MY.{PROBE_ATTR}"] = "true"
    if settings.image:
        description["CONDOR_NB_IMAGE"] = settings.image
        if "CONDOR_NB_IMAGE" not in "".join(description.values()):
            description["container_image"] = settings.image
    client = schedd.client_for(settings)
    cluster, _ = client.submit(description, spool=not settings.shared_filesystem)
    ad: Mapping[str, object] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            projection = ["JobStatus", "ExitCode", "HoldReason", "HoldReasonCode"]
            ads = client.query(f"ClusterId == {cluster}", projection)
            if not ads:  # not spooled: a finished job leaves the queue at once
                ads = client.history(f"ClusterId == {cluster}", projection, match=1)
            ad = ads[0] if ads else {}
            # The spooling hold lifts by itself.
            uploading = ad.get("HoldReasonCode") == HOLD_CODE_SPOOLING_INPUT
            if ad.get("JobStatus") == COMPLETED or (ad.get("JobStatus") == HELD and not uploading):
                break
            time.sleep(1.0)
    finally:
        client.act("remove", f"ClusterId == {cluster}", "condor_nb doctor probe done")
    if ad.get("JobStatus") == COMPLETED and ad.get("ExitCode") == 0:
        return Check(PROBE, OK, f"job {cluster}: {settings.worker_python} imports ipykernel")
    if ad.get("JobStatus") == COMPLETED:
        command = f"{settings.worker_python} -c '{PROBE_CODE}'"
        detail = f"job {cluster}: `{command}` exited {ad.get('ExitCode')}"
        return Check(PROBE, FAIL, detail, fix)
    held = ad.get("JobStatus") == HELD
    if held and settings.shared_filesystem and ad.get("HoldReasonCode") in NOT_SHARED_HOLD_CODES:
        detail = f"job {cluster} held: {FAILURE_CLASSES['not_shared']}: {ad.get('HoldReason')}"
        return Check(PROBE, FAIL, detail, f"put condor_nb's home ({settings.home}) "
                     "on the filesystem the access point shares (CONDOR_NB_HOME=...), or set "
                     "shared_filesystem = false")  # fmt: skip
    if held:
        return Check(PROBE, FAIL, f"job {cluster} held: {ad.get('HoldReason')}", fix)
    return Check(PROBE, WARN, f"job {cluster} did not finish in {timeout:.0f} s",
                 "condor_nb doctor --probe --timeout 600   (the pool may be busy)")  # fmt: skip


DASK = "dask connect-back"


def _dask(settings: Settings, host: str | None, port: int, timeout: float) -> Check:
    """Could a dask worker on the execute nodes reach a scheduler here? (condor_nb.dask)"""
    from condor_nb.dask import connect_probe

    verdict = connect_probe.check(settings, host=host, port=port, timeout=timeout)
    status = {connect_probe.REACHED: OK, connect_probe.BLOCKED: FAIL}.get(verdict.status, WARN)
    return Check(DASK, status, verdict.detail, verdict.fix)


def run_checks(
    settings: Settings,
    *,
    probe: bool = False,
    timeout: float = 120.0,
    dask: bool = False,
    dask_host: str | None = None,
    dask_port: int = 0,
) -> list[Check]:
    checks = [_configuration(settings)]
    if checks[0].status == FAIL:
        skipped = "needs the HTCondor client configuration"
        reach = Check("schedd", SKIP, skipped)
        checks += [reach, Check("authentication", SKIP, skipped)]
    else:
        reach = _schedd(settings)
        checks.append(reach)
        checks.extend(_authentication(settings))
    checks.append(_profile(settings))
    checks.append(_image(settings))
    if probe and reach.status == OK:
        checks.append(_probe(settings, timeout))
    elif probe:
        checks.append(Check(PROBE, SKIP, "the schedd is not reachable"))
    else:
        checks.append(Check(PROBE, SKIP, "not run", "condor_nb doctor --probe"))
    if dask and reach.status == OK:
        checks.append(_dask(settings, dask_host, dask_port, timeout))
    elif dask:
        checks.append(Check(DASK, SKIP, "the schedd is not reachable"))
    else:
        checks.append(Check(DASK, SKIP, "not run: can dask workers connect back to this host?",
                            "condor_nb doctor --dask   (runs a tiny job)"))  # fmt: skip
    return checks
