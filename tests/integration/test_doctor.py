"""`condor_nb doctor` against the real pool: healthy, then each thing broken in turn."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

pytestmark = pytest.mark.pool


def test_healthy_pool_with_worker_probe(cnb: Any) -> None:
    proc = cnb.run("doctor", "--probe", "--timeout", "240")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("configuration", "schedd", "authentication", "token", "profile", "image"):
        assert f"[  ok] {name}" in proc.stdout
    assert "worker probe" in proc.stdout and "imports ipykernel" in proc.stdout


def test_missing_client_configuration_says_how_to_fix(cnb: Any) -> None:
    cnb.env["CONDOR_NB_CONDOR_CONFIG"] = "/nonexistent/condor_config"
    proc = cnb.run("doctor")
    assert proc.returncode == 1
    assert "[FAIL] configuration" in proc.stdout and "fix: condor_nb pool start" in proc.stdout


def test_unknown_profile_and_missing_image(cnb: Any) -> None:
    cnb.env["CONDOR_NB_IMAGE"] = "/nonexistent/image.sif"
    proc = cnb.run("doctor", "--profile", "nosuchsite")
    assert proc.returncode == 1
    assert "[FAIL] profile" in proc.stdout and "fix: condor_nb profiles" in proc.stdout
    assert "[FAIL] image" in proc.stdout and "expected an existing image" in proc.stdout


def test_expired_token_fails_with_the_renewal_command(cnb: Any, tmp_path: Path) -> None:
    from condor_nb import pool

    key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    claims = {"iss": "https://issuer.example.org", "sub": "alice", "exp": now - 60,
              "scope": "condor:/READ condor:/WRITE"}  # fmt: skip
    token_file = tmp_path / "bt"
    token_file.write_text(jwt.encode(claims, key, algorithm="ES256"))
    token_file.chmod(0o600)
    base = Path(pool.client_env()["CONDOR_CONFIG"]).read_text()
    config = tmp_path / "condor_config"
    config.write_text(base + f"SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS\n"
                      f"SCITOKENS_FILE = {token_file}\n")  # fmt: skip
    cnb.env["CONDOR_NB_CONDOR_CONFIG"] = str(config)
    proc = cnb.run("doctor")
    assert proc.returncode == 1
    assert "[FAIL] token" in proc.stdout, proc.stdout
    assert re.search(r"expired \d+ s ago", proc.stdout)
    assert "fix: get a fresh bearer token" in proc.stdout


# -- docs/admins.md: every snippet exercised against the personal pool -----------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "admins.md"


def doc_blocks(kind: str) -> list[str]:
    """The fenced blocks of docs/admins.md whose info string is ``kind``."""
    return re.findall(rf"```{re.escape(kind)}\n(.*?)```", DOC.read_text(), flags=re.S)


def assignments(block: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in block.splitlines() if "=" in line and not
             line.lstrip().startswith("#"))  # fmt: skip
    return {k.strip(): v.strip() for k, v in pairs}


def test_doc_config_blocks_parse_to_the_written_values(pool_env: dict[str, str]) -> None:
    if pool_env:
        pytest.skip("reads configuration inside the personal pool's root")
    from condor_nb import pool

    blocks = doc_blocks("condor-config")
    assert len(blocks) >= 3
    root = pool.pool_paths().root
    for number, block in enumerate(blocks):
        text = block.replace("ap.example.edu", "127.0.0.1")
        config = root / f"tmp/condor_nb_doc_check_{number}"
        config.write_text("include : /etc/condor/condor_config\n" + text)
        try:
            for key, value in assignments(text).items():
                args = [
                    "env",
                    f"CONDOR_CONFIG=/{config.relative_to(root)}",
                    "condor_config_val",
                    key,
                ]
                got = pool.run_in_root(args).stdout.strip()
                assert got.lower() == value.lower(), (key, got, value)
        finally:
            config.unlink()


def test_doc_mapfile_line_is_what_the_pool_uses() -> None:
    from condor_nb.pool.config import render_mapfile

    (block,) = doc_blocks("condor-mapfile")
    rendered = render_mapfile([("https://issuer.example.edu", "alice", "alice")])
    assert block.strip() in rendered.splitlines()


def test_doc_token_command_and_client_config_work(cnb: Any, tmp_path: Path) -> None:
    from condor_nb import pool
    from condor_nb.credentials import discover as credentials

    if cnb.env.get("CONDOR_NB_CONDOR_CONFIG"):
        pytest.skip("mints a token inside the personal pool's root")
    (command,) = [b for b in doc_blocks("sh") if "condor_token_create" in b]
    identity = pool.identity()
    args = command.replace("alice@ap.example.edu", identity).split()
    minted = pool.run_in_root(args).stdout.strip()
    cred = credentials.decode(minted, kind="IDTOKEN", source="doc", location="doc")
    assert cred.subject == identity
    assert set(cred.scopes) == {"condor:/READ", "condor:/WRITE"}
    assert cred.expires_at is not None and 86000 < cred.expires_at - time.time() <= 86400
    tokens = tmp_path / "tokens.d"
    tokens.mkdir()
    (tokens / "ap").write_text(minted + "\n")
    (tokens / "ap").chmod(0o600)
    client = next(b for b in doc_blocks("condor-config") if "SEC_CLIENT_AUTH" in b)
    port = pool.client_env()["_CONDOR_COLLECTOR_HOST"].rsplit(":", 1)[1]
    text = client.replace("ap.example.edu:9618", f"127.0.0.1:{port}")
    text = text.replace("/etc/condor_nb/tokens.d", str(tokens))
    config = tmp_path / "condor_config"
    config.write_text(text)
    cnb.env["CONDOR_NB_CONDOR_CONFIG"] = str(config)
    proc = cnb.run("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "condor:/READ condor:/WRITE" in proc.stdout and str(tokens / "ap") in proc.stdout
    nb = cnb.notebook("d.ipynb", ["print('doc token')"])
    assert cnb.run("submit", str(nb), "--wait").returncode == 0


def test_doc_site_profile_renders(cnb: Any, tmp_path: Path) -> None:
    (block,) = doc_blocks("submit-profile")
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "mycampus.sub").write_text(block)
    cnb.env["CONDOR_NB_PROFILES_PATH"] = str(folder)
    listed = cnb.run("profiles", check=True).stdout
    assert "mycampus" in listed and "Example University" in listed
    nb = cnb.notebook("p.ipynb", ["print(1)"])
    rendered = cnb.run("render", str(nb), "--profile", "mycampus", check=True).stdout
    assert "accounting_group = physics" in rendered
