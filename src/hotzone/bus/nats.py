"""The NATS JetStream bus: the `Bus` protocol across processes, servers and nations.

Every subject a nation writes lands in one JetStream *log stream* (``HZ_{NATION}`` for
``hz.{nation}.>``), so a subscription that reads inputs and clock ticks together sees them
in publication order, exactly as on the in-process bus. Per-kind *archive streams*
(detections, tracks, alerts, c2, audit, dead letters) source from the log with their own
retention; `docs/federation.md` lists them and their limits.

Delivery is at least once, made exactly once at the consumer:

- ``publish`` stamps every message with a ``Nats-Msg-Id`` (kept across its retries, so the
  stream's duplicate window drops a retry whose first attempt was stored after all) and
  retries on timeouts, "no responders" and 503s until ``publish_deadline_s``: a stream
  leader election stalls writes for a few seconds and nothing may be lost during it.
- A subscription is a pull consumer. A message is acknowledged when the subscriber asks
  for the next one (it has been handled) and redelivered otherwise; the subscription
  remembers the ids it handed out (an idempotency window) and drops redeliveries.
- Back-pressure: a subscription never holds more than ``max_pending`` messages locally and
  the server never has more than ``2 * max_pending`` unacknowledged for it; publishes in
  flight are bounded; a stream at its limit with ``discard_new`` makes publishers wait.
- ``pipeline_publishes`` (sector nodes use it): ``publish`` returns once the message is
  sent and its confirmation is awaited later, before a subscription of the same bus
  acknowledges its next input (`NatsBus.confirm_publishes`). A stage's outputs then cost
  one round trip per step instead of one each, and an input is still acknowledged only
  after everything published while handling it is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict, TypeVar

import msgspec
import nats
import nats.aio.subscription
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api

from hotzone.bus.base import MESSAGE_ID_HEADER, BusMessage, message_tag
from hotzone.bus.inprocess import BusClosedError
from hotzone.bus.nkeys import Credentials
from hotzone.types.subjects import SubjectError, subject_matches, validate_pattern

RUN_START_PREFIX = "run-start="
"""A durable consumer's description: the stream sequence its run started at."""
_Result = TypeVar("_Result")
_DAY_S = 86_400.0


_log = logging.getLogger(__name__)


_ACCEPTED_SUBJECTS = 65_536
"""How many checked subjects a bus remembers (it forgets them all when full)."""


def _retrieve_outcome(task: asyncio.Future[Any]) -> None:
    """Take a cancelled poll's outcome, so that a connection closed under it is not
    reported as an exception nobody retrieved."""
    if not task.cancelled():
        task.exception()


class NatsConnectError(ConnectionError):
    """No NATS server could be reached for the first connection."""


async def _log_connection_error(error: Exception) -> None:
    # nats-py logs each failed attempt with a traceback by default: while it retries every
    # 0.25 s that floods the terminal. The attempts are routine; the outcome is reported.
    _log.debug("NATS: %s", error)


async def _log_reconnected() -> None:
    # Only after a real outage (a normal close also says "disconnected", so that is not it).
    _log.warning("NATS reconnected after a lost connection")


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


class ConnectOptions(TypedDict, total=False):
    """What `connect_options` adds to ``nats.connect``."""

    user_jwt_cb: Callable[[], bytearray]
    signature_cb: Callable[[str], bytes]
    tls: ssl.SSLContext


def connect_options(
    user_credentials: str | Path | None = None, tls_ca: str | Path | None = None
) -> ConnectOptions:
    """``nats.connect`` options for a ``.creds`` file and a CA file. The credentials are
    read now (`NkeyError` names a bad file) and the nonce is signed with `cryptography`
    (`hotzone.bus.nkeys`), so no ``nkeys`` package is needed."""
    options: ConnectOptions = {}
    if user_credentials is not None:
        credentials = Credentials.read(Path(user_credentials))
        options["user_jwt_cb"] = credentials.jwt_callback()
        options["signature_cb"] = credentials.signature_callback()
    if tls_ca is not None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls_ca))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        options["tls"] = context
    return options


class BusPublishError(RuntimeError):
    """A publish that the servers did not confirm before its deadline, or refused outright."""


class NoStreamError(LookupError):
    """A subject or pattern that no configured stream holds."""


@dataclass(frozen=True)
class StreamSource:
    """Where a sourced stream copies from: a stream, optionally in another JetStream domain.

    ``deliver`` is the subject prefix the source's consumer delivers on (its JetStream
    default is ``$JS.S``); across accounts it names what the other account exports."""

    stream: str
    filter_subject: str | None = None
    domain: str | None = None
    deliver: str | None = None


@dataclass(frozen=True)
class StreamSpec:
    """One JetStream stream: what it holds and for how long (limits retention)."""

    name: str
    subjects: tuple[str, ...] = ()
    sources: tuple[StreamSource, ...] = ()
    max_age_s: float = 2 * _DAY_S
    max_bytes: int = -1
    max_msgs: int = -1
    storage: Literal["file", "memory"] = "file"
    replicas: int = 1
    duplicate_window_s: float = 120.0
    discard_new: bool = False
    description: str = ""

    @property
    def covers(self) -> tuple[str, ...]:
        """The subject patterns a subscription can read from this stream."""
        if self.subjects:
            return self.subjects
        return tuple(source.filter_subject or ">" for source in self.sources)

    def to_config(self) -> js_api.StreamConfig:
        return js_api.StreamConfig(
            name=self.name,
            description=self.description or None,
            subjects=list(self.subjects) or None,
            sources=[_source_config(source) for source in self.sources] or None,
            retention=js_api.RetentionPolicy.LIMITS,
            max_age=self.max_age_s if self.max_age_s > 0 else None,
            max_bytes=self.max_bytes,
            max_msgs=self.max_msgs,
            storage=js_api.StorageType.FILE
            if self.storage == "file"
            else js_api.StorageType.MEMORY,
            num_replicas=self.replicas,
            duplicate_window=self.duplicate_window_s,
            discard=js_api.DiscardPolicy.NEW if self.discard_new else js_api.DiscardPolicy.OLD,
        )


def _source_config(source: StreamSource) -> js_api.StreamSource:
    external = None
    if source.domain is not None:
        external = js_api.ExternalStream(api=f"$JS.{source.domain}.API", deliver=source.deliver)
    return js_api.StreamSource(
        name=source.stream, filter_subject=source.filter_subject, external=external
    )


# Archive streams: (suffix, subject family under hz.{nation}, retention in days).
ARCHIVE_RETENTION_DAYS: tuple[tuple[str, str, float], ...] = (
    ("DET", "det.>", 1.0),
    ("TRK", "trk.>", 7.0),
    ("ALERT", "alert", 30.0),
    ("C2", "c2.>", 365.0),
    ("AUDIT", "audit", 0.0),  # kept for ever: the audit chain is never trimmed
    ("DEAD", "dead.>", 7.0),
)
LOG_RETENTION_DAYS = 2.0
SHARE_RETENTION_DAYS = 7.0


def nation_log_stream(nation: str) -> str:
    return f"HZ_{nation}"


def share_stream(nation: str) -> str:
    return f"HZ_{nation}_SHARE"


def nation_streams(nation: str, replicas: int = 1, archives: bool = True) -> list[StreamSpec]:
    """The streams of one nation: its ordered log, its outbound share stream, archives."""
    log = nation_log_stream(nation)
    specs = [
        StreamSpec(
            name=log,
            subjects=(f"hz.{nation}.>",),
            max_age_s=LOG_RETENTION_DAYS * _DAY_S,
            replicas=replicas,
            description=f"everything {nation} publishes, in one order (inputs and clock)",
        ),
        StreamSpec(
            name=share_stream(nation),
            subjects=(f"hz.share.*.{nation}.>",),
            max_age_s=SHARE_RETENTION_DAYS * _DAY_S,
            replicas=replicas,
            description=f"what {nation} releases to each ally, until the hub has sourced it",
        ),
    ]
    if archives:
        specs += [
            StreamSpec(
                name=f"{log}_{suffix}",
                sources=(StreamSource(log, f"hz.{nation}.{family}"),),
                max_age_s=days * _DAY_S,
                replicas=replicas,
                description=f"archive of hz.{nation}.{family}",
            )
            for suffix, family, days in ARCHIVE_RETENTION_DAYS
        ]
    return specs


def pattern_within(pattern: str, covering: str) -> bool:
    """Whether every subject ``pattern`` can match is also matched by ``covering``."""
    inner = pattern.split(".")
    outer = covering.split(".")
    for index, part in enumerate(outer):
        if part == ">":
            return len(inner) > index
        if index >= len(inner) or inner[index] == ">":
            return False
        if part != "*" and (inner[index] == "*" or inner[index] != part):
            return False
    return len(inner) == len(outer)


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some subject matches both patterns."""
    first_tokens, second_tokens = first.split("."), second.split(".")
    for index in range(min(len(first_tokens), len(second_tokens))):
        mine, theirs = first_tokens[index], second_tokens[index]
        if mine == ">" or theirs == ">":
            return True
        if "*" not in (mine, theirs) and mine != theirs:
            return False
    return len(first_tokens) == len(second_tokens)


def filters_intersection(filters: Sequence[str], subjects: Sequence[str]) -> list[str]:
    """The subjects both ``filters`` and ``subjects`` select, as filter subjects of one
    consumer (none within another: the server refuses overlapping filters). Where a pair
    overlaps without one holding the other (``hz.PL.*.x`` and ``hz.PL.det.>``), which no
    list of patterns expresses here, ``filters`` unchanged: a consumer may read more
    than its reader needs, never less (and none in common leaves ``filters`` too: no
    filter subject would read the whole stream)."""
    kept: list[str] = []
    for narrower in subjects:
        for wider in filters:
            if pattern_within(narrower, wider):
                kept.append(narrower)
            elif pattern_within(wider, narrower):
                kept.append(wider)
            elif patterns_overlap(narrower, wider):
                return list(filters)
    distinct = list(dict.fromkeys(kept))
    within_another = {
        inner
        for inner in distinct
        for outer in distinct
        if inner != outer and pattern_within(inner, outer)
    }
    result = [pattern for pattern in distinct if pattern not in within_another]
    if not result or any(
        patterns_overlap(first, second)
        for at, first in enumerate(result)
        for second in result[at + 1 :]
    ):
        return list(filters)
    return result


def _durable_lifetime_s(spec: StreamSpec) -> float:
    """How long a durable consumer of ``spec`` outlives its last reader: as long as the
    stream keeps a message (at least the log's retention)."""
    return max(LOG_RETENTION_DAYS * _DAY_S, spec.max_age_s)


class RecentIds:
    """The last ``capacity`` message ids handed out: redeliveries within it are dropped."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, message_id: str) -> bool:
        """Remember ``message_id``; False when it was already there (a duplicate)."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return False
        self._ids[message_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


def _message_key(message: Msg) -> str:
    headers = message.headers or {}
    message_id = headers.get(MESSAGE_ID_HEADER)
    if message_id:
        return message_id
    return f"{message.metadata.stream}:{message.metadata.sequence.stream}"


BATCH_HEADER = "Hz-Batch"
"""On a message that carries several (`publish_batch`): how many. Its payload is a
`BusBatch`; a subscription hands out each item as a message of its own."""
TAGS_HEADER = "Hz-Tags"
"""On a batch whose every item's payload names its type (`message_tag`): the distinct
tags, comma-separated. A reader that takes none of them passes the batch over whole,
without decoding it (`NatsSubscription.pass_over`); a batch without it is opened."""
MAX_BATCH_BYTES = 256 * 1024
"""A batch larger than this goes as several messages (the server refuses a message over
its ``max_payload``, 1 MiB by default)."""


class BusBatch(msgspec.Struct, array_like=True, frozen=True):
    """Several messages of one subject in one NATS message (MessagePack): each item's own
    message id, then its payload. One publish, one stored message and one delivery for
    a tracker's window of track updates instead of one per track."""

    items: list[tuple[str, bytes]]


_BUS_BATCH_ENCODER = msgspec.msgpack.Encoder()
_BUS_BATCH_DECODER = msgspec.msgpack.Decoder(BusBatch)


def _batch_items(message: Msg) -> list[BusMessage] | None:
    """The messages a batch carries (each with the batch's headers and its own id), or
    None when ``message`` is not a batch. A batch that does not decode, or whose count is
    wrong, is handed out as it came: its reader's decoding dead-letters the raw bytes."""
    headers = message.headers or {}
    count = headers.get(BATCH_HEADER)
    if count is None:
        return None
    try:
        batch = _BUS_BATCH_DECODER.decode(message.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not batch.items or count != str(len(batch.items)):
        return None
    shared = {k: v for k, v in headers.items() if k != BATCH_HEADER}
    return [
        BusMessage(
            subject=message.subject,
            payload=payload,
            headers={**shared, MESSAGE_ID_HEADER: item_id},
        )
        for item_id, payload in batch.items
    ]


def carried_messages(message: Msg) -> list[BusMessage]:
    """What one stored NATS message carries to its readers: a batch's items, or itself
    (what a subscription hands out; for anyone reading a stream with nats-py itself)."""
    items = _batch_items(message)
    if items is not None:
        return items
    return [
        BusMessage(
            subject=message.subject, payload=message.data, headers=dict(message.headers or {})
        )
    ]


def batch_messages(
    subject: str, items: Sequence[tuple[str, bytes]], headers: Mapping[str, str] | None = None
) -> list[tuple[str, bytes, dict[str, str]]]:
    """The NATS messages that carry ``items`` (message id, payload; every id given) on
    ``subject``: one `BusBatch` per `MAX_BATCH_BYTES`, a lone item as a plain message.
    A batch's own id is its first item's with the count, so the same items batched again
    (a restarted stage or importer) are a duplicate the stream drops."""
    messages: list[tuple[str, bytes, dict[str, str]]] = []
    chunk: list[tuple[str, bytes]] = []
    size = 0

    def close_chunk() -> None:
        if len(chunk) == 1:
            [(item_id, payload)] = chunk
            messages.append((subject, payload, {**(headers or {}), MESSAGE_ID_HEADER: item_id}))
            return
        batch_headers = {
            **(headers or {}),
            MESSAGE_ID_HEADER: f"{chunk[0][0]}+{len(chunk)}",
            BATCH_HEADER: str(len(chunk)),
        }
        tags = _batch_tags(payload for _, payload in chunk)
        if tags:
            batch_headers[TAGS_HEADER] = tags
        encoded = _BUS_BATCH_ENCODER.encode(BusBatch(list(chunk)))
        messages.append((subject, encoded, batch_headers))

    for item_id, payload in items:
        if not item_id:
            raise ValueError("every item of a batch needs its message id")
        if chunk and size + len(payload) > MAX_BATCH_BYTES:
            close_chunk()
            chunk, size = [], 0
        chunk.append((item_id, payload))
        size += len(payload) + len(item_id) + 8
    if chunk:
        close_chunk()
    return messages


def _batch_tags(payloads: Iterable[bytes]) -> str:
    """`TAGS_HEADER` of a batch of ``payloads``: "" where one names no type, or one a
    header cannot carry as it is (a tag is lower-case letters and underscores)."""
    tags: set[bytes] = set()
    for payload in payloads:
        tag = message_tag(payload)
        if tag is None:
            return ""
        tags.add(tag)
    if not all(tag.isascii() and tag.replace(b"_", b"").isalpha() for tag in tags):
        return ""
    return ",".join(sorted(tag.decode() for tag in tags))


CLOSE_ABANDONED_S = 1.0


async def close_abandoned(client: NatsClient) -> None:
    """Close a client whose connection never came up (refused, or cut off by a deadline),
    so its half-open stream is not left to the garbage collector. nats-py leaves it open
    when it raises with reconnection off, and its ``close`` then waits for ever on a
    stream whose TLS handshake failed: the stream is closed at once, the wait for it
    bounded."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close(), CLOSE_ABANDONED_S)


_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.ServerError,
    asyncio.TimeoutError,
)

_SEND_ERRORS: tuple[type[BaseException], ...] = (*_TRANSIENT_ERRORS, nats.errors.Error)


@dataclass
class SubscriptionCounters:
    delivered: int = 0
    duplicates_dropped: int = 0
    passed_over: int = 0
    """Stored messages (a batch counts once) of types its reader takes none of."""


class NatsSubscription:
    """A pull consumer read one message at a time, acknowledged once handled."""

    def __init__(
        self,
        bus: NatsBus,
        pattern: str,
        stream: str,
        consumer: str,
        pull: JetStreamContext.PullSubscription,
        max_pending: int,
        idempotency_window: int,
        durable: bool,
        run_start: int = 0,
        resumed_from: int = 0,
        filters: Sequence[str] = (),
    ) -> None:
        self.pattern = pattern
        self.stream = stream
        self.consumer = consumer
        self.durable = durable
        self.counters = SubscriptionCounters()
        self._bus = bus
        self._pull = pull
        self._max_pending = max_pending
        self._buffer: deque[Msg] = deque()
        #: Stored messages whose items have all been handed out (or dropped as
        #: redeliveries): acknowledged when the subscriber asks for more.
        self._handed_out: list[Msg] = []
        #: Redeliveries dropped (handled before): acknowledged with the above, never
        #: handed back.
        self._dropped: list[Msg] = []
        #: The batch being handed out an item at a time (`publish_batch`) and its items
        #: not yet handed out: it is acknowledged once its last item has been handled.
        self._batch: Msg | None = None
        self._items: deque[BusMessage] = deque()
        self._batch_delivered = False
        self._recent = RecentIds(idempotency_window)
        self._closed = asyncio.Event()
        # The long poll under way, if any: a close ends it before the connection goes, so
        # that no poll is left for asyncio.run's shutdown to find failing on a closed
        # connection (printed after the command's last line).
        self._fetching: asyncio.Future[list[Msg]] | None = None
        #: A durable consumer's first stream sequence in this run, and where it resumed
        #: (0 when it was made now): `history` reads what lies between.
        self.run_start = run_start
        self.resumed_from = resumed_from
        self._filters = tuple(filters)
        #: With ``hold_acks``, what was handed out is acknowledged only by `acknowledge`
        #: (a recorder: once written to its store), not when the next one is asked for.
        self.hold_acks = False
        self._held: list[Msg] = []
        self._passed_over_tags: frozenset[bytes] = frozenset()
        self._passed_over_header: frozenset[str] = frozenset()

    def pass_over(self, tags: frozenset[bytes]) -> None:
        """Never hand out a message whose type tag (`message_tag`) is one of ``tags``, nor
        a batch whose items' tags (`TAGS_HEADER`) all are: it is acknowledged with what
        was handed out, undecoded. The owner's assessment reads the detection subjects for
        the reports among them, and opened every batch of detections to hand out its items
        one at a time, each only to be passed over by its tag."""
        self._passed_over_tags = tags
        self._passed_over_header = frozenset(tag.decode() for tag in tags)

    def _passes_over(self, message: Msg) -> bool:
        headers = message.headers
        if headers is not None and BATCH_HEADER in headers:
            tags = headers.get(TAGS_HEADER)
            return tags is not None and all(
                tag in self._passed_over_header for tag in tags.split(",")
            )
        return message_tag(message.data) in self._passed_over_tags

    @property
    def pending(self) -> int:
        return len(self._buffer) + len(self._items)

    async def _ack_handed_out(self) -> None:
        done = [*self._handed_out, *self._dropped]
        self._handed_out, self._dropped = [], []
        if self.hold_acks:
            # A redelivery may be the very message held (same stream sequence): it is
            # acknowledged with the held ones, once they are kept.
            self._held.extend(done)
            return
        for message in done:
            # A lost ack only means a redelivery, which the idempotency window drops.
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.ConnectionClosedError):
                await message.ack()

    async def _settle(self) -> None:
        """What the subscriber published while handling what it was handed is stored
        before that is acknowledged (a crash in between means a redelivery, not a loss);
        then it is acknowledged (or held)."""
        bus = self._bus
        if bus._unconfirmed or bus._failed_publishes:
            await bus.confirm_publishes()
        if self._handed_out or self._dropped:
            await self._ack_handed_out()

    async def next(self, timeout_s: float | None = None) -> BusMessage | None:
        await self._settle()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            if self._items or self._buffer:
                guard = self._bus.guard
                if guard is not None and not guard.holds:
                    await guard.confirm()  # raises, the message left in the buffer
                passed_over = self.counters.passed_over
                message = self._take_one()
                if message is not None:
                    return message
                if timeout_s is not None and self.counters.passed_over > passed_over:
                    # Reading is not waiting: the timeout counts from the last message
                    # read, handed out or passed over (a waiting stage's idle time).
                    deadline = time.monotonic() + timeout_s
                continue  # only redeliveries or messages passed over were there
            if self._closed.is_set():
                return None
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            await self._fill(remaining)

    async def next_batch(self, limit: int, timeout_s: float | None = None) -> list[BusMessage]:
        """The next message (waiting at most ``timeout_s``) and, without waiting, those
        ready behind it, up to ``limit`` in all; empty when closed or on a timeout.
        Handed out and acknowledged exactly as one `next` each, but with one call for
        what arrived together (a batch's items) instead of one await per message."""
        first = await self.next(timeout_s)
        if first is None:
            return []
        taken = [first]
        guard = self._bus.guard
        while len(taken) < limit and (self._items or self._buffer):
            if guard is not None and not guard.holds:
                break  # the next `next` waits for it (or raises)
            message = self._take_one()
            if message is not None:
                taken.append(message)
        return taken

    def _take_one(self) -> BusMessage | None:
        """Hand out the next message already here: a batch's next item, or the next stored
        message (a batch is opened and its first item handed out); None when there was
        nothing but redeliveries, which are dropped, and messages passed over. A stored
        message whose items have all been handed out joins ``_handed_out``."""
        while self._items or self._buffer:
            if self._items:
                item = self._items.popleft()
                fresh = self._recent.add(item.headers[MESSAGE_ID_HEADER])
                self._batch_delivered |= fresh
                if not self._items:  # the batch is done: one with no item new is dropped
                    done = self._handed_out if self._batch_delivered else self._dropped
                    done.append(self._end_batch())
                if not fresh:
                    self.counters.duplicates_dropped += 1
                    continue
                self.counters.delivered += 1
                return item
            message = self._buffer.popleft()
            if self._passed_over_tags and self._passes_over(message):
                self.counters.passed_over += 1
                self._handed_out.append(message)
                continue
            if not self._recent.add(_message_key(message)):
                self.counters.duplicates_dropped += 1
                self._dropped.append(message)
                continue
            items = _batch_items(message)
            if items is not None:
                self._batch, self._items = message, deque(items)
                self._batch_delivered = False
                continue
            self._handed_out.append(message)
            self.counters.delivered += 1
            return BusMessage(
                subject=message.subject,
                payload=message.data,
                headers=dict(message.headers or {}),
            )
        return None

    def _end_batch(self) -> Msg:
        batch, self._batch = self._batch, None
        assert batch is not None
        return batch

    async def _fill(self, remaining: float | None) -> None:
        # One long poll at most a few seconds long, so a close or a reconnect is noticed.
        poll_s = 2.0 if remaining is None else max(0.01, min(2.0, remaining))
        fetch = asyncio.ensure_future(
            self._pull.fetch(batch=self._max_pending - len(self._buffer), timeout=poll_s)
        )
        self._fetching = fetch
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({fetch, closed}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # The reader itself is cancelled (a service stopping): its poll must not outlive
            # it, or asyncio.run's shutdown finds it pending and the closed connection's
            # error is printed after the command's last line. What it had fetched already
            # stays in the buffer, handed back when the subscription closes (dropped, it
            # would come back only after ``ack_wait``).
            # A poll still under way stays this subscription's, for its close to wait on.
            if self._fetching is fetch:
                if fetch.done():
                    self._fetching = None
                    self._take(fetch)
                else:
                    fetch.cancel()
                    fetch.add_done_callback(_retrieve_outcome)
            raise
        finally:
            closed.cancel()
        if self._fetching is not fetch:  # a close took the poll over
            return
        self._fetching = None
        self._take(fetch)

    def _take(self, fetch: asyncio.Future[list[Msg]]) -> None:
        """Keep what a poll fetched; a poll still under way is cancelled and its outcome
        taken when it ends (a connection closed under it is not an error to report)."""
        if not fetch.done():
            fetch.cancel()
            fetch.add_done_callback(_retrieve_outcome)
            return
        if fetch.cancelled():
            return
        error = fetch.exception()
        if error is None:
            self._buffer.extend(fetch.result())
        elif isinstance(error, nats.errors.ConnectionClosedError):
            self._closed.set()

    async def acknowledge(self) -> None:
        """Acknowledge everything handed out so far (with ``hold_acks``: once it is kept),
        once what was published while handling it is stored (pipelined publishes)."""
        if self._bus._unconfirmed or self._bus._failed_publishes:
            await self._bus.confirm_publishes()  # raises: nothing is acknowledged
        held = [*self._held, *self._handed_out, *self._dropped]
        self._held, self._handed_out, self._dropped = [], [], []
        # One acknowledgement each (explicit acks, see the consumer config); a lost one
        # only means a redelivery, which the idempotency window drops.
        for message in held:
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.ConnectionClosedError):
                await message.ack()

    async def history(self) -> AsyncIterator[BusMessage]:
        """What this durable consumer handled in its run before the process restarted:
        the messages of its filters from its run's start up to where it resumed, in
        stream order, read by a throw-away consumer (nothing is acknowledged or taken
        from anyone). A stage feeds them to itself again to rebuild its state."""
        last = self.resumed_from - 1
        if not self.durable or self.resumed_from == 0 or last < self.run_start:
            return
        jetstream = self._bus.jetstream
        name = f"history-{uuid.uuid4().hex[:16]}"
        config = js_api.ConsumerConfig(
            name=name,
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.run_start,
            ack_policy=js_api.AckPolicy.NONE,
            filter_subject=self._filters[0] if len(self._filters) == 1 else None,
            filter_subjects=list(self._filters) if len(self._filters) > 1 else None,
            inactive_threshold=60.0,
            mem_storage=True,
        )
        await self._bus._retry(
            lambda: jetstream.add_consumer(self.stream, config), f"history of {self.consumer}"
        )
        pull = await jetstream.pull_subscribe_bind(consumer=name, stream=self.stream)
        try:
            while True:
                try:
                    batch = await pull.fetch(batch=1024, timeout=2.0)
                except _TRANSIENT_ERRORS:
                    info = await jetstream.consumer_info(self.stream, name)
                    if info.num_pending == 0:
                        return
                    continue
                for message in batch:
                    if message.metadata.sequence.stream > last:
                        return
                    for item in carried_messages(message):
                        yield item
        finally:
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.Error):
                await pull.unsubscribe()
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.js.errors.Error, nats.errors.Error):
                await jetstream.delete_consumer(self.stream, name)

    def __aiter__(self) -> AsyncIterator[BusMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusMessage]:
        while True:
            message = await self.next()
            if message is None:
                return
            yield message

    async def _end_poll(self) -> None:
        """End the poll under way before the connection closes, keeping what it fetched
        (handed back with the buffer)."""
        fetch, self._fetching = self._fetching, None
        if fetch is None:
            return
        if not fetch.done():
            fetch.cancel()
            await asyncio.wait({fetch}, timeout=2.0)
        self._take(fetch)

    async def _release_buffer(self) -> None:
        """Hand back what was fetched but not handed out: the server redelivers it now to
        whoever reads this consumer next, instead of after ``ack_wait``."""
        buffered, self._buffer = self._buffer, deque()
        for message in buffered:
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.Error):
                await message.nak()

    async def _close(self, acknowledge: bool = True) -> None:
        """Stop fetching and hand back what was not handed out; iteration then ends.

        Without ``acknowledge`` (what was published while handling it failed) the message
        handed out last is handed back too, so that it is handled again."""
        self._closed.set()
        await self._end_poll()
        if self._batch is not None:
            # Partly handed out: handed back whole (what was handled of it comes again to
            # the next reader, whose idempotency window or stream drops nothing: at least
            # once, as for a message not acknowledged).
            self._buffer.appendleft(self._end_batch())
            self._items.clear()
        if not acknowledge:
            self._buffer.extendleft(reversed(self._handed_out))
            self._handed_out = []
        await self._ack_handed_out()
        await self._release_buffer()

    async def unsubscribe(self) -> None:
        failure: BusPublishError | None = None
        try:
            await self._bus.confirm_publishes()
        except BusPublishError as error:
            failure = error
        await self._close(acknowledge=failure is None)
        self._bus._forget(self)
        with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.Error):
            await self._pull.unsubscribe()
        if not self.durable:
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.js.errors.Error, nats.errors.Error):
                await self._bus.jetstream.delete_consumer(self.stream, self.consumer)
        if failure is not None:
            raise failure


@dataclass
class PublishCounters:
    published: int = 0
    retries: int = 0
    duplicates_refused: int = 0
    by_error: dict[str, int] = field(default_factory=dict)


class ActingGuard(Protocol):
    """What a bus asks before each publish and before a subscription hands out a message
    (a nation owner's lease): ``holds`` True lets it through at once; otherwise ``confirm``
    waits until it may, or raises."""

    @property
    def holds(self) -> bool: ...

    async def confirm(self) -> None: ...


class NatsBus:
    """The `Bus` protocol on NATS JetStream (see the module docstring for the guarantees).

    ``streams`` are the streams this bus writes and reads; ``ensure_streams`` creates or
    updates them. ``durable_prefix`` makes subscriptions durable consumers named after it
    and their order of creation, so a restarted process resumes where it stopped.
    ``read_filters`` narrow every subscription to the subjects of this process's share of
    the work (its sectors, the clock): a subscription to ``hz.PL.>`` then reads only the
    filters inside it, still in stream order (one consumer with several filter subjects).
    ``pipeline_publishes`` confirms publishes later (see the module docstring): their
    order is kept except that a publish retried through a failure lands after the ones
    sent behind it, so a process whose own publishes must stay ordered (a replay feeding
    inputs and clock ticks) leaves it off.
    """

    def __init__(
        self,
        client: NatsClient,
        streams: Sequence[StreamSpec],
        domain: str | None = None,
        durable_prefix: str | None = None,
        publish_timeout_s: float = 2.0,
        publish_deadline_s: float = 60.0,
        max_publishes_in_flight: int = 256,
        idempotency_window: int = 100_000,
        ack_wait_s: float = 30.0,
        read_filters: Sequence[str] | None = None,
        pipeline_publishes: bool = False,
    ) -> None:
        for read_filter in read_filters or ():
            validate_pattern(read_filter)
        self.client = client
        self.read_filters = tuple(read_filters or ())
        self.streams = list(streams)
        self.domain = domain
        self.durable_prefix = durable_prefix
        self.publish_timeout_s = publish_timeout_s
        self.publish_deadline_s = publish_deadline_s
        self.idempotency_window = idempotency_window
        self.ack_wait_s = ack_wait_s
        self.jetstream = client.jetstream(domain=domain, timeout=publish_timeout_s)
        self.counters = PublishCounters()
        self.pipeline_publishes = pipeline_publishes
        self._in_flight = asyncio.Semaphore(max_publishes_in_flight)
        self._unconfirmed: set[asyncio.Task[None]] = set()
        self._failed_publishes: list[BusPublishError] = []
        self._id_prefix = uuid.uuid4().hex[:16]
        self._ids = itertools.count(1)
        self._subscription_index = itertools.count(1)
        self._subscriptions: list[NatsSubscription] = []
        self._closed = False
        self._replies: nats.aio.subscription.Subscription | None = None
        self._reply_prefix = ""
        self._reply_tokens = itertools.count(1)
        self._awaiting_reply: dict[str, asyncio.Future[bool]] = {}
        self._accepted_subjects: set[str] = set()
        #: Asked before every publish and every message handed out (`ActingGuard`): an
        #: owner node reads and publishes only while it holds its nation's lease.
        self.guard: ActingGuard | None = None
        #: Per stream, the sequence a durable consumer made for the first time starts at
        #: (one that exists resumes where it stopped) instead of the stream's end: a
        #: nation's owner reads what was published to its log since the nation's last
        #: run ended (`hotzone.runtime.node.owner_start`).
        self.durable_starts: dict[str, int] = {}

    @classmethod
    async def connect(
        cls,
        servers: str | Sequence[str],
        streams: Sequence[StreamSpec],
        domain: str | None = None,
        durable_prefix: str | None = None,
        ensure_streams: bool = True,
        name: str = "hotzone",
        read_filters: Sequence[str] | None = None,
        publish_deadline_s: float = 60.0,
        pipeline_publishes: bool = False,
        connect_deadline_s: float = 30.0,
        user_credentials: str | Path | None = None,
        tls_ca: str | Path | None = None,
    ) -> NatsBus:
        """Connect and, by default, ensure the streams. Once connected, a lost connection is
        retried for ever; the first connection must succeed within ``connect_deadline_s``
        (`NatsConnectError` otherwise: a wrong URL is an error to report, not to wait on).

        ``user_credentials`` is a NATS ``.creds`` file (a user's JWT and key; the servers
        of ``hotzone federation config`` refuse clients without one) and ``tls_ca`` the
        CA that signed the servers' certificates (TLS on, the server verified)."""
        server_list = [servers] if isinstance(servers, str) else list(servers)
        options = connect_options(user_credentials, tls_ca)
        # What the server said (an authorization violation) tells more than the broken
        # pipe of the attempt after it: a NATS error is kept over a socket error.
        last_error: list[Exception] = []

        async def remember_error(error: Exception) -> None:
            if isinstance(error, nats.errors.Error) or not any(
                isinstance(kept, nats.errors.Error) for kept in last_error
            ):
                last_error[:] = [error]
            await _log_connection_error(error)

        client = NatsClient()
        try:
            await asyncio.wait_for(
                client.connect(
                    servers=server_list,
                    name=name,
                    max_reconnect_attempts=-1,
                    # nats-py annotates an int but sleeps this many seconds (a float).
                    reconnect_time_wait=0.25,  # type: ignore[arg-type]
                    connect_timeout=5,
                    allow_reconnect=True,
                    error_cb=remember_error,
                    reconnected_cb=_log_reconnected,
                    **options,
                ),
                connect_deadline_s,
            )
        except TimeoutError:
            # The attempt cut off by the deadline may hold an open (TLS) stream: closed
            # here, not left to the garbage collector.
            await close_abandoned(client)
            why = f" (last error: {_describe(last_error[0])})" if last_error else ""
            raise NatsConnectError(
                f"no NATS server answered at {', '.join(server_list)} "
                f"within {connect_deadline_s:g} s{why}"
            ) from None
        bus = cls(
            client,
            streams,
            domain=domain,
            durable_prefix=durable_prefix,
            read_filters=read_filters,
            publish_deadline_s=publish_deadline_s,
            pipeline_publishes=pipeline_publishes,
        )
        if ensure_streams:
            await bus.ensure_streams()
        return bus

    async def ensure_streams(self, streams: Sequence[StreamSpec] | None = None) -> None:
        """Create each stream, or update it to its spec when it exists already."""
        for spec in list(streams if streams is not None else self.streams):
            await self._retry(partial(self._ensure_stream, spec), f"stream {spec.name}")
            if spec not in self.streams:
                self.streams.append(spec)

    async def _ensure_stream(self, spec: StreamSpec) -> None:
        try:
            await self.jetstream.stream_info(spec.name)
        except nats.js.errors.NotFoundError:
            await self.jetstream.add_stream(spec.to_config())
            return
        await self.jetstream.update_stream(spec.to_config())

    def stream_for(self, pattern: str) -> StreamSpec:
        """The first configured stream that holds every subject ``pattern`` can match."""
        for spec in self.streams:
            if any(pattern_within(pattern, covered) for covered in spec.covers):
                return spec
        known = ", ".join(f"{spec.name} ({' '.join(spec.covers)})" for spec in self.streams)
        raise NoStreamError(f"no stream holds all of {pattern!r}; streams: {known or 'none'}")

    def _next_message_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    def _publishable(self, subject: str, headers: Mapping[str, str] | None) -> dict[str, str]:
        """The headers to publish with (a message id added), after checking the subject."""
        if self._closed:
            raise BusClosedError(f"cannot publish on {subject!r}: the bus is closed")
        if subject not in self._accepted_subjects:
            self._check_publishable(subject)
        message_headers = dict(headers or {})
        message_headers.setdefault(MESSAGE_ID_HEADER, self._next_message_id())
        return message_headers

    def _check_publishable(self, subject: str) -> None:
        if "*" in subject or ">" in subject:
            raise SubjectError(f"cannot publish to a wildcard subject {subject!r}")
        validate_pattern(subject)
        if not any(subject_matches(s, subject) for spec in self.streams for s in spec.subjects):
            raise NoStreamError(f"no stream takes subject {subject!r}")
        # Streams are only ever added to a bus, so a subject accepted once stays accepted;
        # the same few subjects are published thousands of times a second.
        if len(self._accepted_subjects) >= _ACCEPTED_SUBJECTS:
            self._accepted_subjects.clear()
        self._accepted_subjects.add(subject)

    async def publish_batch(
        self,
        subject: str,
        items: Sequence[tuple[str, bytes]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish several messages of one subject as one NATS message (or a few, each at
        most `MAX_BATCH_BYTES`): ``items`` are (message id, payload), an empty id given
        one. Readers of the subject get each item as a message of its own, with
        ``headers`` and its id, in order; a redelivered item is dropped by its id like any
        message (`batch_messages`)."""
        named = [(item_id or self._next_message_id(), payload) for item_id, payload in items]
        for message in batch_messages(subject, named, headers):
            await self.publish(*message)

    async def publish_many(
        self, messages: Sequence[tuple[str, bytes, Mapping[str, str] | None]]
    ) -> None:
        """Publish several messages, in order, and wait until all are stored: their
        confirmations are awaited together, one round trip for all instead of one each
        (what a share importer admits from one batch). Raises the first that failed."""
        if self.pipeline_publishes:
            for subject, payload, headers in messages:
                await self.publish(subject, payload, headers)
            return
        prepared = [(s, p, self._publishable(s, h)) for s, p, h in messages]
        if not prepared:
            return
        if self.guard is not None and not self.guard.holds:
            await self.guard.confirm()
        # Sent in order with replies to one subscription of this bus (no request, inbox or
        # id per message: about half the client's cost of a publish), then awaited together.
        # What is not confirmed in time, or refused, goes again one by one with the usual
        # retries; the same message ids make a second copy a duplicate the stream drops.
        waiting = await self._send_with_replies(prepared)
        done, _ = await asyncio.wait(waiting.values(), timeout=self.publish_timeout_s)
        for index, message in enumerate(prepared):
            future = waiting[index]
            if future in done and future.exception() is None:
                self.counters.published += 1
                self.counters.duplicates_refused += bool(future.result())
                continue
            future.cancel()
            async with self._in_flight:
                await self._publish_confirmed(*message)

    async def _send_with_replies(
        self, messages: list[tuple[str, bytes, dict[str, str]]]
    ) -> dict[int, asyncio.Future[bool]]:
        if self._replies is None:
            self._reply_prefix = self.client.new_inbox()
            self._replies = await self.client.subscribe(
                f"{self._reply_prefix}.*", cb=self._on_reply
            )
        loop = asyncio.get_running_loop()
        waiting: dict[int, asyncio.Future[bool]] = {}
        for index, (subject, payload, headers) in enumerate(messages):
            token = str(next(self._reply_tokens))
            future: asyncio.Future[bool] = loop.create_future()
            self._awaiting_reply[token] = future
            waiting[index] = future
            future.add_done_callback(partial(self._forget_reply, token))
            try:
                await self.client.publish(
                    subject, payload, reply=f"{self._reply_prefix}.{token}", headers=headers
                )
            except _SEND_ERRORS as error:
                future.set_exception(BusPublishError(f"publish on {subject!r}: {error}"))
        return waiting

    def _forget_reply(self, token: str, _: asyncio.Future[bool]) -> None:
        self._awaiting_reply.pop(token, None)

    async def _on_reply(self, message: Msg) -> None:
        future = self._awaiting_reply.pop(message.subject.rsplit(".", 1)[1], None)
        if future is None or future.done():
            return
        data = message.data
        if not data or b'"error"' in data:  # no stream answered, or it refused
            future.set_exception(BusPublishError(data.decode(errors="replace") or "no reply"))
        else:
            future.set_result(b'"duplicate":true' in data)

    async def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        message_headers = self._publishable(subject, headers)
        if self.guard is not None and not self.guard.holds:
            await self.guard.confirm()
        if not self.pipeline_publishes:
            async with self._in_flight:
                await self._publish_confirmed(subject, payload, message_headers)
            return
        self._raise_failed_publish()
        await self._in_flight.acquire()
        task = asyncio.create_task(self._publish_confirmed(subject, payload, message_headers))
        self._unconfirmed.add(task)
        task.add_done_callback(self._publish_done)
        # Let the task send its message now, so publishes reach the server in call order.
        await asyncio.sleep(0)

    async def _publish_confirmed(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> None:
        acknowledgement = await self._retry(
            lambda: self.jetstream.publish(
                subject, payload, timeout=self.publish_timeout_s, headers=headers
            ),
            f"publish on {subject!r}",
        )
        self.counters.published += 1
        if acknowledgement.duplicate:
            self.counters.duplicates_refused += 1

    def _publish_done(self, task: asyncio.Task[None]) -> None:
        self._unconfirmed.discard(task)
        self._in_flight.release()
        error = None if task.cancelled() else task.exception()
        if isinstance(error, BusPublishError):
            self._failed_publishes.append(error)
        elif error is not None:
            failure = BusPublishError(f"publish failed: {type(error).__name__}: {error}")
            failure.__cause__ = error
            self._failed_publishes.append(failure)

    def _raise_failed_publish(self) -> None:
        if self._failed_publishes:
            error, self._failed_publishes = self._failed_publishes[0], []
            raise error

    async def confirm_publishes(self) -> None:
        """Wait until every publish made so far is stored; raise the first that failed
        (`BusPublishError`). Immediate when ``pipeline_publishes`` is off."""
        if self._unconfirmed:
            await asyncio.wait(tuple(self._unconfirmed))
        self._raise_failed_publish()

    async def _retry(self, attempt: Callable[[], Awaitable[_Result]], what: str) -> _Result:
        deadline = time.monotonic() + self.publish_deadline_s
        delay_s = 0.05
        while True:
            try:
                return await attempt()
            except _TRANSIENT_ERRORS as error:
                name = type(error).__name__
                self.counters.by_error[name] = self.counters.by_error.get(name, 0) + 1
                if time.monotonic() + delay_s > deadline:
                    raise BusPublishError(
                        f"{what}: not confirmed within {self.publish_deadline_s:.0f} s "
                        f"(last error {name}: {error})"
                    ) from error
                self.counters.retries += 1
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 1.0)
            except nats.js.errors.APIError as error:
                raise BusPublishError(f"{what}: refused by the server: {error}") from error

    async def subscribe(
        self,
        pattern: str,
        max_pending: int = 4096,
        durable: str | None = None,
        from_first: bool = False,
        *,
        subjects: Sequence[str] = (),
    ) -> NatsSubscription:
        """Messages matching ``pattern`` published from now on (or, for a durable consumer
        that exists already, from where it stopped). ``from_first``: a consumer made now
        starts at the first message the stream holds instead, for a reader that must
        handle everything the stream received before it first ran (a share importer: its
        nation's import stream holds only copies addressed to the nation, and those that
        arrived before the importer's first consumer existed were admitted by nobody).
        ``subjects`` (patterns within ``pattern``) narrow the consumer further, within
        ``read_filters`` too: the server hands it only what matches one of them, still in
        stream order (one consumer with several filter subjects, nats-server 2.10+)."""
        if self._closed:
            raise BusClosedError(f"cannot subscribe to {pattern!r}: the bus is closed")
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1 (queues are always bounded)")
        validate_pattern(pattern)
        for narrower in subjects:
            validate_pattern(narrower)
            if not pattern_within(narrower, pattern):
                raise SubjectError(f"{narrower!r} is not within the subscription's {pattern!r}")
        spec = self.stream_for(pattern)
        index = next(self._subscription_index)
        if durable is None and self.durable_prefix is not None:
            durable = f"{self.durable_prefix}-{index}"
        consumer = durable or f"eph-{self._id_prefix}-{index}"
        filters = self._filters_for(pattern, spec, subjects)
        run_start = resumed_from = 0
        deliver = js_api.DeliverPolicy.ALL if from_first else js_api.DeliverPolicy.NEW
        if durable is not None:
            run_start, resumed_from = await self._durable_start(spec.name, durable, from_first)
            deliver = js_api.DeliverPolicy.BY_START_SEQUENCE
        config = js_api.ConsumerConfig(
            name=consumer,
            durable_name=durable,
            description=f"{RUN_START_PREFIX}{run_start}" if durable else None,
            deliver_policy=deliver,
            opt_start_seq=(resumed_from or run_start) if durable else None,
            # Each message is acknowledged on its own. Acknowledging "all up to this one"
            # loses messages across a stream leader change: the new leader redelivers
            # what the old one had sent, and a later acknowledgement would cover a
            # redelivery the subscriber has not received yet (seen in the leader-kill test).
            ack_policy=js_api.AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=2 * max_pending,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=filters if len(filters) > 1 else None,
            # An abandoned consumer is removed by the server after a while: a non-durable
            # one soon, a durable one when what it points into is gone too (a share
            # importer's, made again ``from_first``, then admits nothing twice).
            inactive_threshold=_durable_lifetime_s(spec) if durable else 300.0,
            num_replicas=spec.replicas,
        )
        await self._retry(
            lambda: self.jetstream.add_consumer(spec.name, config), f"consumer on {pattern!r}"
        )
        pull = await self.jetstream.pull_subscribe_bind(consumer=consumer, stream=spec.name)
        subscription = NatsSubscription(
            self,
            pattern,
            spec.name,
            consumer,
            pull,
            max_pending,
            self.idempotency_window,
            durable=durable is not None,
            run_start=run_start,
            resumed_from=resumed_from,
            filters=filters or [pattern],
        )
        self._subscriptions.append(subscription)
        return subscription

    async def _durable_start(
        self, stream: str, durable: str, from_first: bool = False
    ) -> tuple[int, int]:
        """(first stream sequence of the durable consumer's run, where it resumes; 0 when
        it starts now: at the stream's end, ``from_first`` at its first message, or where
        ``durable_starts`` says, within what the stream holds). A
        consumer that exists already is made again from its
        acknowledgement floor: what the stopped process was handed but had not
        acknowledged is then delivered first and in order (left to the old consumer, it
        would come back only after ``ack_wait``, behind newer messages)."""
        try:
            info = await self.jetstream.consumer_info(stream, durable)
        except nats.js.errors.NotFoundError:
            state = await self._retry(
                lambda: self.jetstream.stream_info(stream), f"stream {stream}"
            )
            first, end = max(1, state.state.first_seq), state.state.last_seq + 1
            if from_first:
                return min(first, end), 0
            if stream in self.durable_starts:
                return min(max(first, self.durable_starts[stream]), end), 0
            return end, 0
        description = info.config.description or ""
        run_start = info.config.opt_start_seq or 1
        if description.startswith(RUN_START_PREFIX):
            run_start = int(description.removeprefix(RUN_START_PREFIX))
        resumed_from = max(run_start, (info.ack_floor.stream_seq if info.ack_floor else 0) + 1)
        await self.jetstream.delete_consumer(stream, durable)
        _log.info("consumer %s resumes at sequence %d of %s", durable, resumed_from, stream)
        return run_start, resumed_from

    async def delete_durables(self, prefix: str) -> int:
        """Remove the durable consumers whose names start with ``prefix`` from every stream
        of this bus (a run that ended has nothing to resume); how many there were."""
        deleted = 0
        for spec in self.streams:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                for info in await self.jetstream.consumers_info(spec.name):
                    if info.name.startswith(prefix):
                        with contextlib.suppress(nats.js.errors.NotFoundError):
                            await self.jetstream.delete_consumer(spec.name, info.name)
                            deleted += 1
        return deleted

    async def recent_message_ids(self, pattern: str, since_s: float, limit: int) -> list[str]:
        """The ids of the messages of ``pattern`` its stream stored in the last ``since_s``
        seconds (each item of a stored batch), oldest first, at most the last ``limit``:
        what a service that published them learns again when it restarts. Read by a
        throw-away consumer (nothing is acknowledged or taken from anyone); a message
        without an id has none to give."""
        spec = self.stream_for(pattern)
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.now(UTC) - timedelta(seconds=since_s),
            ack_policy=js_api.AckPolicy.NONE,
            filter_subject=pattern,
            inactive_threshold=60.0,
            mem_storage=True,
        )
        info = await self._retry(
            lambda: self.jetstream.add_consumer(spec.name, config), f"recent ids of {pattern}"
        )
        ids: deque[str] = deque(maxlen=limit)
        pull = await self.jetstream.pull_subscribe_bind(consumer=info.name, stream=spec.name)
        try:
            remaining = info.num_pending or 0
            while remaining > 0:
                messages = await pull.fetch(batch=min(remaining, 1024), timeout=10.0)
                remaining -= len(messages)
                for message in messages:
                    for item in carried_messages(message):
                        item_id = item.headers.get(MESSAGE_ID_HEADER)
                        if item_id:
                            ids.append(item_id)
        finally:
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.Error):
                await pull.unsubscribe()
            with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.Error):
                await self.jetstream.delete_consumer(spec.name, info.name)
        return list(ids)

    def _filters_for(
        self, pattern: str, spec: StreamSpec, subjects: Sequence[str] = ()
    ) -> list[str]:
        narrowed = [f for f in self.read_filters if pattern_within(f, pattern)] or [pattern]
        if subjects:
            narrowed = filters_intersection(narrowed, subjects)
        # No filter only where the pattern is the whole stream; a stream sourced through
        # several filters (a nation's import stream) holds more than any one of them.
        return [] if narrowed == [pattern] and spec.covers == (pattern,) else narrowed

    def _forget(self, subscription: NatsSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def close(self, acknowledge: bool = True) -> None:
        """Wait for unconfirmed publishes, end every subscription's iteration, disconnect.

        What a subscriber was handed is acknowledged; what it was not is handed back. A
        pipelined publish that failed is raised after the disconnection, and then nothing
        handed out is acknowledged (it is handled again by whoever reads next); nor is it
        without ``acknowledge`` (an ousted owner: its successor handles it)."""
        if self._closed:
            return
        self._closed = True
        failure: BusPublishError | None = None
        try:
            await self.confirm_publishes()
        except BusPublishError as error:
            failure = error
        for subscription in tuple(self._subscriptions):
            await subscription._close(acknowledge=acknowledge and failure is None)
        with contextlib.suppress(*_TRANSIENT_ERRORS, nats.errors.Error):
            await self.client.flush(timeout=2)
        await self.client.close()
        if failure is not None:
            raise failure
