"""Credential discovery, decoding and the submit preflight (no pool needed)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from condor_nb.credentials import discover as credentials
from condor_nb.credentials import policy as credentials_policy
from condor_nb.errors import CredentialsError

NOW = time.time()
KEY = ec.generate_private_key(ec.SECP256R1())


def token(**claims: object) -> str:
    base: dict[str, object] = {
        "iss": "https://issuer.example.org",
        "sub": "alice",
        "scope": "condor:/READ condor:/WRITE",
        "aud": "condor://ap.example.org:9618",
        "iat": int(NOW) - 60,
        "nbf": int(NOW) - 60,
        "exp": int(NOW) + 3600,
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, KEY, algorithm="ES256")


def params(tmp_path: Path, **extra: str) -> dict[str, str | None]:
    (tmp_path / "tokens.d").mkdir(exist_ok=True)
    values: dict[str, str | None] = {
        "SEC_CLIENT_AUTHENTICATION_METHODS": "SCITOKENS, IDTOKENS",
        "SEC_TOKEN_DIRECTORY": str(tmp_path / "tokens.d"),
        "SEC_TOKEN_SYSTEM_DIRECTORY": str(tmp_path / "tokens.d"),
        "COLLECTOR_HOST": "ap.example.org:9618",
    }
    values.update(extra)
    return values


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("env_name", "where"),
    [("BEARER_TOKEN", None), ("BEARER_TOKEN_FILE", "file"), ("XDG_RUNTIME_DIR", "xdg")],
)
def test_bearer_token_discovery_order(tmp_path: Path, env_name: str, where: str | None) -> None:
    text = token(sub=env_name)
    env: dict[str, str] = {}
    if where is None:
        env["BEARER_TOKEN"] = text
    elif where == "file":
        env["BEARER_TOKEN_FILE"] = str(write(tmp_path / "bt", text))
    else:
        import os

        write(tmp_path / f"bt_u{os.getuid()}", text)
        env["XDG_RUNTIME_DIR"] = str(tmp_path)
    # a later place also holds a token: the first one found wins
    env.setdefault("XDG_RUNTIME_DIR", str(tmp_path / "nothing"))
    report = credentials.discover_from(params(tmp_path), env)
    assert report.selected is not None and report.selected.subject == env_name
    assert report.selected.kind == credentials.SCITOKEN


def test_scitokens_file_comes_first_and_claims_are_decoded(tmp_path: Path) -> None:
    path = write(tmp_path / "scitoken", token(sub="bob"))
    env = {"BEARER_TOKEN": token(sub="not-me")}
    report = credentials.discover_from(params(tmp_path, SCITOKENS_FILE=str(path)), env)
    cred = report.selected
    assert cred is not None and cred.source == "SCITOKENS_FILE" and cred.subject == "bob"
    assert cred.issuer == "https://issuer.example.org"
    assert cred.scopes == ("condor:/READ", "condor:/WRITE")
    assert cred.expires_at == pytest.approx(NOW + 3600, abs=2)


def test_idtokens_are_read_from_the_token_directory_in_method_order(tmp_path: Path) -> None:
    p = params(tmp_path, SEC_CLIENT_AUTHENTICATION_METHODS="IDTOKENS,SCITOKENS")
    write(tmp_path / "tokens.d" / "ap", token(sub="nbuser@ap", iss="ap.example.org"))
    report = credentials.discover_from(p, {"BEARER_TOKEN": token()})
    assert report.selected is not None and report.selected.kind == credentials.IDTOKEN
    assert report.selected.subject == "nbuser@ap"


def test_lax_file_mode_is_noted(tmp_path: Path) -> None:
    p = params(tmp_path)
    write(tmp_path / "tokens.d" / "ap", token(), mode=0o644)
    report = credentials.discover_from(p, {})
    assert any("expected 0600" in note and "chmod 600" in note for note in report.notes)


@pytest.mark.parametrize("garbage", ["not a token", "a.b", "eyJhbGciOiJub25lIn0.!!!.sig", ""])
def test_malformed_token_is_described_not_echoed(tmp_path: Path, garbage: str) -> None:
    path = tmp_path / "bt"
    path.write_text(garbage + "\n")
    path.chmod(0o600)
    report = credentials.discover_from(params(tmp_path), {"BEARER_TOKEN_FILE": str(path)})
    cred = report.credentials[-1]
    assert cred.problem
    assert report.selected is None
    verdict = credentials_policy.assess(report, now=NOW)
    assert verdict.errors and "no usable credential" in verdict.errors[0]
    if garbage:
        assert garbage not in " ".join(verdict.errors) + (cred.problem or "")


def _verdict(tmp_path: Path, text: str, **kw: object) -> credentials_policy.Verdict:
    report = credentials.discover_from(params(tmp_path), {"BEARER_TOKEN": text})
    return credentials_policy.assess(report, now=NOW, **kw)  # type: ignore[arg-type]


def test_valid_token_passes(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, token())
    assert not verdict.errors and not verdict.warnings


def test_expired_token_is_refused_with_how_to_renew(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, token(exp=int(NOW) - 600))
    assert "expired 10 min ago" in verdict.errors[0]
    assert "htgettoken" in verdict.fix
    with pytest.raises(CredentialsError) as info:
        credentials_policy.enforce(verdict)
    assert info.value.hint and "condor_nb auth status" in info.value.hint


def test_missing_write_scope_is_refused(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, token(scope="condor:/READ"))
    assert "expected the scope condor:/WRITE, the token has condor:/READ" in verdict.errors[0]


def test_token_for_another_audience_is_refused(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, token(aud="https://other.example.org"))
    assert "is for another audience" in verdict.errors[0]
    assert "condor://ap.example.org:9618" in verdict.errors[0]


def test_the_audience_setting_is_one_more_accepted_audience(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condor_nb.condor import bindings, credential_in_use
    from condor_nb.settings import load_settings

    # The client configuration a token-only access point gives (no bindings needed).
    monkeypatch.setattr(bindings, "client_params", lambda settings, names: params(tmp_path))
    aud = "https://ap.example.org/condor"
    environ = {"CONDOR_NB_TOKEN_AUDIENCE": aud, "CONDOR_NB_HOME": str(tmp_path / "h")}
    settings = load_settings(environ=environ)
    assert settings.token_audience == aud
    presented = {"BEARER_TOKEN": token(aud=aud)}
    other = credential_in_use.discover(settings.replace(token_audience=None), presented)
    assert "is for another audience" in credentials_policy.assess(other, now=NOW).errors[0]
    report = credential_in_use.discover(settings, presented)
    assert report.audiences == (aud,)
    assert not credentials_policy.assess(report, now=NOW).errors


@pytest.mark.parametrize("aud", ["ANY", "https://wlcg.cern.ch/jwt/v1/any", None])
def test_any_audience_or_none_is_accepted(tmp_path: Path, aud: str | None) -> None:
    assert not _verdict(tmp_path, token(aud=aud)).errors


def test_token_ending_before_the_wall_time_is_warned(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, token(), wall_time=4 * 3600)
    assert not verdict.errors
    assert "before the job's wall time of 4.0 h" in verdict.warnings[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        credentials_policy.enforce(verdict)
    assert caught and issubclass(caught[0].category, credentials_policy.CredentialWarning)


def test_no_token_with_other_methods_is_not_refused(tmp_path: Path) -> None:
    p = params(tmp_path, SEC_CLIENT_AUTHENTICATION_METHODS="FS, IDTOKENS")
    report = credentials.discover_from(p, {})
    assert not credentials_policy.assess(report, now=NOW).errors


def test_credential_repr_holds_no_token(tmp_path: Path) -> None:
    text = token()
    report = credentials.discover_from(params(tmp_path), {"BEARER_TOKEN": text})
    assert text.rsplit(".", 1)[-1] not in repr(report)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _odd_tokens() -> list[str]:
    """Tokens a plain reading must either read as PyJWT does or leave to PyJWT."""
    good = token()
    head, body, sig = good.split(".")
    bad_kid = _b64(b'{"alg": "ES256", "kid": 5}')
    not_utf8 = _b64(bytes([0xFF, 0xFE]))
    crit = _b64(b'{"alg": "none", "crit": ["b64"], "b64": false}')
    return [
        good,
        jwt.encode({"sub": "x"}, KEY, algorithm="ES256", headers={"kid": "POOL"}),  # IDTOKEN-like
        f"{bad_kid}.{body}.{sig}",  # a kid that is not a string
        f"{head}.{body}=.{sig}",  # padding: PyJWT's rules
        f"{head}.{body}.{sig}==",
        f"{head}.{body[:-1]}.{sig}",  # truncated claims
        f"{head}.{_b64(b'[1, 2]')}.{sig}",  # claims not an object
        f"{_b64(b'[]')}.{body}.{sig}",  # header not an object
        f"{head}.{_b64(b'not json')}.{sig}",
        f"{head}.{not_utf8}.{sig}",
        f"{crit}.{body}.{sig}",  # a critical header PyJWT checks
        f"{head}.{body}.",  # no signature: still readable claims
        f"{head}.{body}.a",  # an impossible base64 length
        f"{head}.{body}.s!g",
    ]


@pytest.mark.parametrize("text", _odd_tokens())
def test_claims_are_read_as_pyjwt_reads_them(text: str) -> None:
    """The plain RFC 7519 §7.2 reading (no cryptography import) never disagrees with
    PyJWT: it reads the same claims, or leaves the token to PyJWT and its error."""
    plain = credentials.plain_claims(text)
    try:
        theirs: object = jwt.decode(text, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        theirs = exc
    if plain is not None:
        assert plain == theirs
    cred = credentials.decode(text, kind=credentials.SCITOKEN, source="test", location="here")
    if isinstance(theirs, Exception):
        assert cred.problem == f"cannot decode the token's claims: {theirs}"
    else:
        assert cred.problem is None and cred.subject == theirs.get("sub")  # type: ignore[attr-defined]


def test_a_plain_token_is_read_without_importing_cryptography(tmp_path: Path) -> None:
    """The first submit of a process does not pay for PyJWT and cryptography (~0.15 s)."""
    import subprocess
    import sys

    path = write(tmp_path / "bt", token())
    code = (
        "import sys\n"
        "from condor_nb.credentials import discover as d\n"
        f"r = d.discover_from({{'SEC_TOKEN_DIRECTORY': {str(tmp_path / 'none')!r}}},"
        f" {{'BEARER_TOKEN_FILE': {str(path)!r}}})\n"
        "assert r.selected is not None and r.selected.subject == 'alice', r\n"
        "print(sorted(m for m in ('jwt', 'cryptography', 'scitokens') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_htcondor_idtokens_are_read_directly() -> None:
    """An IDTOKEN as condor_token_create writes it (a kid header) takes the direct way."""
    text = jwt.encode({"sub": "nbuser@pool", "iss": "pool"}, KEY, algorithm="ES256",
                      headers={"kid": "POOL"})  # fmt: skip
    assert credentials.plain_claims(text) == {"sub": "nbuser@pool", "iss": "pool"}
