"""Each nation's picture in ``hotzone federation-demo --serve``, live, on its own port.

One app per nation (`create_app`), all in the demo's event loop beside the nodes. Each app
follows its nation's log (``hz.{nation}.>``) on the nation's nats-server through its own
`NatsBus`. A subscription there is an ephemeral consumer of the log stream, which keeps
every message for its retention (limits, not work-queue): the picture reads each message
beside the node's own consumers and takes none from them.

Allied copies arrive as ``hz.{nation}.ally.{origin}.…``; every picture names them after
their origin (``PL:suwalki-1``, `hotzone.api.allied`), so PL's and LT's tracks of the
same scenario never overwrite each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotzone.api.app import ApiConfig, create_app
from hotzone.api.live import InLoopServer, bind_listener, in_loop_server, url_of
from hotzone.api.users import DEMO_USERS_FILE, load_users
from hotzone.bus import NatsBus, nation_streams
from hotzone.runtime.federation_demo import NationPicture

#: How long one picture may take to start (load its scenario, subscribe) before the demo
#: gives up: far more than it needs on a loaded two-core machine.
STARTUP_TIMEOUT_S = 60.0


class PictureServerError(RuntimeError):
    """A picture that could not be served, with the reason."""


class PortsBusyError(ValueError):
    """Ports that cannot be listened on, named in the message."""


# ---- ports ------------------------------------------------------------------------------


def picture_ports(base_port: int, nations: Sequence[str]) -> dict[str, int]:
    """Consecutive ports from ``base_port``, one per nation in order (PL 8080, LT 8081, …)."""
    if not 0 < base_port <= 65536 - len(nations):
        raise PortsBusyError(
            f"port {base_port} leaves no room for {len(nations)} pictures (ports 1-65535)"
        )
    return {nation: base_port + index for index, nation in enumerate(nations)}


def bind_picture_ports(host: str, ports: Mapping[str, int]) -> dict[str, socket.socket]:
    """A listening socket per nation, bound now: a busy port is found before anything
    starts, and nothing else can take a port between this check and the serving."""
    listeners: dict[str, socket.socket] = {}
    busy: list[str] = []
    for nation, port in ports.items():
        try:
            listeners[nation] = bind_listener(host, port)
        except OSError as error:
            busy.append(f"{port} ({error.strerror or error})")
    if busy:
        for listener in listeners.values():
            listener.close()
        raise PortsBusyError(f"cannot listen on {host} port {', '.join(busy)}")
    return listeners


# ---- serving ----------------------------------------------------------------------------


@dataclass
class _RunningPicture:
    nation: str
    server: InLoopServer
    task: asyncio.Task[None]
    bus: NatsBus
    listener: socket.socket


def login_hint(nation: str, users_file: Path) -> str:
    """Who logs in to a nation's picture: a user of that nation in ``users_file`` (with the
    password only for the shipped TEST users, whose passwords are public)."""
    users = [u for u in load_users(users_file).values() if u.nation == nation]
    if not users:
        return f"no user of {nation} in {users_file}"
    user = users[0]
    if users_file == DEMO_USERS_FILE and user.test_only:
        return f"TEST login {user.username} / {user.username}-test"
    return f"login {user.username}"


async def _serve(server: InLoopServer, listener: socket.socket, nation: str) -> None:
    try:
        await server.serve(sockets=[listener])
    except SystemExit:
        # uvicorn exits the process when its startup fails; here it ends one picture only.
        raise PictureServerError(f"the picture of {nation} failed to start") from None


async def _start_picture(
    picture: NationPicture, listener: socket.socket, users_file: Path
) -> _RunningPicture:
    bus = await NatsBus.connect(
        picture.nats_url,
        # Only the log, the stream the picture reads (the node ensures the rest); ensured
        # here so that the picture is subscribed before the node publishes anything.
        nation_streams(picture.nation, archives=False)[:1],
        domain=picture.domain,
        name=f"hotzone-picture-{picture.nation}",
        # As the nation's own clients: its credentials (its account alone), TLS verified.
        user_credentials=picture.credentials,
        tls_ca=picture.tls_ca,
    )
    config = ApiConfig(
        store_path=picture.store_path,
        nation=picture.nation,
        users_file=users_file,
        scenario=picture.scenario,
        runs_directory=picture.run_directory,
    )
    app = create_app(config, bus=bus)
    host, port = listener.getsockname()[:2]
    server = in_loop_server(app, host, port)
    task = asyncio.create_task(_serve(server, listener, picture.nation))
    return _RunningPicture(picture.nation, server, task, bus, listener)


async def _until_started(running: _RunningPicture) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_S
    while not running.server.started:
        if running.task.done():
            running.task.result()  # raises why it stopped
            raise PictureServerError(f"the picture of {running.nation} stopped at startup")
        if loop.time() > deadline:
            raise PictureServerError(
                f"the picture of {running.nation} did not start within {STARTUP_TIMEOUT_S:.0f} s"
            )
        await asyncio.sleep(0.05)


async def _stop(running: list[_RunningPicture]) -> None:
    # The buses first: their subscriptions end, and each app's follower with them, before
    # the apps stop (a follower cancelled in the middle of a fetch leaves it dangling).
    for picture in running:
        with contextlib.suppress(Exception):
            await picture.bus.close()
    for picture in running:
        picture.server.should_exit = True
    await asyncio.gather(*(picture.task for picture in running), return_exceptions=True)
    for picture in running:
        picture.listener.close()


@contextlib.asynccontextmanager
async def serve_nation_pictures(
    pictures: Sequence[NationPicture],
    listeners: Mapping[str, socket.socket],
    users_file: Path = DEMO_USERS_FILE,
) -> AsyncIterator[dict[str, str]]:
    """Serve each nation's picture on its listener, live, until the context ends; yields
    per nation what to announce: its URL and who logs in."""
    missing = [p.nation for p in pictures if p.nation not in listeners]
    if missing:
        raise PictureServerError(f"no port to serve the picture of {', '.join(missing)}")
    running: list[_RunningPicture] = []
    try:
        for picture in pictures:
            running.append(await _start_picture(picture, listeners[picture.nation], users_file))
        for started in running:
            await _until_started(started)
        announced = {}
        for started in running:
            host, port = started.listener.getsockname()[:2]
            hint = login_hint(started.nation, users_file)
            announced[started.nation] = f"{url_of(host, port)}  ({hint})"
        yield announced
    finally:
        await _stop(running)


@contextlib.contextmanager
def closing_listeners(listeners: Mapping[str, socket.socket]) -> Iterator[None]:
    """Close every listener when the block ends, however it ends."""
    try:
        yield
    finally:
        for listener in listeners.values():
            listener.close()
