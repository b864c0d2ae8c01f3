"""Which credential HTCondor will present, found the way HTCondor and OSG tools find it.

- IDTOKENS: every file of the token directories the client configuration names
  (``SEC_TOKEN_DIRECTORY``; a root client also reads ``SEC_TOKEN_SYSTEM_DIRECTORY``),
  one token per line.
- SciTokens / WLCG bearer tokens: ``SCITOKENS_FILE`` from the client configuration,
  then the WLCG discovery order: ``BEARER_TOKEN``, ``BEARER_TOKEN_FILE``,
  ``$XDG_RUNTIME_DIR/bt_u$UID``, ``/tmp/bt_u$UID`` (the first one found is the one).

Only a token's claims are read: the signature is the schedd's to check. A plainly
well-formed token's claims segment is read directly (RFC 7519 §7.2: base64url, then
JSON), which needs neither PyJWT nor ``cryptography`` (~0.15 s to import, on every
first submit); anything else goes through PyJWT, whose error the Credential reports.
A :class:`Credential` holds what a person needs to know (kind, where, issuer, subject,
expiry, scopes) and never the token itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IDTOKEN, SCITOKEN = "IDTOKEN", "SCITOKEN"
SCOPE_WRITE = "condor:/WRITE"
#: Client configuration knobs read through the bindings (condor/credential_in_use.py).
PARAMS = (
    "SEC_CLIENT_AUTHENTICATION_METHODS",
    "SEC_DEFAULT_AUTHENTICATION_METHODS",
    "SEC_TOKEN_DIRECTORY",
    "SEC_TOKEN_SYSTEM_DIRECTORY",
    "SCITOKENS_FILE",
    "COLLECTOR_HOST",
)
#: HTCondor's client default when no method list is configured.
DEFAULT_METHODS = ("FS", "IDTOKENS", "KERBEROS", "SCITOKENS", "SSL")
TOKEN_METHODS = {
    "IDTOKENS": IDTOKEN,
    "IDTOKEN": IDTOKEN,
    "SCITOKENS": SCITOKEN,
    "SCITOKEN": SCITOKEN,
}


@dataclass(frozen=True)
class Credential:
    """One token found on this machine, described without its secret."""

    kind: str  # IDTOKEN or SCITOKEN
    source: str  # how it was found: "SEC_TOKEN_DIRECTORY", "BEARER_TOKEN_FILE", ...
    location: str  # a file (and line), or "environment variable BEARER_TOKEN"
    issuer: str | None = None
    subject: str | None = None
    audiences: tuple[str, ...] = ()
    expires_at: float | None = None
    not_before: float | None = None
    scopes: tuple[str, ...] = ()
    fingerprint: str = ""  # sha256 prefix: tells tokens apart, reveals nothing
    problem: str | None = None  # why it cannot be used (unreadable, malformed...)
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def identity(self) -> str:
        return f"{self.subject or '?'} (issuer {self.issuer or '?'})"

    def seconds_left(self, now: float | None = None) -> float | None:
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class CredentialReport:
    """Everything discovery found, in the order HTCondor would try it."""

    methods: tuple[str, ...]  # the client's authentication methods, in order
    credentials: tuple[Credential, ...]
    selected: Credential | None  # the one HTCondor will present (first usable, by method)
    notes: tuple[str, ...] = ()  # things worth knowing (a lax file mode, a missing folder)
    token_dirs: tuple[Path, ...] = ()
    collector: str | None = None
    #: More audiences the access point accepts (the setting token_audience).
    audiences: tuple[str, ...] = ()

    @property
    def other_methods(self) -> tuple[str, ...]:
        """Configured methods that need no token (FS, SSL, KERBEROS...)."""
        return tuple(m for m in self.methods if m not in TOKEN_METHODS)


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def _scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    raw = claims.get("scope", claims.get("scp", ""))
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    return tuple(str(s) for s in items if s)


def _audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if aud is None:
        return ()
    return tuple(str(a) for a in aud) if isinstance(aud, list) else (str(aud),)


_LAST_TIME = 253402300799  # 9999-12-31 23:59:59 UTC: the last time a clock can show


def _number(value: Any) -> float | None:
    """A time claim as seconds since the epoch, or None when absent or not a plausible time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= _LAST_TIME else None


def _time_problem(claims: Mapping[str, Any]) -> str | None:
    """What is wrong with the token's ``exp`` / ``nbf`` claims, if anything."""
    for name, meaning in (("exp", "expiry"), ("nbf", "start")):
        value = claims.get(name)
        if value is not None and _number(value) is None:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            return (
                f"its '{name}' ({meaning}) claim is {shown}: expected seconds since 1970 "
                "before the year 10000 (the issuer wrote an impossible time)"
            )
    return None


#: A JWS compact serialization's segment, unpadded base64url (RFC 7515 §2).
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def _segment_json(segment: str) -> Any:
    """JSON of one unpadded base64url segment; ValueError when it is not that."""
    if len(segment) % 4 == 1 or not _SEGMENT.fullmatch(segment):
        raise ValueError("not unpadded base64url")
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def plain_claims(text: str) -> dict[str, Any] | None:
    """The claims of a plainly well-formed JWT, read as RFC 7519 §7.2 says (no library);
    None for anything else (padding, ``crit``/``b64`` headers, a ``kid`` not a string,
    not JSON objects): that is PyJWT's to read, and to explain.

    Whatever this accepts, ``jwt.decode(text, options={"verify_signature": False})``
    accepts too and returns the same claims (tests/unit/test_credentials.py checks it).
    """
    parts = text.split(".")
    if len(parts) != 3 or not _SEGMENT.fullmatch(parts[2]) or len(parts[2]) % 4 == 1:
        return None
    try:
        header, claims = _segment_json(parts[0]), _segment_json(parts[1])
    except (ValueError, binascii.Error, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    if "crit" in header or "b64" in header or not isinstance(header.get("kid", ""), str):
        return None  # headers PyJWT checks (RFC 7515 §4.1.4 and §4.1.11, RFC 7797)
    return claims


def _library_claims(text: str) -> dict[str, Any] | str:
    """PyJWT's reading of the claims, or why it cannot read them."""
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            text, options={"verify_signature": False, "verify_aud": False}
        )
    except jwt.PyJWTError as exc:
        return f"cannot decode the token's claims: {exc}"
    return claims


@functools.lru_cache(maxsize=64)
def decode(token: str, *, kind: str, source: str, location: str) -> Credential:
    """Read a token's claims (no signature check: that is the schedd's job).

    Pure (expiry is judged later, against the clock), so cached: every submit's
    preflight reads the same token files.

    A malformed token gives a Credential whose ``problem`` says what was expected;
    the token text itself never appears in it.
    """
    text = token.strip()
    mark = fingerprint(text)
    parts = text.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return Credential(
            kind,
            source,
            location,
            fingerprint=mark,
            problem=f"not a JSON Web Token: expected three base64url parts separated by "
            f"dots, got {len(parts)} part(s) of {len(text)} characters",
        )
    read = plain_claims(text)
    claims = read if read is not None else _library_claims(text)
    if isinstance(claims, str):
        return Credential(kind, source, location, fingerprint=mark, problem=claims)
    time_problem = _time_problem(claims)
    if time_problem is not None:
        return Credential(kind, source, location, fingerprint=mark, problem=time_problem)
    return Credential(
        kind,
        source,
        location,
        fingerprint=mark,
        issuer=str(claims["iss"]) if "iss" in claims else None,
        subject=str(claims["sub"]) if "sub" in claims else None,
        audiences=_audiences(claims),
        expires_at=_number(claims.get("exp")),
        not_before=_number(claims.get("nbf")),
        scopes=_scopes(claims),
        claims=claims,
    )


def _read_token_lines(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [(n, s.strip()) for n, s in enumerate(lines, 1) if s.strip() and not s.startswith("#")]


def _mode_note(path: Path) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return (
            f"{path} has mode {mode:04o}: a token file must be private "
            f"(expected 0600); fix with `chmod 600 {path}`"
        )
    return None


def _id_tokens(directory: Path, source: str, notes: list[str]) -> list[Credential]:
    found: list[Credential] = []
    if not directory.is_dir():
        notes.append(f"{source} {directory} does not exist")
        return found
    try:
        files = sorted(p for p in directory.iterdir() if p.is_file())
    except PermissionError:
        # Another user's token folder (an admin's): say so rather than fail.
        notes.append(
            f"{source} {directory} cannot be read by this user (uid {os.geteuid()}); "
            "it holds someone else's tokens: use a token of your own"
        )
        return found
    for path in files:
        if path.name.startswith("."):
            continue
        try:
            lines = _read_token_lines(path)
            note = _mode_note(path)
        except OSError as exc:
            found.append(Credential(IDTOKEN, source, str(path), problem=f"unreadable: {exc}"))
            continue
        if note:
            notes.append(note)
        if not lines:
            found.append(Credential(IDTOKEN, source, str(path), problem="the file holds no token"))
        for number, line in lines:
            where = f"{path}:{number}" if len(lines) > 1 else str(path)
            found.append(decode(line, kind=IDTOKEN, source=source, location=where))
    return found


def _bearer_candidates(
    environ: Mapping[str, str], scitokens_file: str | None
) -> list[tuple[str, str | None, Path | None]]:
    """(source, inline token, file) in HTCondor + WLCG order."""
    uid = os.getuid()
    out: list[tuple[str, str | None, Path | None]] = []
    if scitokens_file:
        out.append(("SCITOKENS_FILE", None, Path(scitokens_file).expanduser()))
    if environ.get("BEARER_TOKEN", "").strip():
        out.append(("BEARER_TOKEN", environ["BEARER_TOKEN"], None))
    if environ.get("BEARER_TOKEN_FILE"):
        out.append(("BEARER_TOKEN_FILE", None, Path(environ["BEARER_TOKEN_FILE"])))
    if environ.get("XDG_RUNTIME_DIR"):
        out.append(
            ("$XDG_RUNTIME_DIR/bt_u$UID", None, Path(environ["XDG_RUNTIME_DIR"]) / f"bt_u{uid}")
        )
    out.append(("/tmp/bt_u$UID", None, Path(f"/tmp/bt_u{uid}")))
    return out


def _bearer_token(
    environ: Mapping[str, str], scitokens_file: str | None, notes: list[str]
) -> Credential | None:
    """The first bearer token in discovery order (later places are not looked at)."""
    for source, inline, path in _bearer_candidates(environ, scitokens_file):
        if inline is not None:
            return decode(inline, kind=SCITOKEN, source=source, location="environment variable")
        assert path is not None
        if not path.exists():
            if source in ("SCITOKENS_FILE", "BEARER_TOKEN_FILE"):
                notes.append(f"{source} names {path}, which does not exist")
            continue
        try:
            lines = _read_token_lines(path)
            note = _mode_note(path)
        except OSError as exc:
            return Credential(SCITOKEN, source, str(path), problem=f"unreadable: {exc}")
        if note:
            notes.append(note)
        if not lines:
            return Credential(SCITOKEN, source, str(path), problem="the file holds no token")
        return decode(lines[0][1], kind=SCITOKEN, source=source, location=str(path))
    return None


def _methods(params: Mapping[str, str | None]) -> tuple[str, ...]:
    raw = params.get("SEC_CLIENT_AUTHENTICATION_METHODS") or params.get(
        "SEC_DEFAULT_AUTHENTICATION_METHODS"
    )
    if not raw:
        return DEFAULT_METHODS
    return tuple(m.strip().upper() for m in raw.replace(",", " ").split() if m.strip())


def _token_dirs(params: Mapping[str, str | None]) -> list[tuple[str, Path]]:
    dirs: list[tuple[str, Path]] = []
    user_dir = params.get("SEC_TOKEN_DIRECTORY") or "~/.condor/tokens.d"
    dirs.append(("SEC_TOKEN_DIRECTORY", Path(user_dir).expanduser()))
    if os.geteuid() == 0:
        system_dir = params.get("SEC_TOKEN_SYSTEM_DIRECTORY") or "/etc/condor/tokens.d"
        dirs.append(("SEC_TOKEN_SYSTEM_DIRECTORY", Path(system_dir).expanduser()))
    unique: list[tuple[str, Path]] = []
    for source, path in dirs:
        if all(path != seen for _, seen in unique):
            unique.append((source, path))
    return unique


def select(methods: Sequence[str], credentials: Sequence[Credential]) -> Credential | None:
    """The credential HTCondor presents: the first decodable one of the first token method."""
    for method in methods:
        kind = TOKEN_METHODS.get(method)
        for cred in credentials:
            if kind and cred.kind == kind and cred.problem is None:
                return cred
    return None


def discover_from(
    params: Mapping[str, str | None], environ: Mapping[str, str] | None = None
) -> CredentialReport:
    """Discovery from given configuration values (pure apart from reading token files)."""
    env = os.environ if environ is None else environ
    methods = _methods(params)
    notes: list[str] = []
    found: list[Credential] = []
    dirs = _token_dirs(params)
    for source, directory in dirs:
        found.extend(_id_tokens(directory, source, notes))
    bearer = _bearer_token(env, params.get("SCITOKENS_FILE"), notes)
    if bearer is not None:
        found.append(bearer)
    return CredentialReport(
        methods=methods,
        credentials=tuple(found),
        selected=select(methods, found),
        notes=tuple(notes),
        token_dirs=tuple(path for _, path in dirs),
        collector=params.get("COLLECTOR_HOST"),
    )
