"""One node per nation tracks the detections of no scenario sector (``--unclaimed``), with
real processes on a real nats-server: a second such node is refused in one line with exit
code 2 while the first runs, and the same command takes over once the first is killed; an
owner tracking nothing (``--no-tracking``) warns while no node does, naming the flag, and
says so again when one starts."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import time
from pathlib import Path

from hotzone.bus import NatsBus, nation_streams
from hotzone.runtime.owner_lease import UNCLAIMED_KEY, lease_holder
from hotzone.runtime.services import SHUTDOWN, encode_tick
from tests.federation.servers import running_standalone
from tests.federation.test_scale_out import node_command

TIMEOUT_S = 180.0
"""How long a node may take to do what is waited for before the test fails (a hang guard:
the machine is shared)."""
SECTOR_NODE = ("--sectors", "suwalki,lazdijai", "--unclaimed")


def _node(url: str, store: Path, *args: str) -> subprocess.Popen[str]:
    return node_command(url, store, *args, stderr=subprocess.PIPE)


async def _holder(url: str) -> str:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    try:
        return (await lease_holder(bus, "PL", UNCLAIMED_KEY) or b"").decode()
    finally:
        await bus.close()


def _wait_for_holder(url: str, node: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while f'"pid": {node.pid}' not in asyncio.run(_holder(url)):
        assert node.poll() is None, node.communicate()
        assert time.monotonic() < deadline, "the node never took the unclaimed lease"
        time.sleep(0.3)


def _error_line(node: subprocess.Popen[str], text: str) -> str:
    """The next line of ``node``'s standard error holding ``text`` (waited for; read
    unbuffered, so a line not yet complete is kept for the next call)."""
    assert node.stderr is not None
    pending = _UNREAD.setdefault(node.pid, [b""])
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        *lines, pending[0] = pending[0].split(b"\n")
        for index, line in enumerate(lines):
            if text.encode() in line:
                pending[0] = b"\n".join([*lines[index + 1 :], pending[0]])
                return line.decode()
        readable, _, _ = select.select([node.stderr], [], [], 1.0)
        if readable:
            chunk = os.read(node.stderr.fileno(), 65536)
            assert chunk, f"the node ended without saying {text!r}: {node.communicate()}"
            pending[0] += chunk
    raise AssertionError(f"the node never said {text!r}")


_UNREAD: dict[int, list[bytes]] = {}
"""What was read of each node's standard error and not yet looked at, by process id."""


async def _shut_down(url: str) -> None:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    try:
        await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    finally:
        await bus.close()


def test_a_second_unclaimed_node_is_refused_and_a_killed_one_is_replaced(
    tmp_path: Path,
) -> None:
    running: list[subprocess.Popen[str]] = []
    with running_standalone(tmp_path / "server") as server:
        url = server.plan.url
        try:
            first = _node(url, tmp_path / "first.sqlite", *SECTOR_NODE)
            running.append(first)
            _wait_for_holder(url, first)

            second = _node(url, tmp_path / "second.sqlite", "--sectors", "suwalki", "--unclaimed")
            running.append(second)
            _, error = second.communicate(timeout=TIMEOUT_S)
            assert second.returncode == 2, error
            assert len(error.strip().splitlines()) == 1, error
            assert "PL has a node tracking the detections of no scenario sector" in error
            assert f"pid {first.pid}" in error and "without --unclaimed" in error
            assert first.poll() is None  # the first one runs on, untouched

            first.kill()  # SIGKILL: its key stays behind, no longer renewed
            first.communicate()
            again = _node(url, tmp_path / "first.sqlite", *SECTOR_NODE)
            running.append(again)
            _wait_for_holder(url, again)
            asyncio.run(_shut_down(url))
            output, error = again.communicate(timeout=TIMEOUT_S)
            assert again.returncode == 0, error
            assert "and detections of no sector" in output, output
            # A node that ends normally frees the key for the next one at once.
            assert asyncio.run(_holder(url)) == ""
        finally:
            for process in running:
                if process.poll() is None:
                    process.kill()
                    process.communicate()


def test_an_owner_tracking_nothing_warns_while_no_node_tracks_the_detections_of_none(
    tmp_path: Path,
) -> None:
    """The owner warns after its watermark wait (10 s) that nothing tracks them, naming
    ``--unclaimed``; the summary line says so when none ran to the end; a sector node with
    ``--unclaimed`` started later is noticed and the summary then says nothing of it."""
    running: list[subprocess.Popen[str]] = []
    with running_standalone(tmp_path / "server") as server:
        url = server.plan.url
        try:
            owner = _node(url, tmp_path / "alone.sqlite", "--no-tracking")
            running.append(owner)
            warning = _error_line(owner, "no node tracks the detections of no scenario sector")
            assert warning.startswith(
                "no node tracks the detections of no scenario sector in PL "
            ) and "start one sector node with --unclaimed" in (warning)
            asyncio.run(_shut_down(url))
            output, error = owner.communicate(timeout=TIMEOUT_S)
            assert owner.returncode == 0, error
            assert "untracked (no node ran --unclaimed)" in output, output

            owner = _node(url, tmp_path / "owner.sqlite", "--no-tracking")
            running.append(owner)
            _error_line(owner, "start one sector node with --unclaimed")
            sector = _node(url, tmp_path / "sector.sqlite", *SECTOR_NODE)
            running.append(sector)
            noticed = _error_line(
                owner, "detections of no scenario sector in PL are tracked now by"
            )
            assert f'"pid": {sector.pid}' in noticed, noticed
            asyncio.run(_shut_down(url))
            output, error = owner.communicate(timeout=TIMEOUT_S)
            assert owner.returncode == 0, error
            assert "tracks nothing" in output and "untracked" not in output, output
            sector.communicate(timeout=TIMEOUT_S)
            assert sector.returncode == 0
        finally:
            for process in running:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
