"""The idle REASON in a few words, and when a job no slot can run is refused or only
warned about, on ads captured from the personal pool (see test_why.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb.condor import analysis
from condor_nb.diagnostics import why
from condor_nb.settings import Settings
from condor_nb.submission import nomatch

DATA = Path(__file__).parent / "data" / "why"
BIG = {"request_memory": "102400", "request_disk": "1048576", "request_cpus": "1"}


@pytest.fixture(scope="module")
def slots() -> list[object]:
    return analysis.parse_ads((DATA / "personal_slots.ads").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def big() -> object:
    return analysis.parse_ad((DATA / "job_big_memory.ad").read_text(encoding="utf-8"))


def test_the_short_reason_names_what_no_slot_has_and_the_largest(
    slots: list[object], big: object
) -> None:
    assert why.analyse_idle(big, slots).short == "no slot has 100 GB memory (largest 8 GB)"
    cpus = analysis.job_ad_from_description({**BIG, "request_memory": "1024", "request_cpus": "64"})
    assert why.analyse_idle(cpus, slots).short == "no slot has 64 CPUs (largest 4)"
    assert why.analyse_idle(big, []).short == "the pool has no slots"


def test_a_job_that_fits_a_busy_machine_waits_for_room(slots: list[object], big: object) -> None:
    fits = analysis.with_attributes(big, {"RequestMemory": "1024"})
    assert why.analyse_idle(fits, slots).short == "waiting for room on 1 matching slot(s)"


def _growth(settings: Settings, slots: list[object], description: dict[str, str]) -> str | None:
    job = analysis.job_ad_from_description(description)
    verdict = why.never_matches(job, slots)
    assert verdict is not None
    return nomatch.growth(settings, description, slots, verdict)


def test_a_fixed_pool_refuses_more_memory_than_any_machine(slots: list[object]) -> None:
    assert _growth(Settings(), slots, BIG) is None


def test_the_pool_may_grow_by_setting_glideins_offline_machines_or_a_new_kind(
    slots: list[object],
) -> None:
    assert "pool_may_grow" in str(_growth(Settings(pool_may_grow=True), slots, BIG))
    assert "glideins" in str(_growth(Settings(), slots, {**BIG, "MY.CondorNbProfile": '"ospool"'}))
    glidein = [analysis.with_attributes(s, {"IS_GLIDEIN": "true"}) for s in slots]
    assert "glideins" in str(_growth(Settings(), glidein, BIG))
    offline = [*slots, analysis.with_attributes(slots[0], {"Offline": "true", "Name": '"x"'})]
    assert "offline" in str(_growth(Settings(), offline, BIG))
    custom = {**BIG, "request_memory": "1024", "requirements": "HasQuantumChip == true"}
    assert "new kind" in str(_growth(Settings(), slots, custom))


@pytest.mark.parametrize("requirements", ["MY.CondorNbTestGo =?= true", "false"])
def test_a_clause_on_the_jobs_own_attributes_is_not_about_the_pool(
    slots: list[object], requirements: str
) -> None:
    job = analysis.job_ad_from_description({**BIG, "request_memory": "1024",
                                            "requirements": requirements})  # fmt: skip
    verdict = why.never_matches(job, slots)
    assert verdict is not None and verdict.job_side_only, verdict
    unscoped = {**BIG, "request_memory": "1024", "requirements": "CondorNbTestGo =?= true"}
    slot_side = analysis.job_ad_from_description(unscoped)
    found = why.never_matches(slot_side, slots)  # unscoped: read in the slot too
    assert found is not None and not found.job_side_only
