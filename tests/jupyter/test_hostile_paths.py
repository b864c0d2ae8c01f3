"""Hostile paths in jupyter-scheduler requests, through a real server: nothing outside the
server's root directory is read into a job, nothing outside the staging area is written,
nothing condor_nb did not make is deleted, and each refusal is a 4xx saying why."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Server, running_server, write_notebook

pytestmark = pytest.mark.pool

BODY = {"runtime_environment_name": "personal", "name": "hostile", "output_formats": ["ipynb"]}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, pool_env: dict[str, str]) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("hostile-paths"), pool_env) as server:
        yield server


def base(server: Server) -> Path:
    """The folder holding the server's root, data dir and home: outside all of them."""
    return server.root.parent


def staging(server: Server) -> Path:
    return server.data / "scheduler_staging_area"


def outside_folder(server: Server, name: str) -> Path:
    """A folder outside the root and staging area, with a file nobody may touch."""
    folder = base(server) / name
    folder.mkdir()
    (folder / "unrelated.txt").write_text("keep me", encoding="utf-8")
    return folder


def assert_untouched(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == ["unrelated.txt"], list(folder.iterdir())
    assert (folder / "unrelated.txt").read_text(encoding="utf-8") == "keep me"


def nothing_submitted(server: Server) -> None:
    """No jupyter-scheduler row and no HTCondor job came of the refused requests."""
    status, jobs = server.request("GET", "/condor_nb/jobs?refresh=0")
    assert status == 200 and jobs["jobs"] == [], jobs
    status, rows = server.request("GET", "/scheduler/jobs")
    assert status == 200, rows
    legacy = {j["job_id"] for j in rows["jobs"] if j["name"].startswith("legacy")}
    assert {j["job_id"] for j in rows["jobs"]} == legacy, rows


def staged_texts(server: Server) -> str:
    found = [p.read_text("utf-8", "replace") for p in staging(server).rglob("*") if p.is_file()]
    return "\n".join(found)


def legacy_row(server: Server, input_filename: str, output_formats: list[str]) -> str:
    """A row as an older condor_nb let through: written straight into the database."""
    from jupyter_scheduler.orm import Job
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(f"sqlite:///{server.data / 'scheduler.sqlite'}")
    job_id = str(uuid.uuid4())
    with sessionmaker(bind=engine)() as session:
        session.add(
            Job(
                job_id=job_id,
                name=f"legacy {input_filename}",
                input_filename=input_filename,
                runtime_environment_name="personal",
                output_formats=output_formats,
                status="COMPLETED",
            )
        )
        session.commit()
    engine.dispose()
    return job_id


def refused(reply: Any, *words: str) -> str:
    assert isinstance(reply, dict) and reply.get("message"), reply
    text = f"{reply['message']} {reply.get('hint') or ''}"
    for word in words:
        assert word in text, (word, reply)
    return text


def test_input_filename_traversal_writes_nothing_outside(srv: Server) -> None:
    srv.notebook("quick.ipynb", ["print('done')"], params="n = 1")
    target = outside_folder(srv, "traversal-target")
    sneaky = f"../../../{target.name}/written.ipynb"
    status, reply = srv.request(
        "POST", "/scheduler/jobs", {**BODY, "input_uri": "quick.ipynb", "input_filename": sneaky}
    )
    assert status == 400, reply
    refused(reply, "input_filename", "plain file name", sneaky, "without '/'")
    assert_untouched(target)
    # A failing create (the parameter is not a number) with the folder named next to the
    # staging area: the folder and its file stay.
    status, reply = srv.request(
        "POST",
        "/scheduler/jobs",
        {
            **BODY,
            "input_uri": "quick.ipynb",
            "input_filename": f"../../../{target.name}/nb.ipynb",
            "parameters": {"n": "not a number"},
        },
    )
    assert status == 400, reply
    assert_untouched(target)
    # A definition is refused the same way.
    status, reply = srv.request(
        "POST",
        "/scheduler/job_definitions",
        {**BODY, "input_uri": "quick.ipynb", "input_filename": sneaky, "schedule": "0 6 * * *"},
    )
    assert status == 400, reply
    refused(reply, "input_filename", "plain file name")
    assert_untouched(target)
    # Output formats become file names too.
    status, reply = srv.request(
        "POST",
        "/scheduler/jobs",
        {**BODY, "input_uri": "quick.ipynb", "output_formats": ["ipynb/../../../x"]},
    )
    assert status == 400, reply
    refused(reply, "output_formats", "ipynb, html")
    nothing_submitted(srv)


def test_input_uri_outside_the_root_is_not_read(srv: Server) -> None:
    secret_dir = outside_folder(srv, "secret-notebooks")
    secret = write_notebook(secret_dir / "secret.ipynb", ["print('SECRET-7f3a')"])
    (srv.root / "sub").mkdir()
    (srv.root / "link-to-secret.ipynb").symlink_to(secret)
    (srv.root / "sub" / "escape").symlink_to(secret_dir, target_is_directory=True)
    attempts = {
        "../secret-notebooks/secret.ipynb": "which is",
        "sub/../../secret-notebooks/secret.ipynb": "which is",
        str(secret): "which is",
        "link-to-secret.ipynb": "symbolic link",
        "sub/escape/secret.ipynb": "symbolic link",
    }
    for uri, how in attempts.items():
        status, reply = srv.request("POST", "/scheduler/jobs", {**BODY, "input_uri": uri})
        assert status == 400, (uri, reply)
        refused(reply, "input_uri", "inside the server's root directory", uri, how, "relative")
        status, reply = srv.request(
            "POST",
            "/scheduler/job_definitions",
            {**BODY, "input_uri": uri, "schedule": "0 6 * * *"},
        )
        assert status == 400, (uri, reply)
        refused(reply, "input_uri", "inside the server's root directory")
    nothing_submitted(srv)
    assert "SECRET-7f3a" not in staged_texts(srv)
    status, defs = srv.request("GET", "/scheduler/job_definitions")
    assert status == 200 and defs["job_definitions"] == [], defs


def test_delete_of_a_legacy_row_deletes_nothing_outside(srv: Server) -> None:
    """A row whose name leads out (written by an older version): DELETE drops the row,
    and neither the folder it names nor any file in it."""
    target = outside_folder(srv, "delete-target")
    (target / "nb.ipynb").write_text("{}", encoding="utf-8")
    job_id = legacy_row(srv, f"../../../{target.name}/nb.ipynb", ["ipynb"])
    (staging(srv) / job_id).mkdir(parents=True)  # as the older version made it
    status, body = srv.request("GET", f"/scheduler/jobs/{job_id}")
    assert status == 200, body
    status, reply = srv.request("DELETE", f"/scheduler/jobs/{job_id}")
    assert status == 204, reply
    assert srv.request("GET", f"/scheduler/jobs/{job_id}")[0] == 404
    assert target.is_dir()
    assert sorted(p.name for p in target.iterdir()) == ["nb.ipynb", "unrelated.txt"]
    # A row's staging folder that condor_nb did not make is kept too.
    job_id = legacy_row(srv, "plain.ipynb", [])
    kept = staging(srv) / job_id
    kept.mkdir(parents=True)
    (kept / "plain.ipynb").write_text("{}", encoding="utf-8")
    assert srv.request("DELETE", f"/scheduler/jobs/{job_id}")[0] == 204
    assert (kept / "plain.ipynb").is_file()


def test_download_through_a_link_out_of_the_root_is_refused(srv: Server) -> None:
    target = outside_folder(srv, "download-target")
    job_id = legacy_row(srv, "dl.ipynb", [])
    folder = staging(srv) / job_id
    folder.mkdir(parents=True)
    (folder / "dl.ipynb").write_text('{"cells": []}', encoding="utf-8")
    jobs = srv.root / "jobs"
    jobs.symlink_to(target, target_is_directory=True)
    try:
        status, reply = srv.request("GET", f"/scheduler/jobs/{job_id}/download_files")
    finally:
        jobs.unlink()
    assert status == 400, reply
    refused(reply, "download", "inside the server's root directory", "symbolic link")
    assert_untouched(target)


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/scheduler/jobs", {}, ("missing input_uri", "name", "runtime_environment_name")),
        ("/scheduler/jobs", {"name": "x"}, ("missing input_uri", "fields given: name")),
        ("/scheduler/jobs", {**BODY, "input_uri": None}, ("missing input_uri",)),
        ("/scheduler/jobs", {**BODY, "input_uri": 5}, ("input_uri: expected text",)),
        (
            "/scheduler/jobs",
            {**BODY, "input_uri": "quick.ipynb", "input_filename": ["a"]},
            ("input_filename: expected text",),
        ),
        ("/scheduler/jobs", {**BODY, "input_uri": "a\u0000b.ipynb"}, ("NUL",)),
        ("/scheduler/jobs", {**BODY, "input_uri": "x" * 5000}, ("at most 4000 bytes",)),
        ("/scheduler/jobs", {**BODY, "input_uri": "\ud800.ipynb"}, ("valid Unicode",)),
        ("/scheduler/job_definitions", {}, ("missing input_uri",)),
    ],
)
def test_malformed_bodies_are_400_with_a_clear_message(
    srv: Server, path: str, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    status, reply = srv.request("POST", path, body)
    assert status == 400, reply
    refused(reply, *words)


def test_a_valid_job_still_stages_inside_its_own_folder(srv: Server) -> None:
    """The checks let the ordinary case through; a failed create leaves no folder."""
    staging(srv).mkdir(parents=True, exist_ok=True)
    before = set(os.listdir(staging(srv)))
    (srv.root / "sub2").mkdir()
    srv.notebook("sub2/ok.ipynb", ["print('done')"], params="n = 1")
    status, reply = srv.request(
        "POST",
        "/scheduler/jobs",
        {**BODY, "input_uri": "sub2/ok.ipynb", "parameters": {"n": "not a number"}},
    )
    assert status == 400, reply
    assert set(os.listdir(staging(srv))) == before


def test_definition_edit_reads_nothing_outside_and_delete_removes_only_its_folder(
    srv: Server,
) -> None:
    """A real schedule (it would fire at 06:00): an edit whose input leads out is a 400
    and leaves the staged notebook as it was; delete removes the definition's own staging
    folder and nothing beside it."""
    srv.notebook("daily.ipynb", ["print('DAILY-ORIGINAL')"], params="n = 1")
    secret_dir = outside_folder(srv, "secret-for-edit")
    secret = write_notebook(secret_dir / "secret.ipynb", ["print('SECRET-EDIT-91c')"])
    (srv.root / "edit-link.ipynb").symlink_to(secret)
    status, body = srv.request(
        "POST",
        "/scheduler/job_definitions",
        {**BODY, "input_uri": "daily.ipynb", "schedule": "0 6 * * *", "timezone": "UTC"},
    )
    assert status == 200, body
    definition_id = body["job_definition_id"]
    folder = staging(srv) / definition_id
    try:
        assert (folder / "daily.ipynb").is_file()
        for uri in ("../secret-for-edit/secret.ipynb", str(secret), "edit-link.ipynb"):
            status, reply = srv.request(
                "PATCH", f"/scheduler/job_definitions/{definition_id}", {"input_uri": uri}
            )
            assert status == 400, (uri, reply)
            refused(reply, "input_uri", "inside the server's root directory", uri)
        status, reply = srv.request(
            "PATCH",
            f"/scheduler/job_definitions/{definition_id}",
            {"output_formats": ["../../../x"]},
        )
        assert status == 400, reply
        assert "DAILY-ORIGINAL" in (folder / "daily.ipynb").read_text(encoding="utf-8")
        assert "SECRET-EDIT-91c" not in staged_texts(srv)
    finally:
        status, reply = srv.request("DELETE", f"/scheduler/job_definitions/{definition_id}")
    assert status == 204, reply
    assert not folder.exists()
    assert sorted(p.name for p in secret_dir.iterdir()) == ["secret.ipynb", "unrelated.txt"]
