"""The `Store` seam: every message the system saw or produced, replayable in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from hotzone.types import AnyMessage


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
