"""What NatsBus adds to the `Bus` contract: message ids, redelivery made idempotent,
durable consumers, sector filters, and clear errors for subjects no stream holds."""

from __future__ import annotations

import asyncio

import pytest

from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.bus.nats import (
    BATCH_HEADER,
    MAX_BATCH_BYTES,
    TAGS_HEADER,
    NatsBus,
    NoStreamError,
    RecentIds,
    batch_messages,
    filters_intersection,
    nation_streams,
    pattern_within,
    patterns_overlap,
)


async def _fresh_bus(url: str, **options: object) -> NatsBus:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), **options)  # type: ignore[arg-type]
    await bus.jetstream.purge_stream("HZ_PL")
    return bus


@pytest.mark.parametrize(
    ("pattern", "covering", "expected"),
    [
        ("hz.PL.det.>", "hz.PL.>", True),
        ("hz.PL.det.*.*", "hz.PL.>", True),
        ("hz.PL.clock", "hz.PL.>", True),
        ("hz.PL", "hz.PL.>", False),
        ("hz.>", "hz.PL.>", False),
        ("hz.*.alert", "hz.PL.>", False),
        ("hz.share.LT.PL.trk", "hz.share.*.PL.>", True),
        ("hz.share.LT.>", "hz.share.*.PL.>", False),
        ("hz.PL.alert", "hz.PL.alert", True),
    ],
)
def test_a_pattern_is_within_a_stream_only_when_all_it_matches_is(
    pattern: str, covering: str, expected: bool
) -> None:
    assert pattern_within(pattern, covering) is expected


def test_the_idempotency_window_remembers_the_last_ids_only() -> None:
    recent = RecentIds(capacity=2)
    assert recent.add("a") and recent.add("b")
    assert not recent.add("a")
    assert recent.add("c")  # evicts b, the least recently seen
    assert recent.add("b")
    assert not recent.add("c")


def test_a_retried_publish_with_the_same_id_is_stored_and_delivered_once(nats_url: str) -> None:
    async def scenario() -> tuple[list[bytes], int, int]:
        bus = await _fresh_bus(nats_url)
        subscription = await bus.subscribe("hz.PL.>")
        for _ in range(3):
            await bus.publish("hz.PL.alert", b"once", {MESSAGE_ID_HEADER: "alert-1"})
        await bus.publish("hz.PL.alert", b"next", {MESSAGE_ID_HEADER: "alert-2"})
        received = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            received.append(message.payload)
        stored = (await bus.jetstream.stream_info("HZ_PL")).state.messages
        refused = bus.counters.duplicates_refused
        await bus.close()
        return received, stored, refused

    received, stored, refused = asyncio.run(scenario())
    assert received == [b"once", b"next"]
    assert stored == 2
    assert refused == 2


def test_a_redelivered_message_is_dropped_by_the_subscription(nats_url: str) -> None:
    async def scenario() -> tuple[list[bytes], int]:
        bus = await _fresh_bus(nats_url)
        bus.ack_wait_s = 1.0
        subscription = await bus.subscribe("hz.PL.>", max_pending=1)
        await bus.publish("hz.PL.alert", b"first")
        first = await subscription.next(timeout_s=10.0)
        assert first is not None
        # The acknowledgement is lost (as in a leader election): past ack_wait the server
        # sends "first" again.
        subscription._handed_out.clear()
        await asyncio.sleep(2.5)
        await bus.publish("hz.PL.alert", b"second")
        received = [first.payload]
        while (message := await subscription.next(timeout_s=2.0)) is not None:
            received.append(message.payload)
        dropped = subscription.counters.duplicates_dropped
        await bus.close()
        return received, dropped

    received, dropped = asyncio.run(scenario())
    assert received == [b"first", b"second"]
    assert dropped >= 1


def test_a_durable_consumer_resumes_after_its_process_stops(nats_url: str) -> None:
    async def scenario() -> list[bytes]:
        bus = await _fresh_bus(nats_url, durable_prefix="recorder-resume")
        subscription = await bus.subscribe("hz.PL.>")
        for index in range(4):
            await bus.publish("hz.PL.alert", bytes([index]))
        first = await subscription.next(timeout_s=10.0)
        second = await subscription.next(timeout_s=10.0)
        assert first is not None and second is not None
        await bus.close()  # the second message was handed out, so it is acknowledged
        restarted = await NatsBus.connect(
            nats_url, nation_streams("PL", archives=False), durable_prefix="recorder-resume"
        )
        resumed = await restarted.subscribe("hz.PL.>")
        rest = []
        while (message := await resumed.next(timeout_s=0.5)) is not None:
            rest.append(message.payload)
        await restarted.close()
        return [first.payload, second.payload, *rest]

    assert asyncio.run(scenario()) == [bytes([index]) for index in range(4)]


def test_read_filters_narrow_a_nation_wide_subscription_keeping_the_order(nats_url: str) -> None:
    async def scenario() -> list[str]:
        bus = await _fresh_bus(
            nats_url, read_filters=["hz.PL.det.north.>", "hz.PL.trk.north", "hz.PL.clock"]
        )
        subscription = await bus.subscribe("hz.PL.>")
        for subject in (
            "hz.PL.det.north.r1",
            "hz.PL.det.south.r1",
            "hz.PL.clock",
            "hz.PL.trk.south",
            "hz.PL.trk.north",
            "hz.PL.alert",
            "hz.PL.clock",
        ):
            await bus.publish(subject, b"")
        received = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            received.append(message.subject)
        await bus.close()
        return received

    assert asyncio.run(scenario()) == [
        "hz.PL.det.north.r1",
        "hz.PL.clock",
        "hz.PL.trk.north",
        "hz.PL.clock",
    ]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("hz.PL.det.>", "hz.PL.det.north.r1", True),
        ("hz.PL.*.north", "hz.PL.det.>", True),
        ("hz.PL.det.>", "hz.PL.trk.>", False),
        ("hz.PL.clock", "hz.PL.clock.x", False),
        ("hz.PL.det.*", "hz.PL.det.north.r1", False),
        ("hz.PL.*", "hz.PL.alert", True),
    ],
)
def test_patterns_overlap_when_some_subject_matches_both(
    first: str, second: str, expected: bool
) -> None:
    assert patterns_overlap(first, second) is expected
    assert patterns_overlap(second, first) is expected


def test_filters_intersection_keeps_the_narrower_of_each_nested_pair() -> None:
    sector_node = ["hz.PL.det.north.>", "hz.PL.trk.north", "hz.PL.clock"]
    tracker = ["hz.PL.det.>", "hz.PL.clock"]
    assert filters_intersection(sector_node, tracker) == ["hz.PL.det.north.>", "hz.PL.clock"]
    c2 = ["hz.PL.trk.>", "hz.PL.alert", "hz.PL.clock", "hz.PL.done.>"]
    assert filters_intersection(["hz.PL.>"], c2) == c2
    # Overlapping subjects become one filter (the server refuses overlapping ones).
    assert filters_intersection(["hz.PL.>"], ["hz.PL.det.>", "hz.PL.det.*.r1"]) == ["hz.PL.det.>"]


def test_filters_intersection_reads_more_rather_than_less_where_it_cannot_narrow() -> None:
    # A partial overlap is not a list of patterns: the filters stay as they were.
    assert filters_intersection(["hz.PL.*.north"], ["hz.PL.det.>"]) == ["hz.PL.*.north"]
    # Nothing in common: no filter subject would read the whole stream.
    assert filters_intersection(["hz.PL.det.north.>"], ["hz.PL.alert"]) == ["hz.PL.det.north.>"]


def test_subjects_narrow_a_consumer_within_the_read_filters_keeping_the_order(
    nats_url: str,
) -> None:
    published = (
        "hz.PL.det.north.r1",
        "hz.PL.det.south.r1",
        "hz.PL.clock",
        "hz.PL.trk.north",
        "hz.PL.alert",
        "hz.PL.done.fusion-north",
        "hz.PL.clock",
    )

    async def received(read_filters: list[str] | None, subjects: list[str]) -> list[str]:
        bus = await _fresh_bus(nats_url, read_filters=read_filters)
        subscription = await bus.subscribe("hz.PL.>", subjects=subjects)
        for subject in published:
            await bus.publish(subject, b"")
        taken = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            taken.append(message.subject)
        await bus.close()
        return taken

    owner_c2 = ["hz.PL.trk.>", "hz.PL.alert", "hz.PL.clock", "hz.PL.done.>"]
    assert asyncio.run(received(None, owner_c2)) == [
        "hz.PL.clock",
        "hz.PL.trk.north",
        "hz.PL.alert",
        "hz.PL.done.fusion-north",
        "hz.PL.clock",
    ]
    sector_node = ["hz.PL.det.north.>", "hz.PL.trk.north", "hz.PL.clock"]
    assert asyncio.run(received(sector_node, ["hz.PL.det.>", "hz.PL.clock"])) == [
        "hz.PL.det.north.r1",
        "hz.PL.clock",
        "hz.PL.clock",
    ]


def test_a_narrowed_durable_consumer_resumes_and_its_history_holds_only_its_subjects(
    nats_url: str,
) -> None:
    subjects = ["hz.PL.det.>", "hz.PL.clock"]

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        first = await _fresh_bus(nats_url, durable_prefix="narrowed")
        subscription = await first.subscribe("hz.PL.>", subjects=subjects)
        for subject in ("hz.PL.det.a.r1", "hz.PL.alert", "hz.PL.clock"):
            await first.publish(subject, b"")
        before = []
        for _ in range(2):
            message = await subscription.next(timeout_s=2.0)
            assert message is not None
            before.append(message.subject)
        await first.close()
        publisher = await NatsBus.connect(nats_url, nation_streams("PL", archives=False))
        for subject in ("hz.PL.trk.a", "hz.PL.det.a.r2"):
            await publisher.publish(subject, b"")
        await publisher.close()
        restarted = await NatsBus.connect(
            nats_url, nation_streams("PL", archives=False), durable_prefix="narrowed"
        )
        resumed = await restarted.subscribe("hz.PL.>", subjects=subjects)
        history = [message.subject async for message in resumed.history()]
        after = []
        while (message := await resumed.next(timeout_s=0.5)) is not None:
            after.append(message.subject)
        await restarted.delete_durables("narrowed")
        await restarted.close()
        return before, history, after

    before, history, after = asyncio.run(scenario())
    assert before == ["hz.PL.det.a.r1", "hz.PL.clock"]
    assert history == ["hz.PL.det.a.r1", "hz.PL.clock"]
    assert after == ["hz.PL.det.a.r2"]


def test_subjects_and_patterns_outside_every_stream_are_refused_by_name(nats_url: str) -> None:
    async def scenario() -> None:
        bus = await _fresh_bus(nats_url)
        with pytest.raises(NoStreamError, match=r"hz\.LT\.alert"):
            await bus.publish("hz.LT.alert", b"")
        with pytest.raises(NoStreamError, match=r"no stream holds all of 'hz\.>'"):
            await bus.subscribe("hz.>")
        await bus.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("reader_cancelled", [True, False])
def test_closing_the_bus_under_a_waiting_reader_leaves_no_poll_to_fail_at_shutdown(
    nats_url: str, reader_cancelled: bool
) -> None:
    """A service stopping cancels its readers (or not) and closes its bus, then returns:
    no long poll may outlive the connection, or asyncio.run's shutdown reports the
    closed connection's error after the command's last line (a gateway's 'stopped:')."""
    reported: list[str] = []
    ended: list[object] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reported.append(str(context.get("message")))
        )
        bus = await _fresh_bus(nats_url)
        subscriptions = [await bus.subscribe("hz.PL.>") for _ in range(4)]
        readers = [asyncio.create_task(s.next()) for s in subscriptions]
        await asyncio.sleep(0.3)  # each reader is now in its long poll
        if reader_cancelled:  # as a service's runner: cancelled, then it unsubscribes
            for reader in readers:
                reader.cancel()
            for subscription in subscriptions:
                await subscription.unsubscribe()
        await bus.close()
        for reader in readers:
            try:
                ended.append(await reader)
            except asyncio.CancelledError:
                ended.append("cancelled")

    for _ in range(5):
        asyncio.run(scenario())
    assert reported == []
    assert ended == (["cancelled"] * 20 if reader_cancelled else [None] * 20)


def test_a_batch_is_one_stored_message_and_the_same_batch_again_a_duplicate(
    nats_url: str,
) -> None:
    async def scenario() -> tuple[int, list[bytes], int]:
        bus = await _fresh_bus(nats_url)
        subscription = await bus.subscribe("hz.PL.>")
        items = [(f"tick-3/tracker/{index}", b"t%d" % index) for index in range(100)]
        await bus.publish_batch("hz.PL.trk.north", items)
        await bus.publish_batch("hz.PL.trk.north", items)  # a restarted stage, same step
        stored = (await bus.jetstream.stream_info("HZ_PL")).state.messages
        received = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            received.append(message.payload)
        refused = bus.counters.duplicates_refused
        await bus.close()
        return stored, received, refused

    stored, received, refused = asyncio.run(scenario())
    assert stored == 1
    assert received == [b"t%d" % index for index in range(100)]
    assert refused == 1


def test_a_batch_over_the_size_limit_goes_as_several_messages_in_order(nats_url: str) -> None:
    items = [(f"big/{index}", bytes([65 + index % 26]) * 40_000) for index in range(20)]
    messages = batch_messages("hz.PL.trk.north", items)
    assert len(messages) > 1
    assert all(len(payload) <= MAX_BATCH_BYTES + 4_096 for _, payload, _ in messages)

    async def scenario() -> tuple[int, list[bytes]]:
        bus = await _fresh_bus(nats_url)
        subscription = await bus.subscribe("hz.PL.>")
        await bus.publish_batch("hz.PL.trk.north", items)
        stored = (await bus.jetstream.stream_info("HZ_PL")).state.messages
        received = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            received.append(message.payload)
        await bus.close()
        return stored, received

    stored, received = asyncio.run(scenario())
    assert stored == len(messages)
    assert received == [payload for _, payload in items]


@pytest.mark.parametrize(
    ("payload", "count"),
    [(b"not messagepack at all", "3"), (b"\x91\x91\x92\xa1a\xc4\x01x", "2"), (b"\x91\x90", "0")],
    ids=["garbage", "count-wrong", "empty"],
)
def test_a_forged_batch_is_handed_out_raw_for_its_reader_to_dead_letter(
    nats_url: str, payload: bytes, count: str
) -> None:
    """Someone publishes a message marked as a batch that is not one (or lies about its
    count): it is handed out as it came, one message, so the reader's decoding refuses it
    and routes the raw bytes to a dead letter, as for any malformed message."""

    async def scenario() -> list[tuple[bytes, str | None]]:
        bus = await _fresh_bus(nats_url)
        subscription = await bus.subscribe("hz.PL.>")
        await bus.jetstream.publish("hz.PL.trk.north", payload, headers={BATCH_HEADER: count})
        received = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            received.append((message.payload, message.headers.get(BATCH_HEADER)))
        await bus.close()
        return received

    assert asyncio.run(scenario()) == [(payload, count)]


def test_a_batch_partly_handled_when_its_reader_stops_comes_again_whole(nats_url: str) -> None:
    """At least once: a reader that stops after two of five items hands the batch back;
    the durable consumer's next reader gets all five, in order."""

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        bus = await _fresh_bus(nats_url, durable_prefix="batch-resume")
        subscription = await bus.subscribe("hz.PL.>")
        items = [(f"tick-9/tracker/{index}", b"t%d" % index) for index in range(5)]
        await bus.publish_batch("hz.PL.trk.north", items)
        first = []
        for _ in range(2):
            message = await subscription.next(timeout_s=10.0)
            assert message is not None
            first.append(message.payload)
        await bus.close()
        restarted = await NatsBus.connect(
            nats_url, nation_streams("PL", archives=False), durable_prefix="batch-resume"
        )
        resumed = await restarted.subscribe("hz.PL.>")
        again = []
        while (message := await resumed.next(timeout_s=0.5)) is not None:
            again.append(message.payload)
        await restarted.close()
        return first, again

    first, again = asyncio.run(scenario())
    assert first == [b"t0", b"t1"]
    assert again == [b"t%d" % index for index in range(5)]


def test_next_batch_acknowledges_what_it_handed_out_when_more_is_asked_for(
    nats_url: str,
) -> None:
    """Items taken in one call are acknowledged as with `next`: once the subscriber asks
    for more (a process stopped before then gets them again), a stored batch once its
    last item was handed out; with ``hold_acks`` only by `acknowledge`."""

    async def scenario() -> list[int]:
        bus = await _fresh_bus(nats_url)
        subscription = await bus.subscribe("hz.PL.>", durable="batch-acks")
        await bus.publish_batch("hz.PL.trk.north", [(f"w/{i}", b"track") for i in range(6)])
        await bus.publish("hz.PL.alert", b"alert")
        unacknowledged = []

        async def count_unacknowledged(until: int | None = None) -> None:
            """The server applies acknowledgements a little after it receives them: wait
            (at most 5 s) for ``until``, else look once half a second later."""
            await bus.client.flush()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (5.0 if until is not None else 0.5)
            while True:
                info = await bus.jetstream.consumer_info("HZ_PL", "batch-acks")
                if info.num_ack_pending == until or loop.time() > deadline:
                    break
                await asyncio.sleep(0.05)
            unacknowledged.append(info.num_ack_pending)

        first = await subscription.next_batch(4, timeout_s=10.0)
        await count_unacknowledged()  # the batch (4 of 6 handed out) and the alert
        rest = await subscription.next_batch(10, timeout_s=10.0)
        await count_unacknowledged()  # all handed out, nothing more asked for yet
        assert await subscription.next_batch(10, timeout_s=0.3) == []
        await count_unacknowledged(until=0)  # asked for more: both acknowledged
        subscription.hold_acks = True
        await bus.publish("hz.PL.alert", b"held")
        held = await subscription.next_batch(10, timeout_s=10.0)
        assert await subscription.next_batch(10, timeout_s=0.3) == []
        await count_unacknowledged()  # held until the subscriber says it is kept
        await subscription.acknowledge()
        await count_unacknowledged(until=0)
        assert len(first) == 4 and [m.payload for m in rest] == [b"track"] * 2 + [b"alert"]
        assert [m.payload for m in held] == [b"held"]
        await bus.close()
        return unacknowledged

    assert asyncio.run(scenario()) == [2, 2, 0, 1, 0]


def _tagged(tag: str, number: int) -> bytes:
    return b'{"type":"%s","n":%d}' % (tag.encode(), number)


def test_a_batch_says_its_items_types_when_each_names_one() -> None:
    detections = [(f"d/{n}", _tagged("detection", n)) for n in range(3)]
    mixed = [*detections, ("r/1", _tagged("report", 1))]
    untagged = [*detections, ("x/1", b"[1,2]")]
    assert batch_messages("hz.PL.det.north.r", detections)[0][2][TAGS_HEADER] == "detection"
    assert batch_messages("hz.PL.det.north.r", mixed)[0][2][TAGS_HEADER] == "detection,report"
    assert TAGS_HEADER not in batch_messages("hz.PL.det.north.r", untagged)[0][2]
    odd = [*detections, ("o/1", b'{"type":"det\\r\\nX: y","n":1}')]
    assert TAGS_HEADER not in batch_messages("hz.PL.det.north.r", odd)[0][2]


def test_a_batch_of_types_its_reader_never_takes_is_passed_over_whole_a_mixed_one_opened(
    nats_url: str,
) -> None:
    """A reader passing over detections (the owner's assessment, which reads the detection
    subjects for the reports among them) is handed nothing of a batch of detections, nor a
    lone detection, and every item of a batch that also holds a report (which item to
    drop is its own business): what it passed over is acknowledged with the rest, so a
    restarted reader gets none of it again."""

    async def scenario() -> tuple[list[bytes], int, list[bytes]]:
        bus = await _fresh_bus(nats_url, durable_prefix="pass-over")
        subscription = await bus.subscribe("hz.PL.>")
        subscription.pass_over(frozenset({b"detection"}))
        subject = "hz.PL.det.north.r"
        await bus.publish_batch(subject, [(f"d/{n}", _tagged("detection", n)) for n in range(4)])
        mixed = [("m/1", _tagged("detection", 5)), ("m/2", _tagged("report", 6))]
        await bus.publish_batch(subject, [*mixed, ("m/3", _tagged("detection", 7))])
        await bus.publish(subject, _tagged("detection", 8), {MESSAGE_ID_HEADER: "d/8"})
        await bus.publish(subject, _tagged("report", 9), {MESSAGE_ID_HEADER: "r/9"})
        await bus.publish_batch(subject, [("u/1", b"[10]"), ("u/2", _tagged("detection", 11))])
        received = []
        while (message := await subscription.next(timeout_s=0.5)) is not None:
            received.append(message.payload)
        passed_over = subscription.counters.passed_over
        await bus.close()
        restarted = await NatsBus.connect(
            nats_url, nation_streams("PL", archives=False), durable_prefix="pass-over"
        )
        again = await restarted.subscribe("hz.PL.>")
        redelivered = []
        while (message := await again.next(timeout_s=0.5)) is not None:
            redelivered.append(message.payload)
        await restarted.close()
        return received, passed_over, redelivered

    received, passed_over, redelivered = asyncio.run(scenario())
    assert received == [
        _tagged("detection", 5),
        _tagged("report", 6),
        _tagged("detection", 7),
        _tagged("report", 9),
        b"[10]",  # a batch that does not say its types is opened
        _tagged("detection", 11),
    ]
    assert passed_over == 2
    assert redelivered == []
