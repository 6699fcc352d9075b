"""JSON Lines and MessagePack interchange for messages.

One message per line, tagged by ``"type"``. Decoding validates the schema (units, ranges,
timezone-aware times) and raises `DecodeError` with the reason, so callers can route the
raw bytes to a dead letter instead of crashing.
"""

from __future__ import annotations

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
            stream.write(buffer)
            buffer.clear()
    stream.write(buffer)
    return count


def read_jsonl(path: Path | str) -> Iterator[AnyMessage]:
    """Read messages from a JSONL file; a bad line raises with its line number."""
    with open(path, "rb") as stream:
        for line_number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield _json_decoder.decode(line)
            except (DecodeError, ValidationError) as error:
                raise DecodeError(f"{path}:{line_number}: {error}") from error


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
