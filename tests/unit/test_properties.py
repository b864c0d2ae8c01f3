"""Property-based tests: any input is either refused with a clear error or becomes
exactly the intended job. HTCondor's own submit parser judges the descriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from condor_nb.contract import JobFiles, worker_notebook_name
from condor_nb.errors import CondorNbError, SpecError
from condor_nb.settings import Settings
from condor_nb.spec.job import NotebookJob, Resources, parse_duration
from condor_nb.spec.quoting import decode_attr
from condor_nb.spec.sweep import grid_sets, parse_grid_option, zip_sets
from condor_nb.spec.units import parse_count, parse_size_mib
from condor_nb.submission import templates
from condor_nb.submission.render import SweepEntry, render, render_sweep

htcondor2 = pytest.importorskip("htcondor2")
classad2 = pytest.importorskip("classad2")

SETTINGS = Settings(home=Path("/srv/cnb"))
FILES = JobFiles(Path("/srv/cnb/jobs/0123abcd"), "fit.ipynb")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def _job(name: str = "fit", parameters: dict[str, Any] | None = None) -> NotebookJob:
    return NotebookJob(
        notebook=Path("/home/u/fit.ipynb"), parameters=parameters or {"a": 1},
        resources=Resources(1, 1024, 1024, 0), name=name, profile="personal",
        content_hash="sha256:" + "0" * 64,
    )  # fmt: skip


def _parsed(description: dict[str, str]) -> Any:
    return htcondor2.Submit(description)


def _render(job: NotebookJob) -> dict[str, str]:
    personal = templates.load("personal")
    return render(job, job_id="0123abcd", files=FILES, template=personal, settings=SETTINGS)


BENIGN_KEYS = set(_parsed(_render(_job())).keys())


@PROPERTY
@given(name=st.text(min_size=1, max_size=256), value=JSON_VALUES)
def test_any_name_and_parameter_value_becomes_exactly_the_intended_ad(
    name: str, value: Any
) -> None:
    assume(name.strip())
    job = _job(name=name, parameters={"p": value})
    submit = _parsed(_render(job))
    assert set(submit.keys()) == BENIGN_KEYS  # nothing added, nothing lost
    assert submit["executable"] == "/usr/bin/env"
    stored_name = classad2.ExprTree(submit.expand("MY.CondorNbName")).eval()
    assert decode_attr(stored_name) == name
    stored = classad2.ExprTree(submit.expand("MY.CondorNbParams")).eval()
    assert json.loads(decode_attr(stored)) == json.loads(json.dumps({"p": value}))


@PROPERTY
@given(values=st.lists(JSON_VALUES, min_size=1, max_size=5))
def test_sweep_itemdata_carries_any_parameter_values(values: list[Any]) -> None:
    entries = [SweepEntry(i, f"{i:08x}", {"p": v}) for i, v in enumerate(values)]
    _, itemdata = render_sweep(
        _job(), sweep_id="s0123abcd", files=FILES, entries=entries,
        template=templates.load("personal"), settings=SETTINGS,
    )  # fmt: skip
    for item, value in zip(itemdata, values, strict=True):
        assert "\n" not in "".join(item.values())  # the bindings refuse newlines in itemdata
        assert json.loads(decode_attr(item["condor_nb_params"])) == json.loads(
            json.dumps({"p": value})
        )


@PROPERTY
@given(text=st.text(max_size=30))
def test_resource_strings_are_parsed_or_refused_clearly(text: str) -> None:
    for parse in (lambda: parse_size_mib(text, field="memory"),
                  lambda: parse_count(text, field="cpus", minimum=1),
                  lambda: parse_duration(text, field="wall time")):  # fmt: skip
        try:
            value = parse()
        except SpecError as exc:
            assert "expected" in str(exc) and "got" in str(exc), str(exc)
        else:
            assert value > 0


@PROPERTY
@given(
    grid=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.lists(st.text(alphabet="abc123., ", max_size=6), max_size=4),
        max_size=3,
    ),
    zipped=st.booleans(),
)
def test_sweep_specs_are_sets_or_clear_errors(grid: dict[str, list[str]], zipped: bool) -> None:
    try:
        sets = zip_sets(grid) if zipped else grid_sets(grid)
    except SpecError as exc:
        assert "expected" in str(exc) or "needs" in str(exc), str(exc)
        return
    assert sets and all(set(s) == set(grid) for s in sets)


@PROPERTY
@given(option=st.text(max_size=20))
def test_grid_options_parse_or_refuse(option: str) -> None:
    try:
        name, values = parse_grid_option(option)
    except SpecError as exc:
        assert "--grid" in str(exc)
    else:
        assert name and values


@PROPERTY
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_file_given_as_a_notebook_is_refused_clearly_or_read(
    data: bytes, tmp_path_factory: Any
) -> None:
    from condor_nb.spec.notebook import inspect_notebook

    path = tmp_path_factory.mktemp("nb") / "x.ipynb"
    path.write_bytes(data)
    try:
        info = inspect_notebook(path)
    except CondorNbError as exc:
        assert str(exc)
    else:
        assert info.content_hash.startswith("sha256:")


def test_worker_notebook_name_is_always_transfer_safe() -> None:
    @PROPERTY
    @given(stem=st.text(max_size=60))
    def check(stem: str) -> None:
        assume("/" not in stem and stem not in (".", ".."))
        name = worker_notebook_name(Path(f"{stem or 'x'}.ipynb"))
        from condor_nb.spec.quoting import transfer_path

        assert transfer_path(name) == name and name.endswith(".ipynb")

    check()
