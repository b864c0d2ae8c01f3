"""Pool settings (port, CPUs, memory) and the configuration files rendered from them.

Precedence: keyword argument > ``CONDOR_NB_POOL_*`` environment variable > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from condor_nb.errors import PoolError

PORT_ENV = "CONDOR_NB_POOL_PORT"
CPUS_ENV = "CONDOR_NB_POOL_CPUS"
MEMORY_ENV = "CONDOR_NB_POOL_MEMORY_MB"
MIRROR_ENV = "CONDOR_NB_POOL_MIRROR"

DEFAULT_PORT = 9618
#: More CPUs than this machine has, so that several notebook jobs run at once.
DEFAULT_CPUS = 4
#: Memory advertised per CPU when no memory is given (capped by half the host's RAM).
DEFAULT_MB_PER_CPU = 2048
DEFAULT_MIRROR = "http://deb.debian.org/debian"

#: The local user jobs run as; the client's token identity maps to it.
JOB_USER = "nbuser"


@dataclass(frozen=True)
class PoolSettings:
    port: int
    cpus: int
    memory_mb: int


def _int_setting(value: int | None, env: str, default: int, low: int, high: int) -> int:
    source = "argument"
    if value is None:
        raw = os.environ.get(env)
        if raw is None or raw.strip() == "":
            return default
        source = f"environment variable {env}"
        try:
            value = int(raw)
        except ValueError:
            raise PoolError(
                f"{source} must be an integer, got {raw!r}",
                hint=f"unset {env} or give a number between {low} and {high}",
            ) from None
    if not low <= value <= high:
        raise PoolError(
            f"{source} must be between {low} and {high}, got {value}",
            hint=f"use a value between {low} and {high}",
        )
    return value


def host_memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 4096


def resolve_settings(
    port: int | None = None, cpus: int | None = None, memory_mb: int | None = None
) -> PoolSettings:
    """Settings for this start: arguments, then environment, then defaults."""
    port = _int_setting(port, PORT_ENV, DEFAULT_PORT, 1024, 65535)
    cpus = _int_setting(cpus, CPUS_ENV, DEFAULT_CPUS, 1, 256)
    default_memory = max(512, min(cpus * DEFAULT_MB_PER_CPU, host_memory_mb() // 2))
    memory_mb = _int_setting(memory_mb, MEMORY_ENV, default_memory, 128, 1 << 24)
    return PoolSettings(port=port, cpus=cpus, memory_mb=memory_mb)


def mirror() -> str:
    return os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR


def render_pool_config(settings: PoolSettings) -> str:
    """The daemons' configuration, layered over Debian's ``00-minicondor``."""
    return f"""\
# Written by condor_nb.pool at every start; edits are overwritten.
# Collector and shared port on 127.0.0.1:{settings.port} (minicondor binds 127.0.0.1 only).
COLLECTOR_HOST = $(CONDOR_HOST):{settings.port}
SHARED_PORT_PORT = {settings.port}

# One partitionable slot, larger than the machine, so several jobs run at once.
NUM_CPUS = {settings.cpus}
MEMORY = {settings.memory_mb}
use FEATURE : PartitionableSlot

# The starter cannot unshare a mount namespace here (jobs fail with errno=22).
MOUNT_UNDER_SCRATCH =
USE_PID_NAMESPACES = False

# /proc/sys is the host's: never let the master retune the host's kernel.
ENABLE_KERNEL_TUNING = False
LINUX_KERNEL_TUNING_SCRIPT =

# A one-machine pool can poll fast. The *_MIN_INTERVAL floors (5 s by default) would
# otherwise hold negotiation cycles and schedd updates to one per 5 s.
NEGOTIATOR_INTERVAL = 2
NEGOTIATOR_MIN_INTERVAL = 1
NEGOTIATOR_CYCLE_DELAY = 2
SCHEDD_INTERVAL = 2
SCHEDD_MIN_INTERVAL = 1
STARTER_UPDATE_INTERVAL = 2
SHADOW_QUEUE_UPDATE_INTERVAL = 2
UPDATE_INTERVAL = 2
# Re-advertise the negotiator soon after a collector restart (default 300 s).
NEGOTIATOR_UPDATE_INTERVAL = 20
# A daemon that exits is started again after 1 + 2^n s rather than 9 + 2^n s.
MASTER_BACKOFF_CONSTANT = 1
"""


#: Where the root's schedd writes its address and its history (Debian's SPOOL).
SCHEDD_ADDRESS_IN_ROOT = "var/spool/condor/.schedd_address"
HISTORY_IN_ROOT = "var/spool/condor/history"


def render_client_config(port: int, token_dir: Path, root: Path) -> str:
    """What a client outside the root needs: the collector, the schedd, IDTOKENS, its token."""
    return f"""\
# Written by condor_nb.pool: a client of the personal pool, as of a remote access point.
COLLECTOR_HOST = 127.0.0.1:{port}
SEC_CLIENT_AUTHENTICATION_METHODS = IDTOKENS
# A non-root client reads SEC_TOKEN_DIRECTORY, a root client SEC_TOKEN_SYSTEM_DIRECTORY.
SEC_TOKEN_DIRECTORY = {token_dir}
SEC_TOKEN_SYSTEM_DIRECTORY = {token_dir}
# "The local schedd" (condor_q, htcondor2.Schedd() with no argument) is the root's: its
# address file, rewritten by the schedd at every start. A root client reads the SUPER
# file, which must name the ordinary address too (the super port admits local root only).
SCHEDD_ADDRESS_FILE = {root / SCHEDD_ADDRESS_IN_ROOT}
SCHEDD_SUPER_ADDRESS_FILE = $(SCHEDD_ADDRESS_FILE)
# condor_history reads the schedd's history file, as it does on an access point.
HISTORY = {root / HISTORY_IN_ROOT}
"""


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` atomically unless the file already holds it; True if written."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


#: Drop-in configuration (inside the root) that makes the schedd accept SciTokens.
SCITOKENS_CONFIG_IN_ROOT = "etc/condor/config.d/60-condor-nb-scitokens"
#: The identity map file it names (issuer,subject -> local user).
MAPFILE_IN_ROOT = "etc/condor/condor_nb.mapfile"


def render_scitokens_config(audiences: list[str]) -> str:
    """Daemon settings that accept SciTokens next to IDTOKENS (IDTOKENS stay first)."""
    return f"""\
# Written by condor_nb.pool.issuers: accept SciTokens from the issuers in the map file.
# SCITOKENS is already in the default method list (after IDTOKENS), so every
# existing client keeps authenticating exactly as before.
# A token's "aud" claim must name one of these (WLCG: condor://HOST:PORT).
SCITOKENS_SERVER_AUDIENCE = {" ".join(audiences)}
# issuer,subject -> local user; an unmapped token is refused.
CERTIFICATE_MAPFILE = /{MAPFILE_IN_ROOT}
# SciTokens travel inside a TLS session: the schedd needs a host certificate. These
# are the ones HTCondor generated for the pool's trust domain (Debian's default names
# a snakeoil certificate the root does not have); clients trust trust_domain_ca.pem.
AUTH_SSL_SERVER_CERTFILE = $(ETC)/hostcert.pem
AUTH_SSL_SERVER_KEYFILE = $(ETC)/hostkey.pem
"""


def render_mapfile(mappings: list[tuple[str, str, str]]) -> str:
    """One ``SCITOKENS "issuer,subject" user`` line (an exact match) per mapping."""
    lines = ["# Written by condor_nb.pool.issuers: SciTokens issuer,subject -> local user."]
    for issuer, subject, user in mappings:
        lines.append(f'SCITOKENS "{issuer},{subject}" {user}')
    return "\n".join(lines) + "\n"


def render_scitokens_client_config(port: int, ca_file: Path, token_file: Path) -> str:
    """A client of the pool that authenticates with a SciToken only (no IDTOKEN)."""
    return f"""\
# Written by condor_nb.pool.issuers: a SciTokens client of the personal pool.
COLLECTOR_HOST = 127.0.0.1:{port}
SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS
SCITOKENS_FILE = {token_file}
# The schedd's host certificate (the pool's own CA) protects the token in transit.
AUTH_SSL_CLIENT_CAFILE = {ca_file}
# That certificate names "localhost" while clients connect to 127.0.0.1.
SSL_SKIP_HOST_CHECK = true
"""
