"""`SQLiteStore`: the embedded default store, one file in WAL mode."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from hotzone.store.base import StoredMessage
from hotzone.types import AnyMessage, from_json
from hotzone.types.subjects import subject_matches, validate_pattern

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_type ON messages(type, sequence);
CREATE INDEX IF NOT EXISTS messages_time ON messages(time);
"""

_encoder = msgspec.json.Encoder()


def _type_tag(message: AnyMessage) -> str:
    tag: Any = type(message).__struct_config__.tag
    return str(tag)


class SQLiteStore:
    """Records messages as JSON in SQLite; ``:memory:`` works for tests."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # One connection per store; the runtime appends from one task, so the default
        # same-thread check stays on to catch misuse.
        self._connection = sqlite3.connect(self.path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(_SCHEMA)

    def _row(self, subject: str, message: AnyMessage) -> tuple[str, str, str, bytes]:
        return (subject, _type_tag(message), message.time.isoformat(), _encoder.encode(message))

    def append(self, subject: str, message: AnyMessage) -> int:
        cursor = self._connection.execute(
            "INSERT INTO messages(subject, type, time, payload) VALUES (?, ?, ?, ?)",
            self._row(subject, message),
        )
        return int(cursor.lastrowid or 0)

    def append_many(self, items: Iterable[tuple[str, AnyMessage]]) -> int:
        rows = [self._row(subject, message) for subject, message in items]
        with self._transaction():
            self._connection.executemany(
                "INSERT INTO messages(subject, type, time, payload) VALUES (?, ?, ?, ?)", rows
            )
        last = self._connection.execute("SELECT MAX(sequence) FROM messages").fetchone()[0]
        return int(last or 0)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection)

    def replay(
        self,
        pattern: str = ">",
        types: Iterable[str] | None = None,
        after_sequence: int = 0,
    ) -> Iterator[StoredMessage]:
        validate_pattern(pattern)
        query = "SELECT sequence, subject, payload FROM messages WHERE sequence > ?"
        parameters: list[Any] = [after_sequence]
        type_list = list(types) if types is not None else None
        if type_list is not None:
            query += f" AND type IN ({', '.join('?' for _ in type_list)})"
            parameters.extend(type_list)
        query += " ORDER BY sequence"
        for sequence, subject, payload in self._connection.execute(query, parameters):
            if subject_matches(pattern, subject):
                yield StoredMessage(sequence=sequence, subject=subject, message=from_json(payload))

    def count(self, message_type: str | None = None) -> int:
        if message_type is None:
            row = self._connection.execute("SELECT COUNT(*) FROM messages").fetchone()
        else:
            row = self._connection.execute(
                "SELECT COUNT(*) FROM messages WHERE type = ?", (message_type,)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Transaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._connection.execute("ROLLBACK" if exc_type else "COMMIT")
