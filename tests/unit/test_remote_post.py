"""The job's PostCmd (condor_nb/worker/post.py): whatever the notebook left in its
folder, only regular files, folders and links to a regular file inside it stay, with
their content; nothing outside is touched (other links are removed, never followed)."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condor_nb.worker.post import remove_special_files

KINDS = ("file", "folder", "fifo", "socket", "link_in", "link_out", "link_dir", "dangling")
_NAME = st.text(alphabet="abcXYZ019._- ", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..")
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(KINDS), _NAME, st.booleans()), max_size=8))
def test_only_regular_files_and_folders_stay(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[str, str, bool]]
) -> None:
    base = tmp_path_factory.mktemp("post")
    scratch, outside = base / "scratch", base / "outside"
    scratch.mkdir()
    outside.mkdir()
    (outside / "target.txt").write_text("outside")
    (scratch / "sub").mkdir()
    (scratch / "inside.txt").write_text("inside")
    kept: dict[str, str] = {"inside.txt": "inside"}
    sockets = []
    for number, (kind, name, nested) in enumerate(entries):
        path = (scratch / "sub" if nested else scratch) / f"{name}{number}"
        if kind == "file":
            path.write_text(f"content {number}")
            kept[str(path.relative_to(scratch))] = f"content {number}"
        elif kind == "folder":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            if len(str(path)) < 100:  # AF_UNIX path limit
                sock = socket.socket(socket.AF_UNIX)
                sock.bind(str(path))
                sockets.append(sock)
        elif kind == "link_in":  # kept: the transfer brings the file's content back
            path.symlink_to(scratch / "inside.txt")
            kept[str(path.relative_to(scratch))] = "inside"
        elif kind == "link_out":
            path.symlink_to(outside / "target.txt")
        elif kind == "link_dir":
            path.symlink_to(outside, target_is_directory=True)
        else:
            path.symlink_to(base / "missing")
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        remove_special_files()
    finally:
        os.chdir(cwd)
        for sock in sockets:
            sock.close()
    for path in scratch.rglob("*"):
        assert path.is_file() or path.is_dir(), path
        if path.is_symlink():
            assert path.resolve().parent == scratch.resolve(), path
    stayed = {str(p.relative_to(scratch)): p.read_text() for p in scratch.rglob("*") if p.is_file()}
    assert stayed == kept
    assert (outside / "target.txt").read_text() == "outside" and len(list(outside.iterdir())) == 1
