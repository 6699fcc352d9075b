"""`AsterixDecoder`: ASTERIX data-block streams and pcap captures -> hotzone messages.

Input framing is detected from the first bytes: a pcap magic number means a capture file
(each UDP payload is decoded as one datagram, timed by its capture time); anything else is
a stream of concatenated data blocks (UDP datagrams, TCP, recorded files), where a block
cut by a chunk boundary waits for the rest.

Each data block goes through its category's UAP (`CATEGORIES`, a literal table) to typed
records, then to messages (`hotzone.ingest.asterix.mapping`); a routine record that is no
message (a CAT065 end of batch) is counted in `AsterixDecoder.heartbeats`. A record that cannot be
decoded is rejected with its reason; since ASTERIX records carry no length, the rest of
its block is rejected with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotzone.ingest.asterix import cat021, cat034, cat048, cat062, cat065
from hotzone.ingest.asterix.datablock import (
    DataBlock,
    Uap,
    block_length,
    split_blocks,
    split_records,
)
from hotzone.ingest.asterix.errors import (
    AsterixError,
    ItemValueError,
    UnsupportedCategoryError,
)
from hotzone.ingest.asterix.mapping import (
    MappingContext,
    SdpsHeartbeat,
    cat021_to_report,
    cat034_to_event,
    cat048_to_detection,
    cat062_to_report,
    cat065_to_event,
)
from hotzone.ingest.asterix.sites import SiteTable
from hotzone.ingest.base import (
    Decoder,
    DecodeResult,
    DecoderOptions,
    Framing,
    IngestError,
    Rejected,
)
from hotzone.ingest.pcap import PcapStreamReader, is_capture_start, udp_payload
from hotzone.types import AnyMessage

MAX_BLOCK_LENGTH = 65535


@dataclass(frozen=True)
class Category:
    """How one ASTERIX category is framed, decoded and mapped."""

    uap: Uap
    new_record: Callable[[], Any]
    item_decoders: Mapping[str, Callable[[bytes, Any], None]]
    #: None: a routine record the mapping only counted (see `MappingContext.heartbeats`).
    to_message: Callable[[Any, MappingContext], AnyMessage | None]


CATEGORIES: dict[int, Category] = {
    21: Category(cat021.UAP, cat021.Cat021Record, cat021.ITEM_DECODERS, cat021_to_report),
    34: Category(cat034.UAP, cat034.Cat034Record, cat034.ITEM_DECODERS, cat034_to_event),
    48: Category(cat048.UAP, cat048.Cat048Record, cat048.ITEM_DECODERS, cat048_to_detection),
    62: Category(cat062.UAP, cat062.Cat062Record, cat062.ITEM_DECODERS, cat062_to_report),
    65: Category(cat065.UAP, cat065.Cat065Record, cat065.ITEM_DECODERS, cat065_to_event),
}


def decode_records(block: DataBlock) -> tuple[list[tuple[Any, bytes]], AsterixError | None]:
    """Typed records of one block (with each record's raw bytes), and the error that
    stopped decoding, if any (the records before it are still good)."""
    category = CATEGORIES.get(block.category)
    if category is None:
        supported = ", ".join(f"{number:03d}" for number in sorted(CATEGORIES))
        return [], UnsupportedCategoryError(
            f"CAT{block.category:03d} is not decoded (supported: {supported})",
            field="CAT",
            offset=block.offset,
        )
    records: list[tuple[Any, bytes]] = []
    try:
        for raw_record in split_records(block, category.uap):
            record = category.new_record()
            for item_id, raw_item in raw_record.items.items():
                decode_item = category.item_decoders.get(item_id)
                if decode_item is not None:
                    _decode_item(decode_item, item_id, raw_item, record)
            records.append((record, raw_record.raw))
    except AsterixError as error:
        return records, error
    return records, None


def _decode_item(
    decode_item: Callable[[bytes, Any], None], item_id: str, raw_item: bytes, record: Any
) -> None:
    try:
        decode_item(raw_item, record)
    except (IndexError, UnicodeDecodeError) as error:
        # Framing already checked the length; this is an item shorter than its decoder
        # reads (e.g. an extension it needs is absent), still the input's fault.
        raise ItemValueError(f"item cannot be decoded: {error}", field=item_id) from None


class AsterixDecoder(Decoder):
    """ASTERIX CAT021/034/048/062/065 -> Report / Event / Detection; never raises on input.

    ``heartbeats`` counts the routine CAT065 end-of-batch messages per SDPS service (key
    ``{source_id}/service/{n}``), with the latest time and batch number of each.
    """

    source_name = "asterix"

    def __init__(
        self,
        sites: SiteTable | None = None,
        *,
        framing: Framing = "stream",
        source_id: str | None = None,
        sector: str = "",
        releasability: str = "NATO",
    ) -> None:
        super().__init__()
        self.sites = sites or SiteTable()
        self.framing: Framing = framing
        self.source_id = source_id
        self.sector = sector
        self.releasability = releasability
        self._buffer = b""
        self._pcap: PcapStreamReader | None = None
        self._started = False
        self._sequence = [0]
        self.heartbeats: dict[str, SdpsHeartbeat] = {}

    @property
    def max_frame_bytes(self) -> int:
        return MAX_BLOCK_LENGTH  # a data block's LEN is 16 bits: the standard bounds it

    @classmethod
    def from_options(cls, options: DecoderOptions) -> AsterixDecoder:
        """Factory for the registry: sites from ``options.sensors_file``, its framing."""
        sites = SiteTable.from_file(options.sensors_file) if options.sensors_file else None
        return cls(
            sites,
            framing=options.framing,
            source_id=options.source_id,
            sector=options.sector,
            releasability=options.releasability,
        )

    def mapping_context(self, received_at: datetime) -> MappingContext:
        """What `hotzone.ingest.asterix.batch.map_plots` maps a datagram's plots with, as
        `feed` would: this decoder's sites and labels, and its counter of detection ids
        (a datagram decoded either way takes the next ids)."""
        self._started = True  # a later datagram is not the start of a pcap capture
        return self._mapping_context(received_at)

    def _mapping_context(self, received_at: datetime) -> MappingContext:
        return MappingContext(
            sites=self.sites,
            received_at=received_at,
            source_id=self.source_id,
            sector=self.sector,
            releasability=self.releasability,
            sequence=self._sequence,
            heartbeats=self.heartbeats,
        )

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        if not self._started:
            head = self._buffer + data
            if len(head) < 4 and self.framing == "stream":
                self._buffer = head
                return result
            self._started = True
            if is_capture_start(head):
                self._pcap = PcapStreamReader()
            data, self._buffer = head, b""
        if self._pcap is not None:
            self._feed_capture(data, result)
        elif self.framing == "datagram":
            self.decode_datagram(data, received_at, result)
        else:
            self._feed_stream(data, received_at, result)
        return self._count(result)

    def flush(self, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        leftover = self._buffer
        self._buffer = b""
        if self._pcap is not None:
            leftover = self._pcap.leftover()
            if leftover:
                result.rejected.append(Rejected(leftover, "pcap: capture ends inside a packet"))
        elif leftover:
            # An incomplete block at the end of the stream: decoding it reports the cut.
            self.decode_datagram(leftover, received_at, result)
        return self._count(result)

    def decode_datagram(self, data: bytes, received_at: datetime, result: DecodeResult) -> None:
        """Decode bytes that hold whole data blocks only (one UDP payload)."""
        try:
            for block in split_blocks(data):
                self._decode_block(block, received_at, result)
        except AsterixError as error:
            start = error.offset or 0
            self.counters.frames += 1
            result.rejected.append(Rejected(data[start:], error.describe()))

    def _feed_stream(self, data: bytes, received_at: datetime, result: DecodeResult) -> None:
        buffer = self._buffer + data
        offset = 0
        while True:
            try:
                length = block_length(buffer, offset)
            except IngestError as error:
                # LEN below 3: nothing tells where the next block starts.
                self.counters.frames += 1
                result.rejected.append(
                    Rejected(buffer[offset:], f"{error.describe()}; rest of the input dropped")
                )
                offset = len(buffer)
                break
            if length is None or offset + length > len(buffer):
                break
            raw = buffer[offset : offset + length]
            block = DataBlock(category=raw[0], body=raw[3:], raw=raw, offset=0)
            self._decode_block(block, received_at, result)
            offset += length
        self._buffer = buffer[offset:]

    def _feed_capture(self, data: bytes, result: DecodeResult) -> None:
        assert self._pcap is not None
        try:
            packets = self._pcap.feed(data)
        except IngestError as error:
            self.counters.frames += 1
            result.rejected.append(Rejected(data, error.describe()))
            return
        for packet in packets:
            try:
                payload = udp_payload(packet)
            except IngestError as error:
                self.counters.frames += 1
                result.rejected.append(Rejected(packet.frame, error.describe()))
                continue
            self.decode_datagram(payload, packet.time, result)

    def _decode_block(self, block: DataBlock, received_at: datetime, result: DecodeResult) -> None:
        self.counters.frames += 1
        records, error = decode_records(block)
        context = self._mapping_context(received_at)
        category = CATEGORIES.get(block.category)
        for record, raw_record in records:
            assert category is not None
            try:
                message = category.to_message(record, context)
            except ValueError as mapping_error:  # IngestError, or a message invariant
                reason = (
                    mapping_error.describe()
                    if isinstance(mapping_error, IngestError)
                    else f"CAT{block.category:03d}: {mapping_error}"
                )
                result.rejected.append(Rejected(raw_record, reason))
                continue
            if message is not None:
                result.messages.append(message)
        if error is not None:
            where = f"record {len(records) + 1}" if category is not None else "block"
            result.rejected.append(Rejected(block.raw, f"{error.describe()} ({where})"))
