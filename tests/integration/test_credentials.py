"""SciTokens against the real schedd: a local issuer over HTTPS, trusted by the pool.

The pool's schedd is configured (condor_nb.pool.issuers: audience, map file, the
issuer's CA in the root's trust store, condor_reconfig) to accept tokens of one
local issuer and subject. A valid token submits and runs; an expired one, one from
an issuer the schedd does not map, one without condor:/WRITE and one for another
audience are rejected, each with a clear message (by condor_nb's preflight, and,
when the preflight is bypassed, by the schedd itself). IDTOKENS keep working.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from condor_nb.errors import CredentialsError
from integration.token_issuer import Issuer, SigningKey, serve_issuers

pytestmark = pytest.mark.pool

SUBJECT = "alice"
AUDIENCE = "condor://127.0.0.1:9618"


@dataclass
class ScitokensPool:
    issuer: Issuer
    good: SigningKey
    other: SigningKey
    folder: Path

    @property
    def good_issuer(self) -> str:
        return self.issuer.url("good")

    def client(self, name: str, token: str) -> dict[str, str]:
        """A client configuration that presents ``token``; returns the env to use it."""
        from condor_nb.pool import issuers

        folder = self.folder / name
        folder.mkdir(parents=True, exist_ok=True)
        token_file = folder / "token"
        token_file.write_text(token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        config = issuers.write_client_config(folder, token_file)
        return {"CONDOR_NB_CONDOR_CONFIG": str(config), "CONDOR_CONFIG": str(config)}


@pytest.fixture(scope="module")
def scitokens_pool(
    pool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScitokensPool]:
    if pool_env:
        pytest.skip("configures the personal pool's schedd; not run against another pool")
    from condor_nb.pool import issuers

    folder = tmp_path_factory.mktemp("scitokens")
    good, other = SigningKey("good-key"), SigningKey("other-key")
    with serve_issuers(folder / "tls", {"good": good, "other": other}) as issuer:
        trusted = issuers.TrustedIssuer(issuer.url("good"), SUBJECT, ca_pem=issuer.tls.ca_pem)
        issuers.trust_issuers([trusted])
        try:
            yield ScitokensPool(issuer, good, other, folder)
        finally:
            issuers.forget_issuers()


def _cnb(cnb: Any, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    saved = dict(cnb.env)
    cnb.env.update(env)
    try:
        return cnb.run(*args)  # type: ignore[no-any-return]
    finally:
        cnb.env.clear()
        cnb.env.update(saved)


RAW_SUBMIT = """
import htcondor2 as h
ad = h.Collector().locateAll(h.DaemonType.Schedd)[0]
try:
    r = h.Schedd(ad).submit(h.Submit({"executable": "/bin/true", "hold": "true"}))
except Exception as exc:
    print("REFUSED", exc)
else:
    h.Schedd(ad).act(h.JobAction.Remove, f"ClusterId == {r.cluster()}")
    print("ACCEPTED", r.cluster())
"""


def _raw_submit(env: dict[str, str]) -> str:
    """Submit with the bindings directly: no condor_nb preflight, the schedd decides."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("_CONDOR_")}
    proc = subprocess.run(
        [sys.executable, "-c", RAW_SUBMIT],
        env={**clean, "CONDOR_CONFIG": env["CONDOR_CONFIG"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.stdout + proc.stderr


def _assert_secret_absent(token: str, *texts: str) -> None:
    signature = token.rsplit(".", 1)[-1]
    for text in texts:
        assert token not in text
        assert signature not in text


def test_valid_token_submits_runs_and_never_leaks(
    scitokens_pool: ScitokensPool, cnb: Any, schedd_ads: Any
) -> None:
    sp = scitokens_pool
    token = sp.good.mint(sp.good_issuer, subject=SUBJECT, audience=AUDIENCE)
    env = sp.client("valid", token)
    status = _cnb(cnb, env, "auth", "status")
    assert status.returncode == 0, status.stderr
    assert f"SCITOKEN from SCITOKENS_FILE: {sp.folder / 'valid' / 'token'}" in status.stdout
    assert f"for:       {SUBJECT}   issuer: {sp.good_issuer}" in status.stdout
    assert "condor:/READ condor:/WRITE" in status.stdout and "left)" in status.stdout
    nb = cnb.notebook("tok.ipynb", ["print('ran with a SciToken', x)"], params="x = 1")
    rendered = _cnb(cnb, env, "render", str(nb), "-p", "x", "2")
    proc = _cnb(cnb, env, "submit", str(nb), "-p", "x", "2", "--wait")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    job_id = proc.stdout.split()[1]
    ad = schedd_ads(job_id)
    assert ad["Owner"] == "nbuser"
    assert ad["AuthTokenIssuer"] == sp.good_issuer and ad["AuthTokenSubject"] == SUBJECT
    home = Path(cnb.env["CONDOR_NB_HOME"])
    stored = [p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()]
    with sqlite3.connect(home / "registry.sqlite") as db:
        rows = repr(db.execute("SELECT * FROM jobs").fetchall())
    ad_text = repr(dict(ad))
    _assert_secret_absent(token, rendered.stdout, proc.stdout, proc.stderr, ad_text, rows, *stored)
    _assert_secret_absent(token, status.stdout, status.stderr)


def test_expired_token_is_refused_before_and_by_the_schedd(
    scitokens_pool: ScitokensPool, cnb: Any
) -> None:
    sp = scitokens_pool
    token = sp.good.mint(sp.good_issuer, subject=SUBJECT, audience=AUDIENCE, expired=True)
    env = sp.client("expired", token)
    nb = cnb.notebook("e.ipynb", ["print(1)"])
    proc = _cnb(cnb, env, "submit", str(nb))
    assert proc.returncode == CredentialsError.exit_code
    assert "SCITOKEN from SCITOKENS_FILE" in proc.stderr and "expired 60 min ago" in proc.stderr
    assert "hint: get a fresh bearer token from your token issuer" in proc.stderr
    _assert_secret_absent(token, proc.stdout, proc.stderr)
    assert "REFUSED" in _raw_submit(env)  # the schedd agrees


def test_token_of_an_unmapped_issuer_is_rejected_by_the_schedd(
    scitokens_pool: ScitokensPool, cnb: Any
) -> None:
    sp = scitokens_pool
    token = sp.other.mint(sp.issuer.url("other"), subject=SUBJECT, audience=AUDIENCE)
    env = sp.client("other-issuer", token)
    nb = cnb.notebook("w.ipynb", ["print(1)"])
    proc = _cnb(cnb, env, "submit", str(nb))
    assert proc.returncode == CredentialsError.exit_code, proc.stderr
    assert "did not accept the credential presented" in proc.stderr
    assert "AUTHENTICATE" in proc.stderr and "condor_nb auth status" in proc.stderr
    _assert_secret_absent(token, proc.stdout, proc.stderr)


def test_token_without_write_scope_is_refused_before_and_by_the_schedd(
    scitokens_pool: ScitokensPool, cnb: Any
) -> None:
    sp = scitokens_pool
    token = sp.good.mint(sp.good_issuer, subject=SUBJECT, audience=AUDIENCE, scope="condor:/READ")
    env = sp.client("read-only", token)
    nb = cnb.notebook("r.ipynb", ["print(1)"])
    proc = _cnb(cnb, env, "submit", str(nb))
    assert proc.returncode == CredentialsError.exit_code
    assert "expected the scope condor:/WRITE, the token has condor:/READ" in proc.stderr
    assert "REFUSED" in _raw_submit(env)
    listing = _cnb(cnb, env, "q")  # READ is enough to look
    assert listing.returncode == 0, listing.stderr


def test_token_for_another_audience_is_refused_before_and_by_the_schedd(
    scitokens_pool: ScitokensPool, cnb: Any
) -> None:
    sp = scitokens_pool
    token = sp.good.mint(sp.good_issuer, subject=SUBJECT, audience="condor://elsewhere.org:9618")
    env = sp.client("audience", token)
    nb = cnb.notebook("a.ipynb", ["print(1)"])
    proc = _cnb(cnb, env, "submit", str(nb))
    assert proc.returncode == CredentialsError.exit_code
    assert "is for another audience" in proc.stderr
    assert "the token is for condor://elsewhere.org:9618" in proc.stderr
    assert "REFUSED" in _raw_submit(env)


def test_malformed_token_file_is_reported_without_its_content(
    scitokens_pool: ScitokensPool, cnb: Any
) -> None:
    garbage = "this-is-not-a-token-but-a-secret-looking-string"
    env = scitokens_pool.client("malformed", garbage)
    status = _cnb(cnb, env, "auth", "status")
    assert status.returncode == CredentialsError.exit_code
    assert "unusable:  not a JSON Web Token" in status.stdout
    nb = cnb.notebook("m.ipynb", ["print(1)"])
    proc = _cnb(cnb, env, "submit", str(nb))
    assert proc.returncode == CredentialsError.exit_code
    assert "no usable credential" in proc.stderr and "not a JSON Web Token" in proc.stderr
    for text in (status.stdout, status.stderr, proc.stdout, proc.stderr):
        assert garbage not in text


def test_idtokens_still_work_while_scitokens_are_accepted(
    scitokens_pool: ScitokensPool, cnb: Any
) -> None:
    nb = cnb.notebook("i.ipynb", ["print(1)"])
    proc = cnb.run("submit", str(nb), "--wait")
    assert proc.returncode == 0, proc.stderr
