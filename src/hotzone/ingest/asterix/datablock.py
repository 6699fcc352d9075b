"""ASTERIX framing common to every category: data blocks, records, FSPEC and item lengths.

Layout (EUROCONTROL ASTERIX Part 1, §4)::

    data block = CAT (1 octet) | LEN (2 octets, big-endian, counts CAT and LEN) | record...
    record     = FSPEC | item... (in field-reference-number order)
    FSPEC      = octets whose bits 8..2 flag FRNs 7k+1..7k+7; bit 1 (FX) = another octet follows

A record carries no length of its own: its end is found by walking the FSPEC and the length
of each present item, whose format comes from the category's User Application Profile
(UAP, a tuple literal in each ``catNNN`` module). Item formats:

- `Fixed(n)`: n octets.
- `Extended(n)`: parts of n octets; bit 1 of a part's last octet (FX) says another follows.
- `Repetitive(n)`: REP (1 octet) then REP elements of n octets.
- `Explicit()`: LEN (1 octet, counts itself) then LEN-1 octets; SP and RE fields use it.
- `Compound(subfields)`: an FX-extended primary subfield whose bits 8..2 flag the
  subfields in order, then each present subfield in its own format.

A bad record makes the rest of its block unreadable (nothing marks where the next record
starts), so errors carry the offset and the caller rejects the remainder of the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hotzone.ingest.asterix.errors import DataBlockError, FspecError, TruncatedError

HEADER_LENGTH = 3  # CAT (1) + LEN (2)


@dataclass(frozen=True, slots=True)
class Fixed:
    length: int


@dataclass(frozen=True, slots=True)
class Extended:
    part_length: int = 1


@dataclass(frozen=True, slots=True)
class Repetitive:
    element_length: int


@dataclass(frozen=True, slots=True)
class Explicit:
    pass


@dataclass(frozen=True, slots=True)
class Compound:
    #: (name, format) per bit of the primary subfield, in order; None marks a spare bit.
    subfields: tuple[tuple[str, ItemFormat] | None, ...]


ItemFormat = Fixed | Extended | Repetitive | Explicit | Compound


@dataclass(frozen=True, slots=True)
class ItemSpec:
    item_id: str  # e.g. "I048/040", or "SP"/"RE" for the special/reserved expansion fields
    format: ItemFormat


#: A category's UAP: element k describes FRN k+1; None marks a spare FRN.
Uap = tuple[ItemSpec | None, ...]


@dataclass(frozen=True, slots=True)
class DataBlock:
    category: int
    body: bytes  # the records, without CAT and LEN
    raw: bytes  # the whole block, for dead letters
    offset: int  # where the block started in its input


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record cut out of a block: each present item's raw bytes, by item id."""

    items: dict[str, bytes]
    raw: bytes
    offset: int  # within the block body


def block_length(data: bytes, offset: int = 0) -> int | None:
    """LEN of the block starting at ``offset``; None while the header is incomplete.

    Reads octets 2-3 of the block (LEN, big-endian). Raises `DataBlockError` when LEN is
    shorter than the header itself, which means framing is lost.
    """
    if len(data) - offset < HEADER_LENGTH:
        return None
    length = (data[offset + 1] << 8) | data[offset + 2]
    if length < HEADER_LENGTH:
        raise DataBlockError(
            "data block LEN shorter than its header",
            field="LEN",
            expected=f">= {HEADER_LENGTH}",
            got=str(length),
            offset=offset,
        )
    return length


def split_blocks(data: bytes) -> Iterator[DataBlock]:
    """Every complete data block of ``data``, which must hold whole blocks only.

    Raises `DataBlockError` on a LEN below 3 and `TruncatedError` when the last block is
    cut short (a datagram or file that ends inside a block).
    """
    offset = 0
    while offset < len(data):
        length = block_length(data, offset)
        if length is None or offset + length > len(data):
            raise TruncatedError(
                "data block cut short",
                field="LEN",
                expected=f"{length if length is not None else '>= 3'} octets",
                got=f"{len(data) - offset}",
                offset=offset,
            )
        raw = data[offset : offset + length]
        yield DataBlock(category=raw[0], body=raw[HEADER_LENGTH:], raw=raw, offset=offset)
        offset += length


def read_fspec(body: bytes, offset: int, uap: Uap, category: int) -> tuple[list[int], int]:
    """The FRNs (1-based) flagged by the FSPEC at ``offset``, and the offset after it.

    Each FSPEC octet's bits 8..2 flag seven FRNs; bit 1 (FX) extends it. The chain may not
    run past the UAP (a corrupt or never-ending FX chain) nor past the block.
    """
    max_octets = (len(uap) + 6) // 7
    present: list[int] = []
    position = offset
    for octet_index in range(max_octets):
        if position >= len(body):
            raise TruncatedError(
                f"CAT{category:03d} FSPEC runs past the end of the block",
                field="FSPEC",
                offset=position,
            )
        octet = body[position]
        position += 1
        for bit in range(7):
            if octet & (0x80 >> bit):
                present.append(octet_index * 7 + bit + 1)
        if not octet & 0x01:
            return present, position
    raise FspecError(
        f"CAT{category:03d} FSPEC longer than its UAP (FX chain does not end)",
        field="FSPEC",
        expected=f"at most {max_octets} octets",
        offset=offset,
    )


def item_length(body: bytes, offset: int, item_format: ItemFormat, item_id: str) -> int:
    """How many octets the item of ``item_format`` starting at ``offset`` occupies."""
    available = len(body) - offset
    if isinstance(item_format, Fixed):
        length = item_format.length
    elif isinstance(item_format, Extended):
        length = _extended_length(body, offset, item_format.part_length, item_id)
    elif isinstance(item_format, Repetitive):
        _need(1, available, item_id, offset, "repetition factor")
        length = 1 + body[offset] * item_format.element_length
    elif isinstance(item_format, Explicit):
        _need(1, available, item_id, offset, "length octet")
        length = body[offset]
        if length < 1:
            raise TruncatedError(
                "explicit length 0 cannot count its own length octet",
                field=item_id,
                expected=">= 1",
                got="0",
                offset=offset,
            )
    else:
        length = _compound_length(body, offset, item_format, item_id)
    _need(length, available, item_id, offset, "item")
    return length


def _need(length: int, available: int, item_id: str, offset: int, what: str) -> None:
    if length > available:
        raise TruncatedError(
            f"{what} runs past the end of the block",
            field=item_id,
            expected=f"{length} octets",
            got=f"{available}",
            offset=offset,
        )


def _extended_length(body: bytes, offset: int, part_length: int, item_id: str) -> int:
    length = 0
    while True:
        length += part_length
        _need(length, len(body) - offset, item_id, offset, "FX-extended item")
        if not body[offset + length - 1] & 0x01:
            return length


def split_extended(raw: bytes) -> int:
    """Length of the FX-extended primary subfield at the start of ``raw`` (1-octet parts)."""
    return _extended_length(raw, 0, 1, "primary subfield")


def _compound_length(body: bytes, offset: int, compound: Compound, item_id: str) -> int:
    primary_length = _extended_length(body, offset, 1, item_id)
    length = primary_length
    for slot in _present_slots(body[offset : offset + primary_length], compound, item_id, offset):
        _name, subfield_format = slot
        length += item_length(body, offset + length, subfield_format, item_id)
    return length


def _present_slots(
    primary: bytes, compound: Compound, item_id: str, offset: int
) -> Iterator[tuple[str, ItemFormat]]:
    for octet_index, octet in enumerate(primary):
        for bit in range(7):
            if not octet & (0x80 >> bit):
                continue
            slot_index = octet_index * 7 + bit
            slot = compound.subfields[slot_index] if slot_index < len(compound.subfields) else None
            if slot is None:
                raise FspecError(
                    "compound item flags a subfield its definition does not have",
                    field=item_id,
                    got=f"subfield {slot_index + 1}",
                    offset=offset,
                )
            yield slot


def split_compound(raw: bytes, compound: Compound, item_id: str) -> dict[str, bytes]:
    """Each present subfield's raw bytes, by name (``raw`` is one whole compound item)."""
    primary_length = _extended_length(raw, 0, 1, item_id)
    subfields: dict[str, bytes] = {}
    position = primary_length
    for name, subfield_format in _present_slots(raw[:primary_length], compound, item_id, 0):
        length = item_length(raw, position, subfield_format, item_id)
        subfields[name] = raw[position : position + length]
        position += length
    return subfields


def split_records(block: DataBlock, uap: Uap) -> Iterator[RawRecord]:
    """Each record of ``block``, cut by walking FSPECs and item lengths of the UAP."""
    body = block.body
    offset = 0
    while offset < len(body):
        start = offset
        present, offset = read_fspec(body, offset, uap, block.category)
        items: dict[str, bytes] = {}
        for frn in present:
            spec = uap[frn - 1] if frn <= len(uap) else None
            if spec is None:
                raise FspecError(
                    f"CAT{block.category:03d} FSPEC flags FRN {frn}, a spare or unused field",
                    field="FSPEC",
                    offset=start,
                )
            length = item_length(body, offset, spec.format, spec.item_id)
            items[spec.item_id] = body[offset : offset + length]
            offset += length
        if not present:
            raise FspecError(
                f"CAT{block.category:03d} record with an empty FSPEC",
                field="FSPEC",
                offset=start,
            )
        yield RawRecord(items=items, raw=body[start:offset], offset=start)


def unsigned(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def signed(raw: bytes, bits: int | None = None) -> int:
    """Two's complement value of ``raw`` (all its bits, or its ``bits`` least significant)."""
    width = bits if bits is not None else 8 * len(raw)
    value = int.from_bytes(raw, "big") & ((1 << width) - 1)
    return value - (1 << width) if value & (1 << (width - 1)) else value


#: Code 0 (all bits clear: no character sent) reads as a space, as in asterix-decoder.
_IA5_SIX_BIT = " ABCDEFGHIJKLMNOPQRSTUVWXYZ????? ???????????????0123456789??????"


def six_bit_characters(raw: bytes) -> str:
    """Characters coded on 6 bits each (ICAO Annex 10 IA-5 subset), 8 from 6 octets."""
    value = unsigned(raw)
    count = len(raw) * 8 // 6
    return "".join(
        _IA5_SIX_BIT[(value >> (6 * (count - 1 - index))) & 0x3F] for index in range(count)
    )


def mode_3a_octal(raw: bytes) -> str:
    """The 12 least significant bits of a 2-octet item as four octal digits (ABCD)."""
    return f"{unsigned(raw) & 0x0FFF:04o}"
