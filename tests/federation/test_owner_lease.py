"""One owner node per nation, with real processes on a real nats-server (accounts, TLS):
a second owner of the same nation is refused in one line with exit code 2 while the first
runs; after the first is killed (SIGKILL, no goodbye) the same command starts again and
takes the nation over; an owner that ends normally leaves the lease free."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nats.js.errors

from hotzone.bus import NatsBus
from hotzone.runtime.federation import federation_streams
from hotzone.runtime.owner_lease import OWNER_KEY, lease_bucket
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import SHUTDOWN, encode_tick
from hotzone.store import SQLiteStore
from hotzone.types import Detection, to_json
from tests.federation.helpers import detection
from tests.federation.servers import RunningFederation, running_federation

RUN_CLI = "import sys; from hotzone.cli import main; sys.exit(main(sys.argv[1:]))"
TIMEOUT_S = 180.0


def _node(federation: RunningFederation, store: Path, *extra: str) -> subprocess.Popen[str]:
    assert federation.secrets is not None
    args = ["node", "--nation", "PL", "--nats", federation.url("PL"), "--no-replay"]
    args += ["--creds", str(federation.secrets.creds("PL"))]
    args += ["--tls-ca", str(federation.secrets.ca), "--store", str(store), *extra]
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _bus(federation: RunningFederation) -> NatsBus:
    return await NatsBus.connect(
        federation.url("PL"),
        federation_streams("PL", archives=False)[:1],
        domain="pl",
        ensure_streams=False,
        **federation.connect_options("PL"),
    )


async def _lease_holder(federation: RunningFederation) -> str | None:
    """Who holds PL's owner lease now (its JSON), None when nobody does."""
    bus = await _bus(federation)
    try:
        bucket = await bus.jetstream.key_value(lease_bucket("PL"))
        entry = await bucket.get(OWNER_KEY)
        return (entry.value or b"").decode()
    except (nats.js.errors.NotFoundError, nats.js.errors.KeyDeletedError):
        return None
    finally:
        await bus.close()


def _wait_for_holder(federation: RunningFederation, pid: int, node: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while f'"pid": {pid}' not in (asyncio.run(_lease_holder(federation)) or ""):
        assert node.poll() is None, node.communicate()
        assert time.monotonic() < deadline, "the owner node never took the lease"
        time.sleep(0.3)


async def _shut_down(federation: RunningFederation) -> None:
    bus = await _bus(federation)
    try:
        await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    finally:
        await bus.close()


def test_a_second_owner_of_a_nation_is_refused_and_a_killed_one_is_replaced(
    tmp_path: Path,
) -> None:
    running: list[subprocess.Popen[str]] = []
    with running_federation(["PL"], tmp_path / "servers", secure=True) as federation:
        try:
            first = _node(federation, tmp_path / "first.sqlite")
            running.append(first)
            _wait_for_holder(federation, first.pid, first)

            second = _node(federation, tmp_path / "second.sqlite")
            running.append(second)
            _, error = second.communicate(timeout=TIMEOUT_S)
            assert second.returncode == 2, error
            assert len(error.strip().splitlines()) == 1, error
            assert "PL has a running owner node already" in error
            assert f"pid {first.pid}" in error and "--sectors" in error
            assert first.poll() is None  # the first one runs on, untouched

            first.kill()  # SIGKILL: its lease stays behind, no longer renewed
            first.communicate()
            again = _node(federation, tmp_path / "first.sqlite")
            running.append(again)
            _wait_for_holder(federation, again.pid, again)
            started = time.monotonic()
            asyncio.run(_shut_down(federation))
            output, error = again.communicate(timeout=TIMEOUT_S)
            print(f"restarted owner ended {time.monotonic() - started:.1f} s after shutdown")
            assert again.returncode == 0, error
            assert output.startswith("PL: ") and "owner" in output, output
            # An owner that ends normally frees the lease for the next one at once.
            assert asyncio.run(_lease_holder(federation)) is None
        finally:
            for process in running:
                if process.poll() is None:
                    process.kill()
                    process.communicate()


async def _publish_inputs(federation: RunningFederation, first: int, count: int) -> None:
    """Detections of suwalki for PL's owner, a clock tick after each (its stages step)."""
    bus = await _bus(federation)
    try:
        for index in range(first, first + count):
            message = detection(index)
            await bus.publish(subject_for(message, "PL"), to_json(message))
            posix = message.time.timestamp()
            await bus.publish("hz.PL.clock", encode_tick(posix), {"kind": "tick"})
    finally:
        await bus.close()


def _stored(store: Path) -> int:
    with SQLiteStore(store) as opened:
        return opened.count()


def _stored_detection_ids(store: Path) -> set[str]:
    with SQLiteStore(store) as opened:
        return {
            stored.message.detection_id
            for stored in opened.replay("hz.PL.det.>")
            if isinstance(stored.message, Detection)
        }


def test_an_owner_ousted_while_it_stalled_stops_acting_when_it_resumes(tmp_path: Path) -> None:
    """SIGSTOP the owner for longer than its lease, start a second owner (it takes the
    nation over), SIGCONT the first: it stops at once (one line, exit code 2) and handles
    nothing more, while the second goes on with everything."""
    running: list[subprocess.Popen[str]] = []
    with running_federation(["PL"], tmp_path / "servers", secure=True) as federation:
        try:
            first = _node(federation, tmp_path / "first.sqlite")
            running.append(first)
            _wait_for_holder(federation, first.pid, first)
            asyncio.run(_publish_inputs(federation, 0, 10))
            _wait_until(lambda: _stored(tmp_path / "first.sqlite") >= 20, first)
            first.send_signal(signal.SIGSTOP)  # stalled: no renewal from now on

            second = _node(federation, tmp_path / "second.sqlite")
            running.append(second)
            _wait_for_holder(federation, second.pid, second)  # taken over after 3.5 s
            asyncio.run(_publish_inputs(federation, 10, 10))
            _wait_until(lambda: _stored(tmp_path / "second.sqlite") >= 20, second)
            stored_by_first = _stored(tmp_path / "first.sqlite")

            resumed = time.monotonic()
            first.send_signal(signal.SIGCONT)
            # Inputs right away: an owner that still acted would take some of them.
            asyncio.run(_publish_inputs(federation, 20, 10))
            _, error = first.communicate(timeout=TIMEOUT_S)
            print(f"the ousted owner stopped {time.monotonic() - resumed:.1f} s after SIGCONT")
            assert first.returncode == 2, error
            assert len(error.strip().splitlines()) == 1, error
            assert "owner lease was taken over by another node" in error, error
            assert _stored(tmp_path / "first.sqlite") == stored_by_first
            # The second owns PL, alone, and handles everything after the takeover.
            assert f'"pid": {second.pid}' in (asyncio.run(_lease_holder(federation)) or "")
            # Every input after the takeover reaches the second, those published right after
            # SIGCONT included: one the first had fetched (not handed out, not acknowledged)
            # is handed back when it stops, or redelivered after the consumer's ack wait; a
            # count of stored messages would let a loaded run shut down before it came.
            wanted = {f"det-suwalki-{index}" for index in range(10, 30)}
            _wait_until(lambda: wanted <= _stored_detection_ids(tmp_path / "second.sqlite"), second)
            asyncio.run(_shut_down(federation))
            output, error = second.communicate(timeout=TIMEOUT_S)
            assert second.returncode == 0, error
            assert output.startswith("PL: ") and "owner" in output, output
            with SQLiteStore(tmp_path / "second.sqlite") as store:
                detections = [m.message for m in store.replay("hz.PL.det.>")]
            ids = Counter(d.detection_id for d in detections if isinstance(d, Detection))
            # What the first had not acknowledged is the second's: 20 each, once each.
            assert set(ids) >= {f"det-suwalki-{index}" for index in range(10, 30)}
            assert max(ids.values()) == 1
        finally:
            for process in running:
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)
                    process.kill()
                    process.communicate()


def _wait_until(condition: Callable[[], bool], node: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert node.poll() is None, node.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
