"""Real nats-servers for the tests: standalone, 3-node clusters, hub + nation leaf nodes.

Every server listens on 127.0.0.1 on a free port with its store in a temporary folder, and
is stopped when its context ends. A nation's leaf connection can go through a `TcpProxy`
that the test cuts and restores (a clean, controllable partition). No nats-server binary
is a test failure with the reason, never a skip.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import pytest

from hotzone.runtime.federation_security import FederationSecrets, secure_federation
from hotzone.runtime.federation_servers import (
    FederationPlan,
    NatsServerError,
    NatsServerProcess,
    ServerPlan,
    find_nats_server,
    free_port,
    plan_cluster,
    plan_federation,
)


def nats_server_binary() -> Path:
    try:
        return find_nats_server()
    except NatsServerError as error:
        pytest.fail(f"these tests need a real nats-server: {error}", pytrace=False)


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `cut` drops every connection and refuses new
    ones until `restore` (what a severed link between a nation and the hub looks like)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._cut = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self._cut.is_set():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(source, sink)

    def _close_pair(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._sockets.discard(sock)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            live = list(self._sockets)
        self._close_pair(*live)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        self._listener.close()


@dataclass
class RunningFederation:
    plan: FederationPlan
    processes: dict[str, NatsServerProcess]
    proxies: dict[str, TcpProxy] = field(default_factory=dict)
    #: Accounts, credentials and TLS (``secure=True``); None: open servers.
    secrets: FederationSecrets | None = None

    def url(self, name: str) -> str:
        """``hub`` or a nation code."""
        server = self.plan.hub if name == "hub" else self.plan.nations[name]
        return server.url

    def connect_options(self, name: str) -> BusSecurity:
        """``NatsBus.connect`` keywords for ``hub`` or a nation: its credentials and the CA."""
        if self.secrets is None:
            return {}
        return {"user_credentials": self.secrets.creds(name), "tls_ca": self.secrets.ca}


class BusSecurity(TypedDict, total=False):
    user_credentials: Path
    tls_ca: Path


@contextlib.contextmanager
def started(processes: list[NatsServerProcess], parallel: bool = False) -> Iterator[None]:
    """Start every process (``parallel``: all at once, each waited for in a thread: a
    32-nation federation starts in the time of one server), stop them all afterwards."""
    try:
        if parallel:
            with ThreadPoolExecutor(max_workers=len(processes)) as pool:
                for future in [pool.submit(process.start) for process in processes]:
                    future.result()
        else:
            for process in processes:
                process.start()
        yield
    finally:
        if parallel:
            with ThreadPoolExecutor(max_workers=len(processes)) as pool:
                list(pool.map(lambda process: process.stop(), processes))
        else:
            for process in processes:
                process.stop()


def wait_for_leaves(
    processes: Iterable[NatsServerProcess], nations: int, timeout_s: float = 60.0
) -> None:
    """Until the hub has logged a leaf connection from every nation's server. A stream that
    sources across a leaf link not up yet retries only after JetStream's backoff (≈ 40 s
    when 33 servers start together on 2 cores), so a big federation waits for this first."""
    hub = next(process for process in processes if process.plan.name == "hub")
    deadline = time.monotonic() + timeout_s
    while hub.log_path.read_text().count("Leafnode connection created") < nations:
        assert time.monotonic() < deadline, f"not every leaf connected: {hub.log_tail()}"
        time.sleep(0.1)


@contextlib.contextmanager
def running_servers(
    plans: list[ServerPlan], directory: Path, parallel: bool = False
) -> Iterator[list[NatsServerProcess]]:
    binary = nats_server_binary()
    processes = [NatsServerProcess(plan, directory, binary) for plan in plans]
    with started(processes, parallel):
        yield processes


@contextlib.contextmanager
def running_federation(
    nations: list[str],
    directory: Path,
    proxied: tuple[str, ...] = (),
    secure: bool = False,
    parallel: bool = False,
) -> Iterator[RunningFederation]:
    """A hub and one leaf server per nation; the nations in ``proxied`` reach the hub
    through a `TcpProxy` each (``federation.proxies[nation].cut()``). ``secure``: each
    nation its account, TLS everywhere, credentials in ``federation.secrets``.
    ``parallel``: the servers start all at once."""
    plan = plan_federation(nations, directory)
    proxies: dict[str, TcpProxy] = {}
    assert plan.hub.leaf_port is not None
    for nation in proxied:
        proxy = TcpProxy(plan.hub.host, plan.hub.leaf_port)
        proxies[nation] = proxy
        plan.nations[nation].hub_leaf_url = f"nats-leaf://127.0.0.1:{proxy.port}"
    secrets = secure_federation(plan, directory / "secrets") if secure else None
    try:
        with running_servers(plan.servers, directory, parallel) as processes:
            yield RunningFederation(
                plan=plan,
                processes={p.plan.name: p for p in processes},
                proxies=proxies,
                secrets=secrets,
            )
    finally:
        for proxy in proxies.values():
            proxy.close()


@contextlib.contextmanager
def running_cluster(directory: Path, size: int = 3) -> Iterator[list[NatsServerProcess]]:
    with running_servers(plan_cluster(directory, size), directory) as processes:
        yield processes


@contextlib.contextmanager
def running_standalone(directory: Path) -> Iterator[NatsServerProcess]:
    plan = ServerPlan(
        name="standalone",
        host="127.0.0.1",
        port=free_port(),
        store_dir=directory / "jetstream",
        domain="pl",
    )
    with running_servers([plan], directory) as processes:
        yield processes[0]


def free_port_block(count: int) -> int:
    """A first port such that it and the ``count - 1`` after it are free now."""
    while True:
        base = free_port()
        probes = []
        try:
            for port in range(base + 1, base + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


@dataclass
class ConfiguredFederation:
    """Servers started from the files ``hotzone federation config`` wrote."""

    plan: FederationPlan
    out: Path
    processes: list[NatsServerProcess] = field(default_factory=list)

    def url(self, name: str) -> str:
        server = self.plan.hub if name == "hub" else self.plan.nations[name]
        return f"tls://{server.host}:{server.port}"

    @property
    def ca(self) -> Path:
        return self.out / "tls" / "ca.pem"

    def creds(self, name: str) -> Path:
        return self.out / f"{name.lower()}.creds"


@contextlib.contextmanager
def configured_federation(
    nations: list[str], directory: Path, parallel: bool = False
) -> Iterator[ConfiguredFederation]:
    """Servers started from the files ``hotzone federation config`` writes (accounts,
    credentials, TLS) into ``directory / "federation"``; ``parallel``: all at once."""
    from hotzone.cli import main

    binary = nats_server_binary()
    out = directory / "federation"
    base = free_port_block(2 + len(nations))
    store = directory / "js"
    args = ["federation", "config", "--nations", ",".join(nations), "--out", str(out)]
    assert main([*args, "--base-port", str(base), "--store", str(store)]) == 0
    # The same layout the command planned: where each server listens.
    plan = plan_federation(nations, store, base_port=base)
    processes = [
        NatsServerProcess(server, directory, binary, config_path=out / f"{server.name}.conf")
        for server in plan.servers
    ]
    with started(processes, parallel):
        yield ConfiguredFederation(plan, out, processes)
