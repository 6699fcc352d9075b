"""What the effector gateway tests share: signed orders, third-party peers in their own
processes, and a watch on the bus.

Orders are signed as c2 signs them (a real `NodeKey` over `order_signing_bytes`); the
proposals they name carry their true content hash. Peers are separate Python processes that
import nothing of hotzone; each prints what it received as JSON lines, which `Peer` keeps.
No test asserts on elapsed time: `until` only bounds a wait so a broken gateway fails the
test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from hotzone.bus import InProcessBus
from hotzone.c2.trust import NodeKey
from hotzone.types import (
    AnyMessage,
    C2State,
    EffectClass,
    Event,
    GeoPoint,
    Proposal,
    RoeCheck,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    from_json,
    to_json,
)
from hotzone.types.signing import order_signing_bytes, proposal_content_hash

PEERS = Path(__file__).resolve().parent / "peers"
HANG_GUARD_S = 120.0
"""How long a wait may take before the test is declared hung (never a performance bound).
60 s was reached once under a full test run beside benchmarks: a restarted gateway process
importing hotzone and connecting, on a loaded 2-core host."""

C2_NODE = NodeKey.generate("PL")
TRUSTED = {C2_NODE.key_id: C2_NODE.public_raw}
GATEWAY_KEY = NodeKey.generate("PL", "gateway")
"""The key the gateways under test sign lifecycle steps with; c2 trusts it."""
TRUSTED_GATEWAYS = {GATEWAY_KEY.key_id: GATEWAY_KEY.public_raw}
TARGET = GeoPoint(54.12, 23.05, 300.0)


def now() -> datetime:
    return datetime.now(UTC)


def proposal(effector_id: str, number: int, aim: GeoPoint = TARGET) -> Proposal:
    start = now()
    unhashed = Proposal(
        proposal_id=f"prop-{number:05d}",
        time=start,
        track_id=f"T{number}",
        effector_id=effector_id,
        effect_class=EffectClass.KINETIC,
        action="engage",
        target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
        standard_identity=StandardIdentity.HOSTILE,
        target_position=aim,
        position_tolerance_m=2000.0,
        effect_window_start=start,
        effect_window_end=start + timedelta(minutes=10),
        expires_at=start + timedelta(minutes=5),
        roe_checks=(RoeCheck("own_territory", True, "PL"),),
    )
    return msgspec.structs.replace(unhashed, content_hash=proposal_content_hash(unhashed))


def order(
    prop: Proposal,
    number: int,
    *,
    node: NodeKey = C2_NODE,
    window_end: datetime | None = None,
    sign: bool = True,
) -> TaskOrder:
    """An order as c2 issues it (decoded from the bus, signed by the node's key)."""
    unsigned = msgspec.convert(
        {
            "order_id": f"order-{number:05d}",
            "time": now().isoformat(),
            "proposal_hash": prop.content_hash,
            "effector_id": prop.effector_id,
            "track_id": prop.track_id,
            "action": prop.action,
            "decision_ids": ["d-op", "d-cdr"],
            "decision_hashes": ["h-op", "h-cdr"],
            "effect_window_end": (window_end or now() + timedelta(minutes=10)).isoformat(),
            "issuer": "PL-c2",
            "issuer_key_id": node.key_id,
        },
        TaskOrder,
    )
    if not sign:
        return unsigned
    return msgspec.structs.replace(unsigned, signature=node.sign(order_signing_bytes(unsigned)))


def c2_state(abort: bool) -> C2State:
    return C2State(
        time=now(),
        nation="PL",
        mode="exercise",
        abort_active=abort,
        changed_by="pl.cdr.nowak" if abort else "",
        reason="drill" if abort else "",
    )


def new_node_id() -> str:
    return str(uuid.uuid4())


class Peer:
    """A third-party peer process; ``lines`` is everything it printed, parsed."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.lines: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, script: str, *args: str) -> Peer:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(PEERS / script),
            *args,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return cls(process, script)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(json.loads(line))
            self._changed.set()
        self._changed.set()

    def seen(self, **match: object) -> list[dict[str, Any]]:
        return [line for line in self.lines if all(line.get(k) == v for k, v in match.items())]

    async def wait_for(self, count: int = 1, **match: object) -> list[dict[str, Any]]:
        async def wait() -> list[dict[str, Any]]:
            while len(found := self.seen(**match)) < count:
                if self._reader.done():
                    raise AssertionError(f"{self.name} ended without {match}: {self.lines}")
                self._changed.clear()
                await self._changed.wait()
            return found

        return await asyncio.wait_for(wait(), HANG_GUARD_S)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()
        await self._reader


class BusWatch:
    """Everything published on the nation's subjects, decoded, with the subject."""

    def __init__(self, bus: InProcessBus, nation: str = "PL") -> None:
        self.bus = bus
        self.nation = nation
        self.messages: list[tuple[str, AnyMessage]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        subscription = await self.bus.subscribe(f"hz.{self.nation}.>", 65536)

        async def read() -> None:
            async for item in subscription:
                if item.subject == f"hz.{self.nation}.clock":
                    continue  # clock ticks (a test driving c2) are not JSON
                self.messages.append((item.subject, from_json(item.payload)))
                self._changed.set()

        self._task = asyncio.create_task(read())

    async def publish(self, subject: str, message: AnyMessage) -> None:
        await self.bus.publish(subject, to_json(message))

    def lifecycle(self, order_id: str) -> list[str]:
        return [
            m.attributes["lifecycle"]
            for _, m in self.messages
            if isinstance(m, Event)
            and m.attributes.get("order_id") == order_id
            and "lifecycle" in m.attributes
        ]

    def of_type(self, kind: type, subject_prefix: str = "") -> list[Any]:
        return [m for s, m in self.messages if isinstance(m, kind) and s.startswith(subject_prefix)]

    async def until(self, predicate: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), HANG_GUARD_S)

    async def until_lifecycle(self, order_id: str, state: str) -> None:
        await self.until(lambda: state in self.lifecycle(order_id))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
