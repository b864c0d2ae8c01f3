"""The worker's progress reporter: immediate set_job_attr, coalesced to one per interval.

A stand-in condor_chirp records its calls; the real one is exercised against the pool
in tests/integration/test_live_progress.py.
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path
from typing import Any

import pytest

import condor_nb.worker as remote
from condor_nb import contract
from condor_nb.condor import live


def _report() -> Any:
    spec = importlib.util.spec_from_file_location("condor_nb_report_progress", remote.REPORT_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _calls(log: Path, n: int) -> list[str]:
    for _ in range(200):  # a bound on waiting for the child processes, not a timing
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    return log.read_text().splitlines() if log.exists() else []


def _fake_chirp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "condor_chirp"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    (tmp_path / ".chirp.config").write_text("127.0.0.1 1 cookie\n")
    monkeypatch.setenv("_CONDOR_CHIRP_CONFIG", str(tmp_path / ".chirp.config"))
    return log


def _sent(line: str) -> live.LiveInfo:
    verb, name, expr = line.split(" ")
    assert (verb, name) == ("set_job_attr", contract.LIVE_ATTR)
    assert expr.startswith('"') and expr.endswith('"')
    info = live.decode({contract.LIVE_ATTR: expr[1:-1]})
    assert info is not None
    return info


def test_updates_are_immediate_then_coalesced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _fake_chirp(tmp_path, monkeypatch)
    chirp = _report().Chirp(every=0.5)

    chirp.cell_start(1, 4, "import time\n")  # the first: at once
    assert _sent(_calls(log, 1)[0]).cell == 1
    chirp.cell_start(2, 4, "x = 1")  # too soon: kept...
    chirp.output("hello\n")  # ...with what the cell prints, in the same update
    chirp.cell_start(3, 4, "\n\n  fit = model.fit(data)  # long\nmore")
    third = _sent(_calls(log, 2)[1])
    assert (third.cell, third.cells, third.source) == (3, 4, "fit = model.fit(data)  # long")
    assert (third.tail, third.chars) == ("hello\n", 6)
    assert live.summary(third, now=third.started + 125) == (  # type: ignore[operator]
        "cell 3 of 4: `fit = model.fit(data)  # long` (2 min)"
    )
    chirp.finish("completed")  # too soon at the end: not sent at all
    time.sleep(0.6)
    assert len(_calls(log, 3)) == 2
    chirp.output("late\n")
    chirp.finish("completed")
    assert _sent(_calls(log, 3)[2]).end == "completed"
    chirp.finish("completed")  # unchanged: nothing sent
    assert len(_calls(log, 4)) == 3


HOSTILE = (
    'quote " backslash \\ \\" end\n'
    "nul \x00 bell \x07 del \x7f c1 \x9b\n"
    "ansi \x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n"
    "surrogate \udcff cr\rlf\r\n"
    "unicode é 漢字 🙂\n"
    "dollar $(rm -rf /) `x` [a=b] ; && || \t tab\n"
)


def test_hostile_output_stays_a_safe_bounded_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quotes, backslashes, NULs, ANSI, lone surrogates, huge lines: the value is always
    prefix + base64 (nothing a ClassAd or the Chirp line must escape), bounded in size,
    and what comes out is the printable text."""
    _fake_chirp(tmp_path, monkeypatch)
    report = _report()
    chirp = report.Chirp(every=0.2)
    chirp.cell_start(1, 1, 'print("\x1b[1m" + "\\" * 500)')
    chirp.output(HOSTILE)
    for _ in range(50):
        time.sleep(0.05)
        if chirp.sent and chirp.state["n"] and chirp.sent == report.encode_live(chirp.state):
            break
    value = chirp.sent
    assert value is not None and re.fullmatch(r"v1:[A-Za-z0-9+/=]+", value)
    info = live.decode({contract.LIVE_ATTR: value})
    assert info is not None
    assert info.tail == (
        'quote " backslash \\ \\" end\nnul  bell  del  c1 \n'
        "ansi red  link\nsurrogate ? cr\nlf\nunicode é 漢字 🙂\n"
        "dollar $(rm -rf /) `x` [a=b] ; && || \t tab\n"
    )
    assert "\x1b" not in info.source and len(info.source) <= contract.LIVE_SOURCE_CHARS

    # Huge output of the worst kind (quotes double in JSON, 4-byte characters):
    for piece in ('"' * 1_000_000, "🙂" * 300_000, "\\" * 50_000 + "\n"):
        chirp.output(piece)
        encoded = report.encode_live(chirp.state)
        assert len(encoded) <= 4 * (report.LIVE_JSON_BYTES + 2) // 3 + 8
        assert len(encoded) < 3400
        decoded = live.decode({contract.LIVE_ATTR: encoded})
        assert decoded is not None and decoded.tail and piece.endswith(decoded.tail[-10:])
    assert info.chars < chirp.state["n"]


def test_the_follower_shows_new_text_once_and_says_what_it_skipped() -> None:
    follower = live.Follower()
    assert follower.feed(live.LiveInfo(chars=6, tail="hello\n")) == "hello\n"
    assert follower.feed(live.LiveInfo(chars=6, tail="hello\n")) == ""
    assert follower.feed(live.LiveInfo(chars=12, tail="hello\nworld\n")) == "world\n"
    jumped = follower.feed(live.LiveInfo(chars=5012, tail="tail\n"))
    assert jumped.startswith("[condor_nb: 4,995 characters of output skipped")
    assert jumped.endswith("]\ntail\n")
    again = follower.feed(live.LiveInfo(chars=3, tail="ab\n"))
    assert again == "[condor_nb: the job started again; its output from the start]\nab\n"
    assert live.last_lines(live.LiveInfo(chars=50, tail="cut line\na\nb\nc")) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "value",
    ["v1:!!!", "v1:" + "QQ" * 10000, "v1:bnVsbA==", "v1:WzEsMl0=", "v1:eyJjIjoiYSJ9", "x", 3],
)
def test_a_broken_value_never_breaks_the_reader(value: Any) -> None:
    info = live.decode({contract.LIVE_ATTR: value, "JobStatus": 2})
    assert info is None or live.summary(info) is None


def test_condor_chirp_is_found_next_to_condor_bin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The starter sets _CONDOR_BIN (e.g. /usr/bin) but puts libexec on no PATH."""
    exe = tmp_path / "usr" / "libexec" / "condor" / "condor_chirp"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("_CONDOR_BIN", str(tmp_path / "usr" / "bin"))
    assert _report().find_chirp() == str(exe)


def test_a_secret_printed_in_two_writes_is_redacted_in_the_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _fake_chirp(tmp_path, monkeypatch)
    chirp = _report().Chirp(every=0.3)
    chirp.redact = lambda text: text.replace("hunter2", "[secret]")
    chirp.cell_start(1, 1, "print(token)")
    chirp.output("token: hun")
    chirp.output("ter2\n")
    sent = [_sent(line) for line in _calls(log, 2)]
    assert sent[-1].tail == "token: [secret]\n", sent
    assert all("hunter2" not in info.tail for info in sent)


def test_a_proxy_refusing_long_lines_gets_a_smaller_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTCondor's Chirp sources set a 1024-byte line limit (the 23.9 starter here took 2.9 KB): when
    condor_chirp fails, the next updates carry a 200-byte tail, within 1024 bytes."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "condor_chirp"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n[ ${{#3}} -lt 1000 ]\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    (tmp_path / ".chirp.config").write_text("127.0.0.1 1 cookie\n")
    monkeypatch.setenv("_CONDOR_CHIRP_CONFIG", str(tmp_path / ".chirp.config"))
    chirp = _report().Chirp(every=0.3)
    chirp.output('"\U0001f642' * 2000)  # refused: too long
    time.sleep(0.5)
    chirp.output("more\n")  # sent with the small tail
    lines = _calls(log, 2)
    assert len(lines[0]) > 2000 and len(lines[1]) < 1000, [len(x) for x in lines]
    assert _sent(lines[1]).tail.endswith("more\n")
