"""`condor_nb pool start|stop|status|env|add-user`: the personal HTCondor pool on this machine."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

import click

from condor_nb import pool as personal
from condor_nb.errors import CondorNbError
from condor_nb.pool import access, pool_paths
from condor_nb.pool.tools import tools_dir
from condor_nb.pool.users import add_user as add

if TYPE_CHECKING:
    from condor_nb.pool.users import PoolUser


@click.group()
def pool() -> None:
    """A real one-machine HTCondor pool (Debian's minicondor in its own root folder).

    condor_nb talks to it exactly as to a remote access point: IDTOKENS,
    remote submission with spooling, no shared filesystem (unless folders are
    given with --share). With no other pool configured, condor_nb uses it.
    """


@pool.command()
@click.option("--port", type=int, help="Port on 127.0.0.1 (default 9618).")
@click.option("--cpus", type=int, help="CPUs the slot advertises (default 4).")
@click.option("--memory-mb", type=int, help="Memory the slot advertises.")
@click.option(
    "--mount",
    "mounts",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Host folder to show read-only to jobs at the same path (CVMFS-style).",
)
@click.option(
    "--share",
    "shares",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Host folder the pool sees read-write at the same path (a shared filesystem, "
    "as a campus /home on NFS): put CONDOR_NB_HOME there and set shared_filesystem.",
)
def start(
    port: int | None,
    cpus: int | None,
    memory_mb: int | None,
    mounts: tuple[str, ...],
    shares: tuple[str, ...],
) -> None:
    """Build the pool the first time (about a minute), then start it (seconds)."""

    def progress(line: str) -> None:
        click.echo(line, err=True)

    info = personal.start(port=port, cpus=cpus, memory_mb=memory_mb, mounts=mounts,
                          shares=shares, progress=progress)  # fmt: skip
    click.echo(f"pool running on {info.collector} as {info.identity} ({info.seconds:.1f} s)")
    click.echo(f"client configuration: {info.client_config}")


@pool.command()
def stop() -> None:
    """Stop every daemon and unmount everything (the built root is kept)."""

    personal.stop()
    click.echo("pool stopped")


@pool.command()
def status() -> None:
    """Daemons, slots and jobs of the personal pool."""

    st = personal.status()
    click.echo(f"running: {'yes' if st.running else 'no'}   built: {'yes' if st.built else 'no'}"
               f"   port: {st.port or '-'}   folder: {st.pool_dir}")  # fmt: skip
    daemons = ", ".join(f"{name} ({pid})" for name, pid in sorted(st.daemons.items())) or "none"
    click.echo(f"daemons: {daemons}")
    for slot in st.slots:
        click.echo(f"slot: {slot.name} {slot.state}/{slot.activity} "
                   f"{slot.cpus} CPUs {slot.memory_mb} MB")  # fmt: skip
    jobs = ", ".join(f"{n} {state}" for state, n in sorted(st.jobs.items())) or "none"
    click.echo(f"jobs: {jobs}")
    for mount in st.mounts:
        click.echo(f"mounted for jobs: {mount}")
    for share in st.shares:
        click.echo(f"shared with the pool (read-write): {share}")
    for problem in st.problems:
        click.echo(f"problem: {problem}", err=True)
    if not st.running:
        raise CondorNbError("the personal pool is not running", hint="condor_nb pool start")


@pool.command()
def env() -> None:
    """Print `export` lines for a shell: eval "$(condor_nb pool env)"."""
    import os

    for key, value in personal.client_env().items():
        if key != "PATH":
            click.echo(f"export {key}={shlex.quote(value)}")
    # `python` and `condor_nb` are this environment's; HTCondor's tools are the host's
    # own when it has them, else the pool's (last on PATH).
    here = shlex.quote(os.path.dirname(os.path.abspath(sys.executable)))
    tools = shlex.quote(str(tools_dir(personal.pool_paths())))
    click.echo(f'export PATH={here}:"$PATH":{tools}')


@pool.command("add-user")
@click.argument("name")
def add_user(name: str) -> None:
    """Add user NAME to the pool (an account, a token, a client configuration).

    For trying what a shared access point does: run a shell, a test or a Jupyter
    server with the printed variables and it submits as NAME, whose jobs the
    schedd keeps apart from everyone else's. When the machine has an account NAME
    (a JupyterHub user), it gets the token, and its own sessions use the pool.
    """

    user = add(name)
    if user.host_uid is not None:
        _host_user_lines(user)
        return
    click.echo(f"# pool user {user.identity}: use these in the shell that acts as {name}", err=True)
    # A registry and staging folder of their own, as a separate machine would have.
    home = str(user.condor_config.parent / "condor_nb-home")
    for key, value in {**user.env, "CONDOR_NB_HOME": home}.items():
        click.echo(f"export {key}={shlex.quote(value)}")


def _host_user_lines(user: PoolUser) -> None:
    """For the machine's account NAME: what its sessions need, and what would stop them."""

    base = pool_paths().base
    click.echo(
        f"# pool user {user.identity}: the machine's account {user.name} owns its token; "
        f"give {user.name}'s sessions (JupyterHub spawner, /etc/profile.d) this variable",
        err=True,
    )
    click.echo(f"export CONDOR_NB_POOL_DIR={shlex.quote(str(base))}")
    account = access.host_account(user.name)
    blocked = account and access.blocked_at(
        user.condor_config.parent, account.pw_uid, access.account_groups(account)
    )
    if blocked:
        click.echo(
            f"warning: {user.name} cannot reach {base}: {blocked} is not open to them. Keep "
            "the pool in a folder every user can traverse (CONDOR_NB_POOL_DIR=/srv/condor_nb/"
            f"pool before the first `condor_nb pool start`), or chmod o+x {blocked}",
            err=True,
        )
