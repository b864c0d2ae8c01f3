"""Make the personal pool's schedd accept SciTokens from given issuers (and forget them).

What an access point admin does for a token issuer, done inside the root: the issuer's
CA joins the root's trust store (the schedd fetches the issuer's keys over HTTPS), a
drop-in configuration names the accepted audiences and an identity map file
(``issuer,subject`` -> local user), then ``condor_reconfig``. No daemon restarts, and
IDTOKENS keep working for every other client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from condor_nb.pool import procs
from condor_nb.pool.config import (
    JOB_USER,
    MAPFILE_IN_ROOT,
    SCITOKENS_CONFIG_IN_ROOT,
    render_mapfile,
    render_scitokens_client_config,
    render_scitokens_config,
    write_if_changed,
)
from condor_nb.pool.lifecycle import require_root
from condor_nb.pool.paths import PoolPaths, pool_lock, pool_paths
from condor_nb.pool.runtime import load_runtime

#: The CA HTCondor generated for the pool (signs the schedd's host certificate).
POOL_CA_IN_ROOT = "etc/condor/trust_domain_ca.pem"
#: Where an extra CA goes inside the root (Debian's update-ca-certificates reads it).
CA_IN_ROOT = "usr/local/share/ca-certificates/condor-nb-issuers.crt"


@dataclass(frozen=True)
class TrustedIssuer:
    """A token issuer the schedd trusts, and whom its tokens map to."""

    issuer: str  # https://... (the "iss" claim)
    subject: str  # the "sub" claim to accept
    user: str = JOB_USER  # the local account the token maps to
    ca_pem: str | None = None  # the CA of the issuer's HTTPS server, if not a public one


def default_audiences(port: int) -> list[str]:
    """Audiences the pool accepts: the WLCG form for its address, and its bare address."""
    return [f"condor://127.0.0.1:{port}", f"127.0.0.1:{port}"]


def _reconfig(paths: PoolPaths) -> None:
    procs.run_in_root(paths.root, ["condor_reconfig"], timeout=60)


def _update_ca_store(paths: PoolPaths, pems: list[str]) -> None:
    ca_file = paths.root / CA_IN_ROOT
    if pems:
        write_if_changed(ca_file, "".join(p if p.endswith("\n") else p + "\n" for p in pems))
    else:
        ca_file.unlink(missing_ok=True)
    procs.run_in_root(paths.root, ["update-ca-certificates", "--fresh"], timeout=120)


def trust_issuers(
    issuers: Sequence[TrustedIssuer], *, audiences: Sequence[str] | None = None
) -> Path:
    """Accept tokens of ``issuers`` from now on; returns the drop-in configuration file."""
    require_root()

    paths = pool_paths()
    state = load_runtime(paths)
    port = state.port if state else 9618
    with pool_lock(paths):
        _update_ca_store(paths, [i.ca_pem for i in issuers if i.ca_pem])
        mappings = [(i.issuer, i.subject, i.user) for i in issuers]
        write_if_changed(paths.root / MAPFILE_IN_ROOT, render_mapfile(mappings))
        config = paths.root / SCITOKENS_CONFIG_IN_ROOT
        wanted = list(audiences) if audiences else default_audiences(port)
        write_if_changed(config, render_scitokens_config(wanted))
        _reconfig(paths)
    return config


def forget_issuers() -> None:
    """Undo :func:`trust_issuers`: the pool accepts IDTOKENS (and FS) only, as before."""
    require_root()
    paths = pool_paths()
    with pool_lock(paths):
        (paths.root / SCITOKENS_CONFIG_IN_ROOT).unlink(missing_ok=True)
        (paths.root / MAPFILE_IN_ROOT).unlink(missing_ok=True)
        if (paths.root / CA_IN_ROOT).exists():
            _update_ca_store(paths, [])
        _reconfig(paths)


def write_client_config(folder: Path, token_file: Path) -> Path:
    """A client configuration in ``folder`` that presents the SciToken in ``token_file``."""

    paths = pool_paths()
    state = load_runtime(paths)
    port = state.port if state else 9618
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "pool_ca.pem"
    ca_file.write_bytes((paths.root / POOL_CA_IN_ROOT).read_bytes())
    config = folder / "condor_config"
    config.write_text(render_scitokens_client_config(port, ca_file, token_file), encoding="utf-8")
    return config
