"""The seam between raw bytes and hotzone messages.

A `Decoder` turns the bytes of one standard into `Detection` / `Report` / `Event` messages.
It is fed whatever arrives (a UDP datagram, a chunk of a TCP stream, a file's content),
keeps an incomplete frame for the next call, and never raises on bad input: each refused
frame comes back as a `Rejected` with its raw bytes and the reason, and is counted, so the
runtime can publish it as a dead letter (nothing is lost, nothing crashes).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Generic, Literal, TypeVar

from hotzone.types import AnyMessage, DeadLetter

#: The refusal of JSON nested deeper than its parser's recursion limit (msgspec and the
#: standard library both stop there, so the depth of a document bounds no work).
NESTED_TOO_DEEP = "nested too deep: JSON deeper than the parser's recursion limit"


_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")


class RecentMemory(Generic[_Key, _Value]):
    """What a decoder remembers per object it hears of (an aircraft's state, a vessel's
    static data), for at most ``limit`` objects: the one heard of longest ago is forgotten
    first, so a feed naming ever new objects cannot grow the decoder without bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[_Key, _Value] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: _Key) -> _Value | None:
        """What is remembered of ``key``, without counting this as hearing of it."""
        return self._items.get(key)

    def put(self, key: _Key, value: _Value) -> None:
        """Remember ``value`` for ``key``, heard of now."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.limit:
            self._items.popitem(last=False)

    def heard(self, key: _Key, new: Callable[[], _Value]) -> _Value:
        """What is remembered of ``key`` (``new()`` the first time), heard of now."""
        value = self._items.get(key)
        if value is None:
            value = new()
        self.put(key, value)
        return value

    def forget(self, key: _Key) -> None:
        self._items.pop(key, None)


#: How a decoder finds frames in what it is fed: ``stream`` (reads of a byte stream: a frame
#: may span reads, a partial one waits for the next) or ``datagram`` (each read holds whole
#: frames, as a UDP datagram does: a cut frame is refused with its datagram, never joined
#: with the next sender's bytes). Decoders whose frames carry their own boundaries (lines,
#: length prefixes) read both alike.
Framing = Literal["stream", "datagram"]


@dataclass(frozen=True)
class DecoderOptions:
    """What a decoder may need beyond the bytes; each decoder's ``from_options`` takes
    what applies to it."""

    #: Sensor/site positions (YAML), e.g. ASTERIX SAC/SIC, EVE sensor IPs.
    sensors_file: Path | None = None
    #: Names the feed when the standard does not.
    source_id: str | None = None
    sector: str = ""
    releasability: str = "NATO"
    framing: Framing = "stream"
    #: Orbital elements (TLE file) that satellite reports are checked against.
    tle_file: Path | None = None


def reason_kind(reason: str) -> str:
    """The kind of a refusal, what it is counted by: its text before the first colon (not
    every variant of the values it quotes)."""
    return reason.split(":", 1)[0][:80]


class IngestError(ValueError):
    """One frame could not be decoded; fields say where and what was expected."""

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        expected: str | None = None,
        got: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.field = field
        self.expected = expected
        self.got = got
        self.offset = offset
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.reason]
        if self.field is not None:
            parts.insert(0, f"{self.field}:")
        if self.expected is not None:
            parts.append(f"(expected {self.expected}")
            parts[-1] += f", got {self.got})" if self.got is not None else ")"
        if self.offset is not None:
            parts.append(f"at byte {self.offset}")
        return " ".join(parts)


@dataclass(frozen=True)
class Rejected:
    """A refused frame: its raw bytes and why."""

    raw: bytes
    reason: str


@dataclass
class DecodeResult:
    messages: list[AnyMessage] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def extend(self, other: DecodeResult) -> None:
        self.messages.extend(other.messages)
        self.rejected.extend(other.rejected)

    def dead_letters(
        self, source: str, time: datetime, releasability: str = "NATO"
    ) -> list[DeadLetter]:
        return [
            DeadLetter(
                time=time,
                source=source,
                reason=item.reason,
                raw=item.raw,
                releasability=releasability,
            )
            for item in self.rejected
        ]


@dataclass
class DecoderCounters:
    frames: int = 0
    messages: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class Decoder(ABC):
    """Bytes of one standard -> hotzone messages. One instance per input stream."""

    #: Names the dead-letter subject ``hz.{nation}.dead.{source_name}``.
    source_name: str = "unknown"

    def __init__(self) -> None:
        self.counters = DecoderCounters()

    @property
    @abstractmethod
    def max_frame_bytes(self) -> int:
        """The largest frame (line, document, event, packet) this decoder parses: a larger
        one is refused before parsing, so one input bounds the work and memory it costs."""

    @abstractmethod
    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        """Decode what arrived; an incomplete trailing frame waits for the next call."""

    def flush(self, received_at: datetime) -> DecodeResult:
        """End of the stream: whatever is still buffered is refused, with the reason."""
        return DecodeResult()

    def _count(self, result: DecodeResult) -> DecodeResult:
        """Update the counters from a result; concrete decoders return through this."""
        self.counters.messages += len(result.messages)
        for item in result.rejected:
            self.counters.rejected[reason_kind(item.reason)] += 1
        return result


class LineDecoder(Decoder):
    """For line-oriented text standards (SBS, NMEA, EVE JSON): one frame per line.

    A line longer than ``max_line_bytes`` is refused before it is decoded, complete or not,
    so one input costs at most that much work and memory.
    """

    max_line_bytes = 65536

    def __init__(self) -> None:
        super().__init__()
        self._partial = b""

    @property
    def max_frame_bytes(self) -> int:
        return self.max_line_bytes

    @abstractmethod
    def decode_line(self, line: bytes, received_at: datetime) -> list[AnyMessage]:
        """Decode one line (without its terminator); raise `IngestError` if it is bad."""

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        buffer = self._partial + data
        *lines, self._partial = buffer.split(b"\n")
        if len(self._partial) > self.max_line_bytes:
            result.rejected.append(
                Rejected(self._partial, f"line longer than {self.max_line_bytes} bytes")
            )
            self._partial = b""
        for raw_line in lines:
            self._decode_into(raw_line.rstrip(b"\r"), received_at, result)
        return self._count(result)

    def flush(self, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        if self._partial.strip():
            self._decode_into(self._partial.rstrip(b"\r"), received_at, result)
        self._partial = b""
        return self._count(result)

    def _decode_into(self, line: bytes, received_at: datetime, result: DecodeResult) -> None:
        if not line.strip():
            return
        self.counters.frames += 1
        if len(line) > self.max_line_bytes:
            reason = f"line longer than {self.max_line_bytes} bytes"
            result.rejected.append(Rejected(line[: self.max_line_bytes], reason))
            return
        try:
            result.messages.extend(self.decode_line(line, received_at))
        except IngestError as error:
            result.rejected.append(Rejected(line, error.describe()))
        except RecursionError:
            # msgspec (and the stdlib parser) stop at the interpreter's recursion limit:
            # that is the depth cap of every JSON line format.
            result.rejected.append(Rejected(line, NESTED_TOO_DEEP))
        except (ValueError, KeyError, IndexError, UnicodeDecodeError, OverflowError) as error:
            # A library under a decoder may raise its own errors on odd input; they are
            # still the input's fault, so they become dead letters, not crashes.
            result.rejected.append(Rejected(line, f"{type(error).__name__}: {error}"))
