"""The `Store` seam: every message the system saw or produced, replayable in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, Self

from hotzone.types import AnyMessage, Track, from_json


@dataclass(frozen=True)
class StoredMessage:
    sequence: int
    subject: str
    message: AnyMessage


class Store(Protocol):
    """Append-only record of messages with their subjects.

    ``replay`` yields messages in the order they were appended, optionally filtered by a
    subject pattern (NATS wildcards) and message type tags.
    """

    def append(self, subject: str, message: AnyMessage) -> int:
        """Record one message; returns its sequence number."""

    def append_many(self, items: Iterable[tuple[str, AnyMessage]]) -> int:
        """Record several messages in one transaction; returns the last sequence number."""

    def replay(
        self,
        pattern: str = ">",
        types: Iterable[str] | None = None,
        after_sequence: int = 0,
    ) -> Iterator[StoredMessage]: ...

    def count(self, message_type: str | None = None) -> int: ...

    def close(self) -> None: ...


class ClosedOnExit:
    """What every store class shares: ``with store:`` closes it on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def tracks_of_rows(rows: Iterable[tuple[Any, ...]]) -> list[Track]:
    """The tracks of ``track_states`` rows whose first column is the payload (JSON)."""
    tracks = []
    for payload, *_ in rows:
        track = from_json(payload)
        assert isinstance(track, Track)  # only tracks are written to track_states
        tracks.append(track)
    return tracks
