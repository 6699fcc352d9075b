"""The in-process bus: NATS subject semantics, order, back-pressure and closing."""

from __future__ import annotations

import asyncio

import pytest

from hotzone.bus import BusClosedError, InProcessBus
from hotzone.types.subjects import SubjectError, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("hz.PL.det.*.*", "hz.PL.det.suwalki.radar1", True),
        ("hz.PL.det.*", "hz.PL.det.suwalki.radar1", False),
        ("hz.PL.det.>", "hz.PL.det.suwalki.radar1", True),
        ("hz.PL.det.>", "hz.PL.det", False),
        ("hz.*.alert", "hz.LT.alert", True),
        ("hz.*.alert", "hz.LT.alerts", False),
        ("hz.>", "hz.share.NATO", True),
        ("hz.PL.trk.suwalki", "hz.PL.trk.suwalki", True),
        ("hz.PL.trk.suwalki", "hz.PL.trk.augustow", False),
    ],
)
def test_wildcards_match_as_in_nats(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


async def _collect(bus: InProcessBus, pattern: str, into: list[str]) -> None:
    subscription = await bus.subscribe(pattern)
    async for message in subscription:
        into.append(message.subject + ":" + message.payload.decode())


def test_each_subscriber_gets_its_matching_messages_in_order() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        bus = InProcessBus()
        detections: list[str] = []
        everything: list[str] = []
        tasks = [
            asyncio.create_task(_collect(bus, "hz.PL.det.>", detections)),
            asyncio.create_task(_collect(bus, "hz.>", everything)),
        ]
        await asyncio.sleep(0)
        for index in range(100):
            await bus.publish(f"hz.PL.det.s{index % 3}.radar", str(index).encode())
            await bus.publish("hz.PL.alert", str(index).encode())
        await bus.close()
        await asyncio.gather(*tasks)
        return detections, everything

    detections, everything = asyncio.run(scenario())
    assert [item.split(":")[1] for item in detections] == [str(i) for i in range(100)]
    assert len(everything) == 200
    assert everything[1] == "hz.PL.alert:0"


def test_subjects_narrow_a_subscription_keeping_the_order() -> None:
    async def scenario() -> list[str]:
        bus = InProcessBus()
        narrowed = await bus.subscribe("hz.PL.>", subjects=("hz.PL.trk.>", "hz.PL.clock"))
        for subject in ("hz.PL.det.a.r1", "hz.PL.clock", "hz.PL.alert", "hz.PL.trk.a"):
            await bus.publish(subject, b"")
        await bus.close()
        return [message.subject async for message in narrowed]

    assert asyncio.run(scenario()) == ["hz.PL.clock", "hz.PL.trk.a"]


def test_a_full_queue_makes_the_publisher_wait_instead_of_growing() -> None:
    async def scenario() -> tuple[int, int, int]:
        bus = InProcessBus()
        subscription = await bus.subscribe("hz.>", max_pending=5)
        published = 0

        async def producer() -> None:
            nonlocal published
            for index in range(20):
                await bus.publish("hz.PL.alert", bytes([index]))
                published += 1

        task = asyncio.create_task(producer())
        for _ in range(10):
            await asyncio.sleep(0)
        stalled_at = published
        pending = subscription.pending
        received = 0
        while received < 20:
            message = await subscription.next(timeout_s=1.0)
            assert message is not None
            assert message.payload == bytes([received])
            received += 1
        await task
        await bus.close()
        return stalled_at, pending, received

    stalled_at, pending, received = asyncio.run(scenario())
    assert stalled_at == 5
    assert pending == 5
    assert received == 20


def test_closing_ends_iteration_after_what_was_delivered() -> None:
    async def scenario() -> list[bytes]:
        bus = InProcessBus()
        subscription = await bus.subscribe("hz.>", max_pending=3)
        for index in range(3):
            await bus.publish("hz.PL.alert", bytes([index]))
        await bus.close()
        return [message.payload async for message in subscription]

    assert asyncio.run(scenario()) == [b"\x00", b"\x01", b"\x02"]


def test_unsubscribing_releases_a_waiting_publisher() -> None:
    async def scenario() -> bool:
        bus = InProcessBus()
        subscription = await bus.subscribe("hz.>", max_pending=1)
        await bus.publish("hz.PL.alert", b"1")
        blocked = asyncio.create_task(bus.publish("hz.PL.alert", b"2"))
        await asyncio.sleep(0)
        assert not blocked.done()
        await subscription.unsubscribe()
        await asyncio.wait_for(blocked, 1.0)
        return blocked.done()

    assert asyncio.run(scenario())


def test_bad_subjects_and_closed_bus_are_clear_errors() -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        with pytest.raises(SubjectError, match="wildcard"):
            await bus.publish("hz.PL.*", b"")
        with pytest.raises(SubjectError, match="last token"):
            await bus.subscribe("hz.>.det")
        with pytest.raises(ValueError, match="bounded"):
            await bus.subscribe("hz.>", max_pending=0)
        await bus.close()
        with pytest.raises(BusClosedError, match="closed"):
            await bus.publish("hz.PL.alert", b"")

    asyncio.run(scenario())


def test_a_subscriber_publishing_onto_its_own_full_queue_does_not_wait_for_itself() -> None:
    async def scenario() -> list[bytes]:
        bus = InProcessBus()
        subscription = await bus.subscribe("hz.>", max_pending=2)
        seen: list[bytes] = []

        async def stage() -> None:
            # Reads its input, then publishes more outputs than its queue holds, as a stage
            # emitting a burst of tracks or dead letters does.
            message = await subscription.next(timeout_s=1.0)
            assert message is not None
            for index in range(5):
                await bus.publish("hz.PL.trk.s1", bytes([index]))
            while (message := await subscription.next(timeout_s=0.1)) is not None:
                seen.append(message.payload)

        task = asyncio.create_task(stage())
        await bus.publish("hz.PL.det.s1.r1", b"input")
        await asyncio.wait_for(task, 2.0)
        await bus.close()
        return seen

    assert asyncio.run(scenario()) == [bytes([i]) for i in range(5)]


def test_dead_letters_of_any_source_name_have_a_valid_subject() -> None:
    from hotzone.types.subjects import dead_letter_subject

    assert dead_letter_subject("PL", "fusion/sat-s2a") == "hz.PL.dead.fusion_sat-s2a"
    assert dead_letter_subject("PL", "tests/in.jsonl:12") == "hz.PL.dead.tests_in_jsonl_12"
    assert subject_matches("hz.PL.dead.>", dead_letter_subject("PL", ""))


def test_a_subscription_selects_by_its_patterns_whatever_it_has_seen_before() -> None:
    """A subscription remembers which subjects it selects (a run publishes on a few
    hundred): two with overlapping patterns each get exactly theirs, the same subject
    again and again, and past the bound of subjects remembered."""

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        bus = InProcessBus()
        tracks = await bus.subscribe("hz.PL.>", 20_000, subjects=["hz.PL.trk.>"])
        sector = await bus.subscribe("hz.PL.*.s7", 20_000)
        subjects = [f"hz.PL.{family}.s{n}" for n in range(2_500) for family in ("trk", "det")]
        published = [*subjects, *subjects[:40], "hz.LT.trk.s7", "hz.PL.trk.s7.x"]
        for subject in published:
            await bus.publish(subject, b"{}")
        await bus.close()
        return (
            [m.subject async for m in tracks],
            [m.subject async for m in sector],
            published,
        )

    tracks, sector, published = asyncio.run(scenario())
    assert tracks == [s for s in published if subject_matches("hz.PL.trk.>", s)]
    assert len(tracks) == 2_500 + 20 + 1
    assert sector == [s for s in published if subject_matches("hz.PL.*.s7", s)]
    assert len(sector) == 4  # twice each of the PL subjects of sector 7
