"""SAPIENT framing on a TCP stream (BSI Flex 335 v2.0, transport section).

Every message travels as one frame::

    +----------------------------+-----------------------------------------+
    | bytes 0-3                  | bytes 4 .. 4+length-1                   |
    | length, uint32 little-end. | SapientMessage, protobuf wire encoding  |
    +----------------------------+-----------------------------------------+

The length counts the protobuf bytes only. A length of zero or above the limit cannot be
a SapientMessage; since the stream has no other markers, nothing after a bad length can be
re-synchronised, so the rest of the buffer is refused with it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

HEADER_BYTES = 4
#: The ICD sets no maximum; detection reports are a few hundred bytes, so 1 MiB leaves room
#: for large registrations while a corrupt header cannot make us buffer gigabytes.
DEFAULT_MAX_FRAME_BYTES = 1 << 20

_LENGTH = struct.Struct("<I")


def encode_frame(payload: bytes) -> bytes:
    """Prefix one serialized SapientMessage with its 4-byte little-endian length."""
    return _LENGTH.pack(len(payload)) + payload


@dataclass(frozen=True)
class BadFrameLength:
    """A header whose length cannot be right, with the bytes refused with it."""

    raw: bytes
    length: int
    reason: str


@dataclass
class FrameSplitter:
    """Cuts a byte stream into SapientMessage payloads; keeps a partial frame for later."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    _buffer: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> tuple[list[bytes], BadFrameLength | None]:
        """Complete payloads in arrival order, and the refused remainder after a bad length."""
        self._buffer += data
        payloads: list[bytes] = []
        offset = 0
        bad: BadFrameLength | None = None
        while len(self._buffer) - offset >= HEADER_BYTES:
            (length,) = _LENGTH.unpack_from(self._buffer, offset)
            if length == 0 or length > self.max_frame_bytes:
                reason = (
                    f"bad frame length: {length} bytes (expected 1 to {self.max_frame_bytes}) "
                    f"at byte {offset} of the buffer"
                )
                bad = BadFrameLength(bytes(self._buffer[offset:]), length, reason)
                offset = len(self._buffer)
                break
            end = offset + HEADER_BYTES + length
            if end > len(self._buffer):
                break
            payloads.append(bytes(self._buffer[offset + HEADER_BYTES : end]))
            offset = end
        del self._buffer[:offset]
        return payloads, bad

    def take_remainder(self) -> bytes:
        """End of stream: the incomplete frame still buffered (empty if none)."""
        remainder = bytes(self._buffer)
        self._buffer.clear()
        return remainder
