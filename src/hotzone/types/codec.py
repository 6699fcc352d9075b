"""JSON Lines and MessagePack interchange for messages.

One message per line, tagged by ``"type"``. Decoding validates the schema (units, ranges,
timezone-aware times) and raises `DecodeError` with the reason, so callers can route the
raw bytes to a dead letter instead of crashing.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from hotzone.types.messages import MESSAGE_TYPES, AnyMessage

DecodeError = msgspec.DecodeError
ValidationError = msgspec.ValidationError

_json_encoder = msgspec.json.Encoder()
_json_decoder: msgspec.json.Decoder[AnyMessage] = msgspec.json.Decoder(AnyMessage)
_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoder: msgspec.msgpack.Decoder[AnyMessage] = msgspec.msgpack.Decoder(AnyMessage)


def to_json(message: AnyMessage) -> bytes:
    return _json_encoder.encode(message)


def from_json(data: bytes | str) -> AnyMessage:
    return _json_decoder.decode(data)


def to_msgpack(message: AnyMessage) -> bytes:
    return _msgpack_encoder.encode(message)


def from_msgpack(data: bytes) -> AnyMessage:
    return _msgpack_decoder.decode(data)


def write_jsonl(messages: Iterable[AnyMessage], stream: IO[bytes]) -> int:
    """Write one message per line; returns how many were written."""
    count = 0
    buffer = bytearray()
    for message in messages:
        _json_encoder.encode_into(message, buffer, -1)
        buffer.extend(b"\n")
        count += 1
        if len(buffer) > 1 << 20:
            _write_all(stream, buffer)
            buffer.clear()
    _write_all(stream, buffer)
    return count


def _write_all(stream: IO[bytes], data: bytearray) -> None:
    """An unbuffered stream (``PYTHONUNBUFFERED``: standard output is then a raw file) may
    write only part; the next write of the rest then says why (a full disk)."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if written is None or written >= len(view):
            return
        if written <= 0:
            raise OSError("the stream took no more bytes")
        view = view[written:]


def open_jsonl(path: Path | str, mode: str = "rb") -> IO[bytes]:
    """A JSONL file, gzip-compressed when its name ends in ``.gz`` (``tracks.jsonl.gz``)."""
    if str(path).endswith(".gz"):
        # Level 6: nearly level 9's size at a third of its time.
        return gzip.open(path, mode, compresslevel=6)  # type: ignore[return-value]
    return open(path, mode)  # the caller closes it


def read_jsonl(path: Path | str) -> Iterator[AnyMessage]:
    """Read messages from a JSONL file (gzip when named ``.gz``); a bad line raises with
    its line number."""
    with open_jsonl(path) as stream:
        for line_number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield _json_decoder.decode(line)
            except (DecodeError, ValidationError) as error:
                raise DecodeError(f"{path}:{line_number}: {error}") from error
            except RecursionError:
                raise DecodeError(f"{path}:{line_number}: JSON nested too deep") from None


def json_schema(type_name: str | None = None) -> dict[str, Any]:
    """JSON Schema of one message type, or of the tagged union of all of them."""
    if type_name is None:
        return msgspec.json.schema(AnyMessage)
    try:
        struct_type = MESSAGE_TYPES[type_name]
    except KeyError:
        known = ", ".join(MESSAGE_TYPES)
        raise KeyError(f"unknown message type {type_name!r}; known types: {known}") from None
    return msgspec.json.schema(struct_type)
