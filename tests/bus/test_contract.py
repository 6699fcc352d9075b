"""The `Bus` contract, run against every implementation: the in-process bus and NatsBus on
a real nats-server with JetStream. Services written against one run on the other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hotzone.bus import Bus, BusClosedError, InProcessBus
from hotzone.bus.nats import NatsBus, nation_streams
from hotzone.types.subjects import SubjectError

BusFactory = Callable[[], Awaitable[Bus]]


@pytest.fixture(params=["inprocess", "nats"])
def make_bus(request: pytest.FixtureRequest) -> BusFactory:
    if request.param == "inprocess":

        async def inprocess() -> Bus:
            return InProcessBus()

        return inprocess
    url: str = request.getfixturevalue("nats_url")

    async def nats_bus() -> Bus:
        bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
        # Each test starts from an empty log, as a fresh in-process bus would.
        await bus.jetstream.purge_stream("HZ_PL")
        return bus

    return nats_bus


async def _read(subscription: object, count: int) -> list[tuple[str, bytes]]:
    received = []
    for _ in range(count):
        message = await subscription.next(timeout_s=10.0)  # type: ignore[attr-defined]
        assert message is not None, f"only {len(received)} of {count} messages arrived"
        received.append((message.subject, message.payload))
    return received


def test_each_subscriber_gets_its_matching_messages_in_order(make_bus: BusFactory) -> None:
    async def scenario() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        bus = await make_bus()
        detections = await bus.subscribe("hz.PL.det.>")
        everything = await bus.subscribe("hz.PL.>")
        for index in range(60):
            await bus.publish(f"hz.PL.det.s{index % 3}.radar", str(index).encode())
            await bus.publish("hz.PL.alert", str(index).encode())
        result = await _read(detections, 60), await _read(everything, 120)
        await bus.close()
        return result

    detections, everything = asyncio.run(scenario())
    assert [payload for _, payload in detections] == [str(i).encode() for i in range(60)]
    assert {subject for subject, _ in detections} == {f"hz.PL.det.s{i}.radar" for i in range(3)}
    assert everything[1] == ("hz.PL.alert", b"0")
    assert [payload for _, payload in everything[::2]] == [str(i).encode() for i in range(60)]


def test_single_token_wildcards_select_one_token(make_bus: BusFactory) -> None:
    async def scenario() -> list[str]:
        bus = await make_bus()
        subscription = await bus.subscribe("hz.PL.det.*.radar1")
        for subject in ("hz.PL.det.a.radar1", "hz.PL.det.a.radar2", "hz.PL.det.b.radar1"):
            await bus.publish(subject, b"x")
        await bus.publish("hz.PL.alert", b"end")
        received = [subject for subject, _ in await _read(subscription, 2)]
        extra = await subscription.next(timeout_s=0.3)
        await bus.close()
        assert extra is None
        return received

    assert asyncio.run(scenario()) == ["hz.PL.det.a.radar1", "hz.PL.det.b.radar1"]


def test_headers_travel_with_the_message(make_bus: BusFactory) -> None:
    async def scenario() -> dict[str, str]:
        bus = await make_bus()
        subscription = await bus.subscribe("hz.PL.clock")
        await bus.publish("hz.PL.clock", b"\x00", {"kind": "tick"})
        message = await subscription.next(timeout_s=10.0)
        await bus.close()
        assert message is not None
        return dict(message.headers)

    assert asyncio.run(scenario())["kind"] == "tick"


def test_a_slow_subscriber_holds_at_most_max_pending_and_loses_nothing(
    make_bus: BusFactory,
) -> None:
    async def scenario() -> tuple[int, list[bytes]]:
        bus = await make_bus()
        subscription = await bus.subscribe("hz.PL.>", max_pending=5)

        async def producer() -> None:
            for index in range(40):
                await bus.publish("hz.PL.alert", bytes([index]))

        task = asyncio.create_task(producer())
        most_pending = 0
        received: list[bytes] = []
        while len(received) < 40:
            message = await subscription.next(timeout_s=10.0)
            assert message is not None
            most_pending = max(most_pending, subscription.pending)  # type: ignore[attr-defined]
            received.append(message.payload)
            await asyncio.sleep(0)
        await task
        await bus.close()
        return most_pending, received

    most_pending, received = asyncio.run(scenario())
    assert most_pending <= 5
    assert received == [bytes([index]) for index in range(40)]


def test_closing_ends_iteration_with_a_prefix_of_what_was_published(
    make_bus: BusFactory,
) -> None:
    async def scenario() -> list[bytes]:
        bus = await make_bus()
        subscription = await bus.subscribe("hz.PL.>", max_pending=8)
        for index in range(3):
            await bus.publish("hz.PL.alert", bytes([index]))
        first = await subscription.next(timeout_s=10.0)
        assert first is not None
        await bus.close()
        rest = await asyncio.wait_for(_drain(subscription), 10.0)
        return [first.payload, *rest]

    received = asyncio.run(scenario())
    assert received == [b"\x00", b"\x01", b"\x02"][: len(received)]


async def _drain(subscription: object) -> list[bytes]:
    return [message.payload async for message in subscription]  # type: ignore[attr-defined]


def test_after_unsubscribing_nothing_more_arrives(make_bus: BusFactory) -> None:
    async def scenario() -> object:
        bus = await make_bus()
        subscription = await bus.subscribe("hz.PL.>")
        await subscription.unsubscribe()
        await bus.publish("hz.PL.alert", b"late")
        late = await subscription.next(timeout_s=0.3)
        await bus.close()
        return late

    assert asyncio.run(scenario()) is None


def test_bad_subjects_and_a_closed_bus_are_clear_errors(make_bus: BusFactory) -> None:
    async def scenario() -> None:
        bus = await make_bus()
        with pytest.raises(SubjectError, match="wildcard"):
            await bus.publish("hz.PL.*", b"")
        with pytest.raises(SubjectError, match="last token"):
            await bus.subscribe("hz.PL.>.det")
        with pytest.raises(ValueError, match="bounded"):
            await bus.subscribe("hz.PL.>", max_pending=0)
        await bus.close()
        with pytest.raises(BusClosedError, match="closed"):
            await bus.publish("hz.PL.alert", b"")

    asyncio.run(scenario())


def test_a_batch_reaches_each_subscriber_as_its_items_in_order_with_their_ids(
    make_bus: BusFactory,
) -> None:
    async def scenario() -> list[tuple[str, bytes, str, str]]:
        bus = await make_bus()
        tracks = await bus.subscribe("hz.PL.trk.>")
        await bus.publish("hz.PL.trk.north", b"before")
        items = [(f"window-7/tracker/{index}", f"track {index}".encode()) for index in range(5)]
        await bus.publish_batch("hz.PL.trk.north", items, {"origin": "PL"})
        await bus.publish("hz.PL.trk.north", b"after")
        received = []
        for _ in range(7):
            message = await tracks.next(timeout_s=10.0)
            assert message is not None
            received.append(
                (
                    message.subject,
                    message.payload,
                    message.headers.get("Nats-Msg-Id", ""),
                    message.headers.get("origin", ""),
                )
            )
        assert await tracks.next(timeout_s=0.3) is None  # nothing more: no batch message
        await bus.close()
        return received

    received = asyncio.run(scenario())
    assert [payload for _, payload, _, _ in received] == [
        b"before",
        *(f"track {index}".encode() for index in range(5)),
        b"after",
    ]
    assert [message_id for _, _, message_id, _ in received[1:6]] == [
        f"window-7/tracker/{index}" for index in range(5)
    ]
    assert {origin for _, _, _, origin in received[1:6]} == {"PL"}
    assert {subject for subject, _, _, _ in received} == {"hz.PL.trk.north"}


def test_next_batch_hands_out_what_is_there_in_order_up_to_its_limit(
    make_bus: BusFactory,
) -> None:
    """What arrived together in one call, as the same number of `next` calls would give:
    the first waited for, the rest only if already there, a batch's items one by one."""

    async def scenario() -> tuple[list[list[bytes]], list[bytes], list[str]]:
        bus = await make_bus()
        tracks = await bus.subscribe("hz.PL.trk.>")
        assert await tracks.next_batch(10, timeout_s=0.3) == []  # nothing: a timeout
        await bus.publish("hz.PL.trk.north", b"alone")
        items = [(f"window-3/{index}", f"track {index}".encode()) for index in range(5)]
        await bus.publish_batch("hz.PL.trk.north", items)
        await bus.publish("hz.PL.trk.north", b"after")
        calls: list[list[bytes]] = []
        ids: list[str] = []
        received: list[bytes] = []
        while len(received) < 7:
            taken = await tracks.next_batch(4, timeout_s=10.0)
            assert 1 <= len(taken) <= 4
            calls.append([message.payload for message in taken])
            received += [message.payload for message in taken]
            ids += [message.headers.get("Nats-Msg-Id", "") for message in taken]
        assert await tracks.next_batch(4, timeout_s=0.3) == []
        await bus.close()
        return calls, received, ids

    calls, received, ids = asyncio.run(scenario())
    assert received == [b"alone", *(f"track {index}".encode() for index in range(5)), b"after"]
    assert ids[1:6] == [f"window-3/{index}" for index in range(5)]
    assert max(len(call) for call in calls) == 4  # more was there: the limit cut it
