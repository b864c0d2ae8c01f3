"""Every kind of job goes through the one chokepoint (condor_nb.submission.submit).

A schedule (which fires for months) and a sweep get the same pre-submit checks as a
single job: an expired credential or a missing image is refused before anything
reaches the schedd, with nothing staged on disk and no cluster on the schedd. A
submission that fails after staging (the schedd refuses the upload) leaves no
staging folder behind, for every kind of job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import condor_nb
from condor_nb.errors import CondorNbError, CredentialsError, SpecError
from condor_nb.store.registry import registry_for

from .conftest import Cnb

pytestmark = pytest.mark.pool


def _expired_token_config(tmp_path: Path) -> Path:
    """The pool's client configuration presenting an expired SciToken (as test_doctor)."""
    from condor_nb import pool

    key = ec.generate_private_key(ec.SECP256R1())
    claims = {"iss": "https://issuer.example.org", "sub": "alice", "exp": int(time.time()) - 60,
              "scope": "condor:/READ condor:/WRITE"}  # fmt: skip
    token_file = tmp_path / "bt"
    token_file.write_text(jwt.encode(claims, key, algorithm="ES256"))
    token_file.chmod(0o600)
    base = Path(pool.client_env()["CONDOR_CONFIG"]).read_text()
    config = tmp_path / "condor_config"
    config.write_text(base + f"SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS\n"
                      f"SCITOKENS_FILE = {token_file}\n")  # fmt: skip
    return config


def _staged(home: Path) -> list[Path]:
    """Every staging folder under the home (jobs, sweeps, schedules)."""
    return [p for sub in ("jobs", "schedules") if (home / sub).is_dir()
            for p in (home / sub).iterdir()]  # fmt: skip


def _clusters(home: Path) -> list[Any]:
    """The jobs and schedules of this home on the schedd (queue), with the normal
    client configuration (not the one that presents the expired token)."""
    from condor_nb.condor import schedd
    from condor_nb.schedules import api as schedules
    from condor_nb.settings import load_settings
    from condor_nb.store import tracking

    settings = load_settings(home=home, condor_config=None)
    ours = f"({tracking.base_constraint(settings)}) || ({schedules.home_constraint(settings)})"
    return list(schedd.client_for(settings).query(ours, ["ClusterId", "JobStatus"]))


@pytest.fixture
def no_schedd() -> Iterator[list[str]]:
    """Fails the test's submission the moment it would contact the schedd."""
    from condor_nb.condor import schedd

    calls: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append("client_for")
        raise AssertionError("the schedd was contacted before the checks refused the job")

    real = schedd.client_for
    schedd.client_for = refuse  # type: ignore[assignment]
    try:
        yield calls
    finally:
        schedd.client_for = real  # (before the cnb fixture removes leftover jobs)


KINDS: dict[str, Callable[[Path, Any], object]] = {
    "schedule": lambda nb, s: condor_nb.schedule(nb, "0 6 * * *", {"x": 2}, settings=s),
    "sweep": lambda nb, s: condor_nb.sweep(nb, [{"x": 1}, {"x": 2}], settings=s),
    "job": lambda nb, s: condor_nb.submit(nb, {"x": 3}, settings=s),
}


def _refused(cnb: Cnb, make: Callable[[Path, Any], object], settings: Any,
             error: type[CondorNbError]) -> CondorNbError:  # fmt: skip
    nb = cnb.notebook("pre.ipynb", ["print(x)"], params="x = 1")
    with pytest.raises(error) as caught:
        make(nb, settings)
    return caught.value


@pytest.mark.parametrize("kind", list(KINDS))
def test_missing_image_is_refused_before_the_schedd_for_every_kind(
    cnb: Cnb, kind: str, no_schedd: list[str]
) -> None:
    settings = cnb.settings(image="/nonexistent/image.sif")
    home = settings.home
    exc = _refused(cnb, KINDS[kind], settings, SpecError)
    assert "image /nonexistent/image.sif: expected an existing image" in exc.message
    assert exc.hint and "--image" in exc.hint
    assert no_schedd == []  # never asked for a schedd client
    assert _staged(home) == []  # nothing staged on disk
    assert registry_for(settings).all() == []
    assert not (home / "jobs").is_dir() or not any((home / "jobs").iterdir())


EXPIRED = """
import json, sys
import condor_nb
from condor_nb.condor import schedd
from condor_nb.errors import CondorNbError

def refuse(*args, **kwargs):
    raise AssertionError("the schedd was contacted before the checks refused the job")

kind, nb, spy = sys.argv[1], sys.argv[2], sys.argv[3] == "spy"
if spy:
    schedd.client_for = refuse
try:
    if kind == "schedule":
        condor_nb.schedule(nb, "0 6 * * *", {"x": 2})
    else:
        condor_nb.sweep(nb, [{"x": 1}, {"x": 2}])
except CondorNbError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}))
else:
    print(json.dumps({"error": None}))
"""


@pytest.mark.parametrize("kind", ["schedule", "sweep"])
def test_expired_credential_is_refused_before_the_schedd(
    cnb: Cnb, tmp_path: Path, kind: str
) -> None:
    """In a process of its own (as a notebook kernel): a client configuration that
    presents an expired SciToken; first with the schedd client made unreachable (a
    call fails the test), then with the real one (the schedd gets nothing)."""
    cnb.env["CONDOR_NB_CONDOR_CONFIG"] = str(_expired_token_config(tmp_path))
    nb = cnb.notebook("pre.ipynb", ["print(x)"], params="x = 1")
    for spy in ("spy", "real"):
        proc = cnb.python(EXPIRED.replace("sys.argv[1], sys.argv[2], sys.argv[3]",
                                          f"{kind!r}, {str(nb)!r}, {spy!r}"))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outcome = json.loads(proc.stdout.strip().splitlines()[-1])
        assert outcome["error"] == CredentialsError.__name__, (spy, outcome)
        assert "expired" in outcome["message"], outcome
        assert "get a fresh bearer token" in outcome["hint"], outcome
    home = Path(cnb.env["CONDOR_NB_HOME"])
    assert _staged(home) == []
    assert registry_for(cnb.settings(home=home)).all() == []
    assert _clusters(home) == []


def test_missing_image_reaches_nothing_on_the_schedd(cnb: Cnb) -> None:
    """The same refusal with the real client: the schedd has no cluster of this home."""
    bad_image = cnb.settings(image="/nonexistent/image.sif")
    for kind in ("schedule", "sweep"):
        _refused(cnb, KINDS[kind], bad_image, SpecError)
    assert _staged(bad_image.home) == []
    assert _clusters(bad_image.home) == []


def test_failure_after_staging_leaves_no_folder_and_no_cluster(
    cnb: Cnb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedd refuses the upload (an input vanished after staging): for a job, a
    sweep and a schedule, the cluster is removed and the staging folder is gone."""
    from condor_nb.submission import staging

    data = cnb.workdir / "data.txt"
    staged: list[Path] = []

    def vanish_after(original: Callable[..., None]) -> Callable[..., None]:
        def stage(job: Any, files: Any, *args: Any, **kwargs: Any) -> None:
            original(job, files, *args, **kwargs)
            assert files.job_dir.is_dir()  # staging really happened
            staged.append(files.job_dir)
            data.unlink()

        return stage

    monkeypatch.setattr(staging, "stage_job", vanish_after(staging.stage_job))
    monkeypatch.setattr(staging, "stage_sweep", vanish_after(staging.stage_sweep))
    settings = cnb.settings()
    nb = cnb.notebook("after.ipynb", ["print(open('data.txt').read(), x)"], params="x = 1")
    attempts: dict[str, Callable[[], object]] = {
        "job": lambda: condor_nb.submit(nb, {"x": 3}, files=[data], settings=settings),
        "sweep": lambda: condor_nb.sweep(nb, [{"x": 1}, {"x": 2}], files=[data], settings=settings),
        "schedule": lambda: condor_nb.schedule(nb, "0 6 * * *", files=[data], settings=settings),
    }
    for kind, attempt in attempts.items():
        data.write_text("input")
        with pytest.raises(CondorNbError) as caught:
            attempt()
        assert "removed" in str(caught.value.message) + str(caught.value.hint), (kind, caught)
    assert len(staged) == 3
    assert [p for p in staged if p.exists()] == []
    assert _staged(settings.home) == []
    assert _clusters(settings.home) == []
    # The records made when the schedd created the clusters say what happened.
    records = registry_for(settings).all()
    assert records and all(r.state == "REMOVED" for r in records)
    assert all("not submitted" in (r.reason or "") for r in records)


def test_dask_workers_get_the_same_image_check(cnb: Cnb) -> None:
    """A dask session's worker jobs pass the same preflight (all but the manifest)."""
    from condor_nb.dask import options as opts
    from condor_nb.dask.backend import WorkerJobs

    settings = cnb.settings()
    jobs = WorkerJobs(settings, opts.worker_options(settings, image="/nonexistent/image.sif"))
    command = "python -m distributed.cli.dask_worker tcp://127.0.0.1:1 --name w-0"
    with pytest.raises(SpecError) as caught:
        jobs.submit(command, ["w-0"], "tcp://127.0.0.1:1")
    assert "image /nonexistent/image.sif: expected an existing image" in caught.value.message
    assert jobs.queue_ads() == []  # no worker job of the session on the schedd
    assert registry_for(settings).all() == []
