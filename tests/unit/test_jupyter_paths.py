"""Properties of the Jupyter backend's path confinement over generated hostile strings:
every path either is refused with a clear message, or stays where it belongs (input in
the root directory, symbolic links resolved; staged files in their job's own folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("jupyter_scheduler")

from condor_nb_jupyter import paths

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """root/ with notebooks, sub-folders and links inside and out; outside/ beside it."""
    base = tmp_path_factory.mktemp("confine")
    root, outside, staging = base / "root", base / "outside", base / "staging"
    for folder in (root / "sub" / "deep", outside, staging / "job1"):
        folder.mkdir(parents=True)
    for nb in (root / "nb.ipynb", root / "sub" / "deep" / "d.ipynb", outside / "secret.ipynb"):
        nb.write_text("{}", encoding="utf-8")
    (root / "ünï cödé.ipynb").write_text("{}", encoding="utf-8")
    (root / "link-in.ipynb").symlink_to(root / "nb.ipynb")
    (root / "link-out.ipynb").symlink_to(outside / "secret.ipynb")
    (root / "sub" / "escape").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "up").symlink_to("../..", target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    (staging / "linked-job").symlink_to(outside, target_is_directory=True)
    yield {"base": base, "root": root, "outside": outside, "staging": staging}


#: Path parts that mean something in the tree above (most escapes are made of these).
MEANINGFUL = st.sampled_from(
    [
        "..", ".", "nb.ipynb", "sub", "deep", "d.ipynb", "escape", "up", "loop",
        "link-in.ipynb", "link-out.ipynb", "secret.ipynb", "outside", "root", "ünï cödé.ipynb",
    ]
)  # fmt: skip
#: And parts that are merely hostile.
WEIRD = st.sampled_from(
    [
        "", "\x00", "a\x00b", "\ud800", "\u202e", "💥", "~", "$HOME", "\\..\\", "x" * 300,
        " ", "\n", "//",
    ]
)  # fmt: skip
PARTS = MEANINGFUL | WEIRD
DIRS = st.sampled_from(["..", ".", "sub", "deep", "escape", "up", "outside", "root", "loop"])
FILES = st.sampled_from(
    ["nb.ipynb", "d.ipynb", "secret.ipynb", "link-in.ipynb", "link-out.ipynb", "loop"]
)
HOSTILE = (
    st.builds(lambda d, f: "/".join([*d, f]), st.lists(DIRS, max_size=4), FILES)
    | st.lists(MEANINGFUL, min_size=1, max_size=6).map("/".join)
    | st.lists(PARTS, min_size=1, max_size=8).map("/".join)
    | st.lists(PARTS, min_size=1, max_size=8).map(lambda p: "/" + "/".join(p))
    | st.text(max_size=60)
    | st.text(min_size=3990, max_size=4100, alphabet="a/.")
)


def _must_refuse_cleanly(func, *args: object) -> str | dict[str, str] | None:  # type: ignore[no-untyped-def]
    """Call ``func``: a result, or a PathRefused with a message; nothing else escapes."""
    try:
        return func(*args)  # type: ignore[no-any-return]
    except paths.PathRefused as exc:
        assert exc.status == 400 and exc.message.strip(), exc
        return None


@PROPERTY
@given(uri=HOSTILE, absolute=st.sampled_from(["", "root", "outside", "base"]))
def test_input_is_a_file_inside_the_root_or_refused(
    tree: dict[str, Path], uri: str, absolute: str
) -> None:
    if absolute:
        uri = f"{tree[absolute]}/{uri}"
    got = _must_refuse_cleanly(paths.resolve_input, str(tree["root"]), uri)
    if got is None:
        return
    assert isinstance(got, str)
    real_root = os.path.realpath(tree["root"])
    assert os.path.commonpath([real_root, got]) == real_root, (uri, got)
    assert os.path.realpath(got) == got and os.path.isfile(got)
    assert not got.startswith(str(tree["outside"]))


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("../outside/secret.ipynb", "which is"),
        ("link-out.ipynb", "symbolic link"),
        ("sub/escape/secret.ipynb", "symbolic link"),
        ("sub/up/outside/secret.ipynb", "symbolic link"),
        ("/etc/passwd", "which is"),
        ("loop", "an existing notebook file"),
        ("sub", "an existing notebook file"),
    ],
)
def test_known_escapes_are_refused_with_the_reason(
    tree: dict[str, Path], uri: str, why: str
) -> None:
    with pytest.raises(paths.PathRefused) as info:
        paths.resolve_input(str(tree["root"]), uri)
    assert why in info.value.message and "input_uri" in info.value.message
    assert "relative to the server's root directory" in (info.value.hint or "")


def test_links_that_stay_inside_are_followed(tree: dict[str, Path]) -> None:
    root = tree["root"]
    assert paths.resolve_input(str(root), "link-in.ipynb") == str(root / "nb.ipynb")
    assert paths.resolve_input(str(root), "sub/up/root/nb.ipynb") == str(root / "nb.ipynb")
    assert paths.resolve_input(str(root), str(root / "sub/deep/d.ipynb")).endswith("d.ipynb")


@PROPERTY
@given(name=HOSTILE | PARTS, folder_id=HOSTILE | st.uuids().map(str), t=st.integers(0, 2**41))
def test_staged_files_stay_in_their_own_folder(
    tree: dict[str, Path], name: str, folder_id: str, t: int
) -> None:
    staging = str(tree["staging"])
    got = _must_refuse_cleanly(paths.staging_paths, staging, folder_id, name, t, ["ipynb", "html"])
    if got is None:
        return
    assert isinstance(got, dict)
    folder = os.path.join(staging, folder_id)
    for path in got.values():
        assert os.path.dirname(path) == folder, (name, folder_id, path)
        assert os.path.normpath(path) == path
        leaf = os.path.basename(path)
        assert leaf not in ("", ".", "..") and "\x00" not in leaf
        assert len(leaf.encode("utf-8")) < 255
    assert os.path.dirname(folder) == staging and os.path.normpath(folder) == folder


@PROPERTY
@given(formats=st.lists(HOSTILE | st.sampled_from(["ipynb", "html", "tar.gz", "../x"])))
def test_output_formats_are_only_the_offered_ones(formats: list[str]) -> None:
    got = _must_refuse_cleanly(paths.output_formats, formats)
    if got is not None:
        assert set(got) <= {"ipynb", "html"}


def test_only_real_folders_directly_in_the_staging_area_are_removable(
    tree: dict[str, Path],
) -> None:
    staging = str(tree["staging"])
    assert paths.removable(staging, os.path.join(staging, "job1"))
    for folder in (
        os.path.join(staging, "linked-job"),  # a link out of the staging area
        os.path.join(staging, "job1", ".."),
        os.path.join(staging, "job1", "..", "..", "outside"),
        str(tree["outside"]),
        os.path.join(staging, "missing"),
        staging,
    ):
        assert not paths.removable(staging, folder), folder


def test_download_targets_through_a_link_out_are_refused(tree: dict[str, Path]) -> None:
    root = str(tree["root"])
    assert paths.download_target(root, os.path.join(root, "jobs", "x")).endswith("x")
    with pytest.raises(paths.PathRefused, match="symbolic link"):
        paths.download_target(root, os.path.join(root, "sub", "escape", "x"))


def test_the_copy_checks_the_opened_file_again(tree: dict[str, Path], tmp_path: Path) -> None:
    """A notebook swapped for a link (or reached through one) after the check: nothing
    is read; the checked file itself is copied."""
    root, dest = str(tree["root"]), tmp_path / "staged.ipynb"
    for swapped, why in (
        ("link-out.ipynb", "without following a link"),
        ("sub/escape/secret.ipynb", "is now"),
    ):
        with pytest.raises(paths.PathRefused, match=why):
            paths.copy_confined(root, os.path.join(root, swapped), str(dest))
        assert not dest.exists()
    paths.copy_confined(root, os.path.join(root, "nb.ipynb"), str(dest))
    assert dest.read_text(encoding="utf-8") == "{}"
