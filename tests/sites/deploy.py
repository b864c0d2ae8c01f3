"""A site-like HTCondor pool for tests: separate hosts, set up as docs/admins.md says.

Test infrastructure, not a product command. Each host of the site has

- its own network namespace and address on a private bridge (10.77.0.0/24, only
  inside these namespaces: nothing else is contacted), and its own host name
  (a UTS namespace);
- its own filesystem root: an overlay whose read-only lower layer is the personal
  pool's built Debian 13 root, and whose upper layer is the host's own (so a
  package removed on one execute node is still there on the others);
- its own daemons, started as an admin would: ``chroot ROOT condor_master``
  inside the host's namespaces.

The hosts: ``cm`` (collector + negotiator), ``ap`` (schedd, the access point),
``ep1`` (execute point with papermill that advertises OSPool glidein attributes),
``ep2`` (execute point with Python and ipykernel but without papermill and
nbconvert). The notebook host ``nb`` is a client only: it has no root of its own,
it runs the machine's own Python inside a private mount namespace whose ``/etc``
is a read-only overlay adding ``/etc/condor/condor_config`` and the user's token, so
the machine's real ``/etc`` is never touched.

Configuration comes from docs/admins.md (the ``condor-site-config`` and
``site-shell`` blocks): the test is the proof that the guide works. The only other
settings are what this sandbox needs (``SANDBOX_CONFIG``) and the OSPool-like
attributes of ``ep1`` (``OSPOOL_EP_CONFIG``), which a glidein would set.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_nb.pool import mounts
from condor_nb.pool.paths import pool_paths
from condor_nb.pool.procs import ROOT_ENV, root_processes

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "admins.md"

SUBNET = "10.77.0"
DOMAIN = "example.edu"
USER = "alice"
#: Same uid on every host, as a site's directory service would give.
USER_UID = 2001

#: What this sandbox strictly needs (not an admin's choice; see docs/admins.md, 9.6):
SANDBOX_CONFIG = """\
# The starter cannot unshare a mount namespace here (jobs fail with errno=22).
MOUNT_UNDER_SCRATCH =
USE_PID_NAMESPACES = False
# /proc/sys is partly the machine's: the master must not retune the machine's kernel.
ENABLE_KERNEL_TUNING = False
"""

#: What an OSPool glidein advertises (the attributes submit_templates/ospool.sub and
#: OSPool users' requirements look for), and what its startd detects when Apptainer
#: works: HasContainer and HasSandboxImage, which HTCondor adds to the requirements of
#: a job with a container_image. This node has no Apptainer: such a job matches here,
#: and its starter refuses to run it ("singularity does not appear to be configured"),
#: as on a misconfigured glidein.
OSPOOL_EP_CONFIG = """\
OSGVO_OS_STRING = "RHEL 9"
OSGVO_OS_NAME = "RHEL"
OSGVO_OS_VERSION = "9"
HAS_SINGULARITY = True
Microarch = "x86_64-v3"
OSG_GLIDEIN_VERSION = 2024
GLIDEIN_Site = "CNB_Test_Site"
GLIDEIN_ResourceName = "CNB_Test_Resource"
IS_GLIDEIN = True
HasContainer = True
HasSandboxImage = True
STARTD_ATTRS = $(STARTD_ATTRS) OSGVO_OS_STRING OSGVO_OS_NAME OSGVO_OS_VERSION \
    HAS_SINGULARITY Microarch OSG_GLIDEIN_VERSION GLIDEIN_Site GLIDEIN_ResourceName IS_GLIDEIN \
    HasContainer HasSandboxImage
"""

#: Packages ep2 lacks (removed with dpkg in its own upper layer).
EP2_REMOVED = ("python3-papermill", "python3-nbconvert")


def guide_blocks(kind: str) -> dict[str, str]:
    """docs/admins.md's fenced blocks ```KIND NAME``` by NAME."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.findall(rf"```{re.escape(kind)} ([\w-]+)\n(.*?)```", text, flags=re.S)
    return dict(found)


def guide_commands(name: str) -> list[str]:
    """The commands of the guide's ```site-shell NAME``` block (comments dropped)."""
    block = guide_blocks("site-shell")[name]
    return [ln.strip() for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]


class SiteError(RuntimeError):
    pass


def _run(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SiteError(f"`{' '.join(args)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


@dataclass
class Host:
    name: str
    address: str
    netns: str
    folder: Path
    roles: tuple[str, ...]  # the guide's blocks this host gets, in order

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{DOMAIN}"

    @property
    def root(self) -> Path:
        return self.folder / "root"


@dataclass
class Site:
    base: Path
    tag: str
    hosts: dict[str, Host] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    # -- naming ---------------------------------------------------------------------

    @property
    def bridge_netns(self) -> str:
        return f"{self.tag}-br"

    @property
    def client_netns(self) -> str:
        return f"{self.tag}-nb"

    @property
    def client_dir(self) -> Path:
        return self.base / "nb"

    @property
    def client_address(self) -> str:
        return f"{SUBNET}.100"

    def namespaces(self) -> list[str]:
        return [self.bridge_netns, self.client_netns, *(h.netns for h in self.hosts.values())]

    # -- running things ---------------------------------------------------------------

    def run(
        self,
        host: str,
        args: Sequence[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """``args`` on ``host``, as root: its network, its host name, its root."""
        h = self.hosts[host]
        command = [
            "ip", "netns", "exec", h.netns, "unshare", "--uts", "sh", "-c",
            'hostname "$1" && shift && exec chroot "$@"', "sh", h.fqdn, str(h.root), *args,
        ]  # fmt: skip
        result = subprocess.run(
            command, env=ROOT_ENV, input=input_text, capture_output=True, text=True,
            timeout=timeout, check=False,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise SiteError(
                f"`{' '.join(args)}` on {host} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        return result

    def client_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The notebook host's environment: nothing that names an HTCondor configuration."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "CONDOR_CONFIG" and not k.startswith("_CONDOR_")
            and not k.startswith("CONDOR_NB_CONDOR_CONFIG")
        }  # fmt: skip
        env.update(extra or {})
        return env

    def client_run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 300,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """``args`` on the notebook host: its network namespace, and a private mount
        namespace in which /etc is an overlay holding the site's client configuration.
        """
        result = subprocess.run(
            self.client_command(args), env=self.client_env(env), cwd=cwd, capture_output=True,
            text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise SiteError(
                f"`{' '.join(args)}` on the notebook host failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def client_command(self, args: Sequence[str]) -> list[str]:
        """The command line that runs ``args`` on the notebook host (see client_run)."""
        # Read-only, two lower layers and no upper: many commands run at once on the
        # notebook host, each mounting its own overlay, and overlayfs fails a mount
        # whose upper or work directory another mount is using (seen in CI: "wrong fs
        # type"). Lower layers can be shared freely.
        mount = f"mount -t overlay cnbsite_etc -o ro,lowerdir={self.client_dir}/etc-upper:/etc /etc"
        return [
            "ip", "netns", "exec", self.client_netns,
            "unshare", "--mount", "--propagation", "private", "--uts", "sh", "-c",
            f'{mount} && hostname nb.{DOMAIN} && exec "$@"', "sh", *args,
        ]  # fmt: skip

    def client_popen(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        **popen: Any,
    ) -> subprocess.Popen[Any]:
        """A long-running process on the notebook host (a Jupyter server, a dask client).

        The caller stops it; ``start_new_session=True`` lets it kill the whole group.
        """
        return subprocess.Popen(
            self.client_command(args), env=self.client_env(env), cwd=cwd, **popen
        )

    def client_python(self, code: str, **kw: object) -> subprocess.CompletedProcess[str]:
        import sys

        return self.client_run([sys.executable, "-c", code], **kw)  # type: ignore[arg-type]

    def client_tool(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """An HTCondor command-line tool on the notebook host.

        The machine has no HTCondor tools (the PyPI wheel has only the bindings): the
        pool root's build runs through the root's own loader and libraries, reading
        the notebook host's /etc/condor/condor_config like any installed tool.
        """
        root = pool_paths().root
        libs = ":".join(
            f"{root}/{p}"
            for p in (
                "usr/lib",
                "usr/lib/x86_64-linux-gnu",
                "lib/x86_64-linux-gnu",
                "usr/lib/condor",
            )
        )
        loader = f"{root}/lib64/ld-linux-x86-64.so.2"
        return self.client_run(
            [loader, "--library-path", libs, f"{root}/usr/bin/{args[0]}", *args[1:]], env=env
        )

    def log(self, host: str, name: str) -> str:
        path = self.hosts[host].root / "var/log/condor" / name
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # -- building -------------------------------------------------------------------

    def _network(self) -> None:
        br = self.bridge_netns
        _run(["ip", "netns", "add", br])
        _run(["ip", "-n", br, "link", "set", "lo", "up"])
        _run(["ip", "-n", br, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", br, "link", "set", "br0", "up"])
        ends = [(h.netns, h.address, h.name) for h in self.hosts.values()]
        ends.append((self.client_netns, self.client_address, "nb"))
        for netns, address, name in ends:
            _run(["ip", "netns", "add", netns])
            _run(["ip", "-n", br, "link", "add", f"v-{name}", "type", "veth",
                  "peer", "name", "eth0", "netns", netns])  # fmt: skip
            _run(["ip", "-n", br, "link", "set", f"v-{name}", "master", "br0", "up"])
            _run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0"])
            _run(["ip", "-n", netns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", netns, "link", "set", "lo", "up"])

    def _hosts_file(self) -> str:
        lines = ["127.0.0.1 localhost"]
        for h in self.hosts.values():
            lines.append(f"{h.address} {h.fqdn} {h.name}")
        lines.append(f"{self.client_address} nb.{DOMAIN} nb")
        return "\n".join(lines) + "\n"

    def _mount_root(self, h: Host, lower: Path) -> None:
        for sub in ("upper", "work", "root"):
            (h.folder / sub).mkdir(parents=True)
        _forget_personal_pool(h.folder / "upper", lower)
        options = f"lowerdir={lower},upperdir={h.folder}/upper,workdir={h.folder}/work"
        _run(["mount", "-t", "overlay", "cnbsite_root", "-o", options, str(h.root)])
        mounts.mount_system(h.root)

    def _host_files(self, h: Host) -> None:
        """The host's name, the site's names, and the run folders systemd would make."""
        root = h.root
        (root / "etc/hosts").write_text(self._hosts_file(), encoding="utf-8")
        (root / "etc/hostname").write_text(h.fqdn + "\n", encoding="utf-8")
        # As systemd-tmpfiles would at boot: the daemons' run folders, owned by condor.
        passwd = (root / "etc/passwd").read_text(encoding="utf-8")
        ids = next(ln.split(":")[2:4] for ln in passwd.splitlines() if ln.startswith("condor:"))
        for folder in ("run/condor", "run/lock/condor"):
            (root / folder).mkdir(parents=True, exist_ok=True)
            os.chown(root / folder, int(ids[0]), int(ids[1]))
            (root / folder).chmod(0o775)

    def _install(self, h: Host) -> None:
        """The site installs the ``condor`` package, not the one-host ``minicondor``."""
        removed = ["minicondor"]
        if h.name == "ep2":
            removed += EP2_REMOVED
        self.run(h.name, ["dpkg", "--purge", *removed], timeout=300)
        if h.name != "cm":
            # The personal pool's root (the lower layer) may have its own USER, from
            # `pool add-user`, with another uid: the site's accounts are its own.
            self.run(h.name, ["sh", "-c", f"! id -u {USER} > /dev/null 2>&1 || userdel -rf {USER}"])
            self.run(h.name, ["useradd", "--uid", str(USER_UID), "--create-home",
                              "--shell", "/bin/bash", USER])  # fmt: skip

    def _configure(self, h: Host) -> None:
        blocks = guide_blocks("condor-site-config")
        config = self.hosts[h.name].root / "etc/condor/config.d"
        for number, role in enumerate(h.roles):
            (config / f"{10 + number * 10}-site-{role}").write_text(blocks[role], encoding="utf-8")
        (config / "90-sandbox").write_text(SANDBOX_CONFIG, encoding="utf-8")
        if h.name == "ep1":
            (config / "30-ospool-glidein").write_text(OSPOOL_EP_CONFIG, encoding="utf-8")

    def _credentials(self) -> None:
        """The guide's steps: the pool key on the CM, copied to the AP; daemon tokens."""
        for command in guide_commands("cm-key"):
            self.run("cm", ["sh", "-c", command])
        key = "etc/condor/passwords.d/POOL"
        for host in ("ap",):
            shutil.copy2(self.hosts["cm"].root / key, self.hosts[host].root / key)
        (daemon_token,) = guide_commands("daemon-token")
        token = self.run("cm", ["sh", "-c", daemon_token]).stdout.strip()
        if not token:
            raise SiteError("the guide's daemon token command printed nothing")
        for h in self.hosts.values():
            path = h.root / "etc/condor/tokens.d/condor"
            path.write_text(token + "\n", encoding="utf-8")
            path.chmod(0o600)

    def _client(self) -> None:
        """The notebook host: /etc/condor/condor_config and the user's token (section 3)."""
        upper = self.client_dir / "etc-upper"
        (upper / "condor").mkdir(parents=True)
        blocks = guide_blocks("condor-site-config")
        (upper / "condor/condor_config").write_text(blocks["notebook-host"], encoding="utf-8")
        (upper / "hosts").write_text(self._hosts_file(), encoding="utf-8")
        (command,) = guide_commands("user-token")
        token = self.run("ap", ["sh", "-c", command]).stdout.strip()
        if not token:
            raise SiteError("the guide's user token command printed nothing")
        token_dir = _token_dir(blocks["notebook-host"])
        folder = upper / token_dir.relative_to("/etc")
        folder.mkdir(parents=True)
        folder.chmod(0o700)
        (folder / "ap").write_text(token + "\n", encoding="utf-8")
        (folder / "ap").chmod(0o600)

    def _start(self) -> None:
        for h in self.hosts.values():
            self.run(h.name, ["condor_master"])

    def slots(self) -> list[str]:
        result = self.run("cm", ["condor_status", "-af", "Name"], check=False, timeout=30)
        return result.stdout.split() if result.returncode == 0 else []

    def wait_ready(self, timeout: float = 120) -> None:
        """Until the collector lists a schedd, the negotiator and both execute points."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.run("cm", ["condor_status", "-any", "-af:t", "MyType", "Machine"],
                              check=False, timeout=30)  # fmt: skip
            seen = {tuple(ln.split("\t")) for ln in result.stdout.splitlines()}
            machines = {m for t, m in seen if t == "Machine"} if result.returncode == 0 else set()
            types = {t for t, _ in seen}
            if {"Scheduler", "Negotiator"} <= types and {
                f"ep1.{DOMAIN}",
                f"ep2.{DOMAIN}",
            } <= machines:
                return
            if time.monotonic() > deadline:
                logs = ("MasterLog", "CollectorLog", "StartLog", "SchedLog")
                tails = "\n".join(
                    f"--- {h}/{log}\n" + "\n".join(self.log(h, log).splitlines()[-10:])
                    for h in self.hosts for log in logs if self.log(h, log)
                )  # fmt: skip
                raise SiteError(f"site not ready after {timeout:.0f} s: {result.stdout}\n{tails}")
            time.sleep(0.5)

    # -- teardown -------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every daemon, unmount every root, delete the namespaces and the files."""
        # Execute points and the access point first, while the collector can still
        # take their ads' invalidation; then the central manager.
        _stop_processes([h.root for h in self.hosts.values() if h.name != "cm"])
        _stop_processes([h.root for h in self.hosts.values() if h.name == "cm"])
        for h in self.hosts.values():
            if h.root.exists():
                mounts.unmount_all(h.root)
                if mounts.is_mount_point(h.root):
                    _run(["umount", str(h.root)], check=False)
                    if mounts.is_mount_point(h.root):
                        _run(["umount", "--lazy", str(h.root)])
        for netns in self.namespaces():
            _run(["ip", "netns", "delete", netns], check=False)
        if not self.leftovers():
            shutil.rmtree(self.base, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """What the site left on the machine: processes, mounts, namespaces."""
        left = []
        for h in self.hosts.values():
            left += [f"process {p.pid} {p.name} in {h.name}" for p in root_processes(h.root)]
        with open("/proc/self/mountinfo", encoding="utf-8") as table:
            left += [f"mount {ln.split()[4]}" for ln in table if str(self.base) in ln]
        listed = _run(["ip", "netns", "list"]).stdout.split()
        left += [f"netns {n}" for n in self.namespaces() if n in listed]
        return left


#: Folders of the personal pool's state, keys and configuration that no site host
#: inherits: each is an opaque folder in the host's upper layer.
FRESH_FOLDERS = (
    "var/lib/condor/spool", "var/lib/condor/execute", "var/lib/condor/cred_dir",
    "var/log/condor", "var/spool/condor", "run/condor", "run/lock/condor", "tmp",
    "etc/condor/passwords.d", "etc/condor/tokens.d", "etc/condor/config.d",
)  # fmt: skip
#: Files of the personal pool removed (whited out) on every site host.
FORGOTTEN_FILES = (
    "etc/condor/condor_nb.mapfile", "etc/condor/hostcert.pem", "etc/condor/hostkey.pem",
    "etc/condor/trust_domain_ca.pem", "etc/condor/trust_domain_ca_privkey.pem",
)  # fmt: skip
#: The one file of the condor package in config.d, kept.
PACKAGE_CONFIG = "etc/condor/config.d/00-htcondor-9.0.config"


def _forget_personal_pool(upper: Path, lower: Path) -> None:
    """Prepare a host's upper layer so that it starts with none of the personal pool.

    Written into the upper layer before the overlay is mounted, as overlayfs itself
    marks them: an opaque folder hides the lower folder entirely (the personal pool
    keeps running and writing into it: a later file there never shows through), a
    0/0 character device hides a file.
    """
    for folder in FRESH_FOLDERS:
        source = lower / folder
        if not source.is_dir():
            continue
        _copy_parents(upper, lower, Path(folder).parent)
        target = upper / folder
        st = source.stat()
        target.mkdir()
        os.chown(target, st.st_uid, st.st_gid)
        target.chmod(st.st_mode & 0o7777)
        os.setxattr(target, "trusted.overlay.opaque", b"y")
    shutil.copy2(lower / PACKAGE_CONFIG, upper / PACKAGE_CONFIG)
    for name in FORGOTTEN_FILES:
        if (lower / name).exists():
            _copy_parents(upper, lower, Path(name).parent)
            os.mknod(upper / name, stat.S_IFCHR, os.makedev(0, 0))


def _copy_parents(upper: Path, lower: Path, folder: Path) -> None:
    """Make ``folder`` and its parents in ``upper`` with the lower layer's owner and mode."""
    for part in reversed([folder, *folder.parents]):
        if str(part) == ".":
            continue
        target = upper / part
        if target.exists():
            continue
        st = (lower / part).stat()
        target.mkdir()
        os.chown(target, st.st_uid, st.st_gid)
        target.chmod(st.st_mode & 0o7777)


def _token_dir(client_config: str) -> Path:
    match = re.search(r"^SEC_TOKEN_DIRECTORY\s*=\s*(\S+)", client_config, flags=re.M)
    if not match:
        raise SiteError("the guide's notebook-host configuration names no SEC_TOKEN_DIRECTORY")
    return Path(match.group(1))


def _stop_processes(roots: list[Path], timeout: float = 30) -> None:
    """Fast shutdown of every host's master (SIGQUIT), then SIGKILL whatever remains."""

    def running() -> list[int]:
        return [p.pid for root in roots for p in root_processes(root)]

    for root in roots:
        for proc in root_processes(root):
            if proc.name == "condor_master":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGQUIT)
    deadline = time.monotonic() + timeout
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in running():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)


def reap_stale_sites() -> list[str]:
    """Tear down the sites of test sessions that died without their teardown."""
    reaped = []
    for base in Path("/tmp").glob("condor_nb-site-*"):
        pid = base.name.rsplit("-", 1)[1]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        site = Site(base=base, tag=f"cnbsite{pid}")
        for folder in sorted(p for p in base.iterdir() if (p / "root").is_dir()):
            name = folder.name
            site.hosts[name] = Host(name, "", f"{site.tag}-{name}", folder, ())
        site.stop()
        reaped.append(str(base))
    return reaped


def create_site(base: Path | None = None) -> Site:
    """Build and start the site; on any failure, tear down what was made."""
    reap_stale_sites()
    lower = pool_paths().root
    if not (lower / "usr/sbin/condor_master").exists():
        raise SiteError(f"no built pool root at {lower}: run `condor_nb pool start` once")
    tag = f"cnbsite{os.getpid()}"
    base = base or Path("/tmp") / f"condor_nb-site-{os.getpid()}"
    if base.exists():
        raise SiteError(f"{base} exists already (a site of an earlier run?)")
    base.mkdir(parents=True)
    site = Site(base=base, tag=tag)
    layout = {
        "cm": (2, ("all", "cm")),
        "ap": (3, ("all", "ap")),
        "ep1": (11, ("all", "execute")),
        "ep2": (12, ("all", "execute")),
    }
    for name, (octet, roles) in layout.items():
        site.hosts[name] = Host(name, f"{SUBNET}.{octet}", f"{tag}-{name}", base / name, roles)
    started = time.monotonic()
    try:
        site._network()
        for h in site.hosts.values():
            site._mount_root(h, lower)
            site._host_files(h)
        site.timings["roots"] = time.monotonic() - started
        for h in site.hosts.values():
            site._install(h)
            site._configure(h)
        site.timings["packages"] = time.monotonic() - started
        site._credentials()
        site._client()
        site._start()
        site.wait_ready()
        site.timings["start"] = time.monotonic() - started
    except BaseException:
        site.stop()
        raise
    return site
