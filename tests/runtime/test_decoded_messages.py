"""The stage services of one process decode each message once between them (the owner's
assessment and c2 take the same tracks): the second stage gets the first one's object,
a malformed message is dead-lettered by each stage and never kept, and the memory is
bounded."""

from __future__ import annotations

import asyncio

from bench.federation import SECTORS, synthetic_backlog

from hotzone.bus import BusMessage
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.bus.inprocess import InProcessBus
from hotzone.runtime.node import node_stages, share_decoded
from hotzone.runtime.services import DecodedMessages, StageService
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import load_scenario
from hotzone.types import DeadLetter, Detection, to_json


def _message(index: int, payload: bytes | None = None) -> BusMessage:
    detection = synthetic_backlog(SECTORS[:1], 1, 1)[0][1][0]
    return BusMessage(
        subject="hz.PL.det.s1.r1",
        payload=to_json(detection) if payload is None else payload,
        headers={MESSAGE_ID_HEADER: f"m-{index}"},
    )


def test_a_message_is_decoded_once_for_every_stage_of_the_process() -> None:
    decoded = DecodedMessages(frozenset({b"detection"}))
    first = decoded.decode(_message(1), "assess")
    again = decoded.decode(_message(1), "c2")
    assert isinstance(first, Detection) and again is first and decoded.hits == 1
    other = decoded.decode(_message(2), "c2")
    assert other is not first and other == first and decoded.hits == 1
    # A type no other stage takes is not kept.
    tracks_only = DecodedMessages(frozenset({b"track"}))
    assert tracks_only.decode(_message(1), "fusion") is not tracks_only.decode(_message(1), "x")
    # Without an id nothing names it: decoded each time.
    anonymous = BusMessage(subject="hz.PL.det.s1.r1", payload=to_json(first), headers={})
    assert decoded.decode(anonymous, "c2") is not decoded.decode(anonymous, "c2")


def test_a_malformed_message_is_dead_lettered_by_each_stage_and_never_kept() -> None:
    decoded = DecodedMessages(frozenset({b"detection"}))
    bad = _message(3, b'{"type":"detection","x":')
    for stage in ("assess", "c2"):
        letter = decoded.decode(bad, stage)
        assert isinstance(letter, DeadLetter) and letter.source == stage
    assert decoded.hits == 0


def test_what_is_kept_is_bounded_the_oldest_forgotten_first() -> None:
    decoded = DecodedMessages(frozenset({b"detection"}), capacity=2)
    kept = [decoded.decode(_message(index), "assess") for index in range(3)]
    assert decoded.decode(_message(2), "c2") is kept[2]
    assert decoded.decode(_message(1), "c2") is kept[1]
    assert decoded.decode(_message(0), "c2") is not kept[0]  # forgotten, decoded again
    assert decoded.hits == 2


def test_a_nodes_stage_services_share_the_types_several_take_a_lone_service_nothing() -> None:
    async def services_of(owner: bool) -> list[StageService]:
        scenario = load_scenario("suwalki-drones")
        stages = build_stages(scenario, nation="PL").stages
        chosen = node_stages(stages, scenario, () if owner else ("suwalki",), owner)
        services = [StageService(stage, InProcessBus(), "PL") for stage in chosen]
        share_decoded(services)
        return services

    owner = asyncio.run(services_of(True))
    assert len(owner) > 1 and owner[0].decoded is not None
    assert all(service.decoded is owner[0].decoded for service in owner)
    # The assessment and c2 take tracks (and events), the tracker and the assessment
    # reports; detections are the tracker's alone, assessments c2's.
    assert owner[0].decoded.tags == {b"track", b"report", b"event"}
    [sector_node] = asyncio.run(services_of(False))
    assert sector_node.decoded is None
