"""A c2 node on a real bus, and the people and attackers around it.

`C2OnBus` runs the c2 stage exactly as a node composes it (`runtime.stages.response_stage`
in a `StageService`, live mode, operators from the nation's registry file) on an
in-process bus or a real nats-server, and records everything published on the nation's
subjects, as a recorder would. Tests publish on the bus what an operator or an attacker
could, then tick the clock and read what c2 answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import msgspec

from hotzone.bus import Bus
from hotzone.c2.config import load_c2_spec
from hotzone.c2.keys import RegistryFile, SigningKey
from hotzone.c2.stage import ResponseStage
from hotzone.c2.trust import NodeKey, node_key_for, operators_path
from hotzone.c2.webauthn import RelyingParty
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import StageService, encode_tick
from hotzone.runtime.stages import response_stage
from hotzone.sim.scenario import load_scenario
from hotzone.types import (
    AnyMessage,
    AuditRecord,
    DecisionOutcome,
    OperatorRole,
    Proposal,
    RunMode,
    TaskOrder,
    from_json,
    to_json,
)

RELYING_PARTY = RelyingParty(rp_id="localhost", origins=frozenset({"http://localhost:8080"}))


@dataclass
class Crew:
    """Enrolled in the nation's registry file: PL operator and commander, a PL observer,
    an LT commander, a revoked PL operator; and keys that are not enrolled."""

    operator: SigningKey
    commander: SigningKey
    observer: SigningKey
    allied_commander: SigningKey
    revoked: SigningKey
    unregistered: SigningKey
    simulation: SigningKey

    @classmethod
    def enrolled(cls, home: Path) -> Crew:
        crew = cls(
            operator=SigningKey.generate("pl.op.kowalska", OperatorRole.OPERATOR),
            commander=SigningKey.generate("pl.cdr.nowak", OperatorRole.COMMANDER),
            observer=SigningKey.generate("pl.obs.wisniewska", OperatorRole.OBSERVER),
            allied_commander=SigningKey.generate("lt.cdr.petraitis", OperatorRole.COMMANDER),
            revoked=SigningKey.generate("pl.op.zielinski", OperatorRole.OPERATOR),
            unregistered=SigningKey.generate("pl.cdr.nowak", OperatorRole.COMMANDER),
            simulation=SigningKey.generate("sim.commander", OperatorRole.COMMANDER, True),
        )
        registry = RegistryFile(operators_path(home))
        for key, nation in (
            (crew.operator, "PL"),
            (crew.commander, "PL"),
            (crew.observer, "PL"),
            (crew.allied_commander, "LT"),
            (crew.revoked, "PL"),
            (crew.simulation, "PL"),
        ):
            registry.enroll(msgspec.structs.replace(key.public, nation=nation))
        registry.revoke(crew.revoked.key_id)
        return crew


@dataclass
class C2OnBus:
    bus: Bus
    home: Path
    nation: str = "PL"
    stage: ResponseStage | None = None
    node_key: NodeKey | None = None
    seen: list[AnyMessage] = field(default_factory=list)
    _service: StageService | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self.node_key = node_key_for(self.nation, self.home)
        bus_stage, self.stage = response_stage(
            load_c2_spec("suwalki-drones"),
            RegistryFile(operators_path(self.home)).current,
            load_scenario("suwalki-drones"),
            mode=RunMode.LIVE,
            nation=self.nation,
            node_key=self.node_key,
            relying_party=RELYING_PARTY,
        )
        self._service = StageService(bus_stage, self.bus, self.nation)
        recorder = await self.bus.subscribe(f"hz.{self.nation}.>", 65536)
        ready = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._service.run(ready)))
        await ready.wait()

        async def record() -> None:
            async for message in recorder:
                try:
                    self.seen.append(from_json(message.payload))
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue

        self._tasks.append(asyncio.create_task(record()))

    async def publish(self, *messages: AnyMessage) -> None:
        for message in messages:
            await self.bus.publish(subject_for(message, self.nation), to_json(message))

    async def publish_raw(self, subject: str, payload: bytes) -> None:
        await self.bus.publish(subject, payload)

    async def tick(self, time: datetime) -> list[AnyMessage]:
        """Step c2 at ``time``; what it published in that step (and all seen before)."""
        assert self._service is not None
        before = len(self.seen)
        done = self._service.ticks_done
        await self.bus.publish(f"hz.{self.nation}.clock", encode_tick(time.timestamp()))
        for _ in range(2000):
            if self._service.ticks_done > done:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)  # let the recorder take what the step published
        return self.seen[before:]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def of_type(messages: Sequence[AnyMessage], kind: type) -> list:  # type: ignore[type-arg]
    return [m for m in messages if isinstance(m, kind)]


def outcome_of(messages: Sequence[AnyMessage], decision_id: str) -> DecisionOutcome:
    found = [m for m in of_type(messages, DecisionOutcome) if m.decision_id == decision_id]
    assert found, f"c2 published no outcome for {decision_id}"
    return found[-1]


def refusals(messages: Sequence[AnyMessage]) -> list[str]:
    return [r.payload for r in of_type(messages, AuditRecord) if r.kind == "refusal"]


__all__ = [
    "RELYING_PARTY",
    "C2OnBus",
    "Crew",
    "Proposal",
    "TaskOrder",
    "of_type",
    "outcome_of",
    "refusals",
]
