"""A small reader of pcap and pcapng captures, for feeds recorded with tcpdump/Wireshark.

Classic pcap (all integers in the byte order the magic number reveals)::

    global header (24 octets): magic (4) | version major (2) | minor (2) | thiszone (4)
                               | sigfigs (4) | snaplen (4) | link type (4)
    packet record (16 + n):    seconds (4) | micro- or nanoseconds (4) | captured length n (4)
                               | original length (4) | n octets of the link-layer frame

Magic a1b2c3d4 means microsecond timestamps, a1b23c4d nanoseconds; read little-endian
they appear as d4c3b2a1 / 4d3cb2a1.

pcapng (magic 0a0d0d0a, Wireshark's default) is a sequence of blocks, each::

    block type (4) | block total length L (4) | body (L - 12, padded to 32 bits) | L again (4)

    Section Header (0a0d0d0a):   byte-order magic 1a2b3c4d (4) | major 1 (2) | minor (2)
                                 | section length (8, -1 if unknown) | options
    Interface Description (1):   link type (2) | reserved (2) | snaplen (4) | options
    Enhanced Packet (6):         interface id (4) | timestamp high (4) | low (4)
                                 | captured length n (4) | original length (4)
                                 | n octets of frame, padded to 32 bits | options
    Simple Packet (3):           original length (4) | frame, padded (interface 0, no time)
    Obsolete Packet (2):         interface id (2) | drops count (2) | then as Enhanced Packet
    options:                     code (2) | length (2) | value padded to 32 bits; code 0 ends

Each section header sets the byte order of its section (read from its byte-order magic, so
sections of one file may differ) and starts a new list of interfaces, numbered from 0 in
the order of their description blocks. A timestamp counts units of the interface's
``if_tsresol`` option (code 9, one octet: bit 7 clear means 10^-v s, set means 2^-v s;
default microseconds) since the epoch plus ``if_tsoffset`` (code 14, signed 64-bit seconds).
Simple Packet Blocks carry no timestamp: they take the time of the section's previous
timed packet, and one before any timed packet is refused. Name Resolution, Interface
Statistics, Decryption Secrets, custom and unknown blocks are skipped by their length.

Framing is lost (the rest of the capture is refused) when a block's total length is below
12, not a multiple of 4, past the limits below, or differs from its trailing copy, and when
a section header or an interface description cannot be read. A well framed packet block
that cannot be used (undefined interface, captured length past the block, time beyond the
calendar) is refused alone: it comes back with a `CapturedPacket.refusal`.

`udp_payload` takes a frame apart: Ethernet (with 802.1Q tags), Linux cooked capture,
raw IP, BSD loopback; IPv4 (unfragmented) or IPv6 (no extension headers); UDP.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from hotzone.ingest.base import IngestError

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
#: magic bytes as found in the file -> (struct byte order, seconds per sub-second unit)
PCAP_MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
GLOBAL_HEADER_LENGTH = 24
RECORD_HEADER_LENGTH = 16
MAX_PACKET_LENGTH = 262144  # larger than any link's jumbo frame: framing is lost

#: pcapng section byte-order magic as found in the file -> struct byte order
PCAPNG_BYTE_ORDERS: dict[bytes, str] = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
PCAPNG_VERSION_MAJOR = 1
BLOCK_SECTION_HEADER = 0x0A0D0D0A
BLOCK_INTERFACE_DESCRIPTION = 1
BLOCK_OBSOLETE_PACKET = 2
BLOCK_SIMPLE_PACKET = 3
BLOCK_ENHANCED_PACKET = 6
PACKET_BLOCKS = frozenset({BLOCK_OBSOLETE_PACKET, BLOCK_SIMPLE_PACKET, BLOCK_ENHANCED_PACKET})
BLOCK_FRAMING_LENGTH = 12  # type, leading and trailing total length
# A packet block holds at most one frame and its options; any other block (name tables,
# decryption secrets) may be larger, but no capture tool writes one of 16 MiB.
MAX_PACKET_BLOCK_LENGTH = MAX_PACKET_LENGTH + 65536
MAX_BLOCK_LENGTH = 16 * 1024 * 1024
OPTION_END = 0
OPTION_IF_TSRESOL = 9
OPTION_IF_TSOFFSET = 14
DEFAULT_TICKS_PER_SECOND = 1_000_000  # no if_tsresol: microseconds

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = frozenset({0x8100, 0x88A8})
IP_PROTOCOL_UDP = 17
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PcapError(IngestError):
    """A capture or one of its packets cannot be read."""


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """One captured frame. A packet whose block was well framed but cannot be used carries
    the reason in ``refusal`` (the raw block as ``frame``, link type -1, the last known
    time): `udp_payload` raises it, so that packet alone is refused and the capture goes on."""

    time: datetime
    link_type: int
    frame: bytes
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class PcapngInterface:
    """What an Interface Description Block says about the packets that name it."""

    link_type: int
    snaplen: int
    ticks_per_second: int = DEFAULT_TICKS_PER_SECOND
    offset_s: int = 0


def is_capture_start(data: bytes) -> bool:
    """Whether ``data`` starts like a pcap or pcapng file."""
    return data[:4] in PCAP_MAGICS or data[:4] == PCAPNG_MAGIC


class PcapStreamReader:
    """Packets of a classic pcap or a pcapng file fed in chunks of any size.

    A record or block cut by a chunk boundary waits in the buffer for the rest; nothing
    beyond one incomplete record or block is held."""

    def __init__(self) -> None:
        self._buffer = b""
        self._format: Literal["pcap", "pcapng"] | None = None  # from the first four octets
        self._position = 0  # file offset of the buffer's first octet, for error messages
        # classic pcap
        self._byte_order = "<"
        self._unit_s = 1e-6
        self._link_type = LINKTYPE_ETHERNET
        # pcapng: the current section
        self._section_order: str | None = None
        self._interfaces: list[PcapngInterface] = []
        self._last_time: datetime | None = None
        self._failed: str | None = None

    def feed(self, data: bytes) -> list[CapturedPacket]:
        """Complete packets so far; raises `PcapError` once framing is lost (and after)."""
        if self._failed is not None:
            raise PcapError(self._failed)
        self._buffer += data
        try:
            if self._format is None and not self._detect_format():
                return []
            if self._format == "pcapng":
                return self._pcapng_packets()
            return self._packets()
        except PcapError as error:
            self._failed = f"{error.describe()}; rest of the capture dropped"
            self._buffer = b""
            raise PcapError(self._failed) from None

    def leftover(self) -> bytes:
        return self._buffer

    def _detect_format(self) -> bool:
        if len(self._buffer) < 4:
            return False
        magic = self._buffer[:4]
        if magic == PCAPNG_MAGIC:
            self._format = "pcapng"
        elif magic in PCAP_MAGICS:
            if len(self._buffer) < GLOBAL_HEADER_LENGTH:
                return False
            self._read_global_header()
            self._format = "pcap"
        else:
            raise PcapError("not a pcap or pcapng file", field="magic", got=magic.hex())
        return True

    def _packets(self) -> list[CapturedPacket]:
        packets: list[CapturedPacket] = []
        offset = 0
        buffer = self._buffer
        header_format = self._byte_order + "IIII"
        while len(buffer) - offset >= RECORD_HEADER_LENGTH:
            seconds, fraction, captured, _original = struct.unpack_from(
                header_format, buffer, offset
            )
            if captured > MAX_PACKET_LENGTH:
                raise PcapError(
                    "packet record longer than any frame",
                    field="incl_len",
                    expected=f"<= {MAX_PACKET_LENGTH}",
                    got=str(captured),
                )
            end = offset + RECORD_HEADER_LENGTH + captured
            if end > len(buffer):
                break
            time = _EPOCH + timedelta(seconds=seconds + fraction * self._unit_s)
            frame = buffer[offset + RECORD_HEADER_LENGTH : end]
            packets.append(CapturedPacket(time=time, link_type=self._link_type, frame=frame))
            offset = end
        self._buffer = buffer[offset:]
        return packets

    def _read_global_header(self) -> None:
        self._byte_order, self._unit_s = PCAP_MAGICS[self._buffer[:4]]
        (self._link_type,) = struct.unpack_from(self._byte_order + "I", self._buffer, 20)
        self._link_type &= 0x0FFFFFFF  # the top bits may carry FCS information
        self._buffer = self._buffer[GLOBAL_HEADER_LENGTH:]
        self._position = GLOBAL_HEADER_LENGTH

    def _pcapng_packets(self) -> list[CapturedPacket]:
        packets: list[CapturedPacket] = []
        offset = 0
        buffer = self._buffer
        while True:
            block = self._next_block(buffer, offset)
            if block is None:
                break
            block_type, length = block
            packet = self._read_block(block_type, buffer[offset : offset + length], offset)
            if packet is not None:
                packets.append(packet)
            offset += length
        self._buffer = buffer[offset:]
        self._position += offset
        return packets

    def _next_block(self, buffer: bytes, offset: int) -> tuple[int, int] | None:
        """(type, total length) of the complete block at ``offset``; None while incomplete."""
        available = len(buffer) - offset
        if available < 8:
            return None
        if buffer[offset : offset + 4] == PCAPNG_MAGIC:  # the same in either byte order
            if available < 12:
                return None
            self._section_order = self._section_byte_order(buffer, offset)
        if self._section_order is None:
            raise PcapError(
                "pcapng block before any section header",
                expected="a Section Header Block first",
                offset=self._position + offset,
            )
        block_type, length = struct.unpack_from(self._section_order + "II", buffer, offset)
        self._check_block_length(block_type, length, offset)
        if length > available:
            return None
        (trailing,) = struct.unpack_from(self._section_order + "I", buffer, offset + length - 4)
        if trailing != length:
            raise PcapError(
                "pcapng block's trailing length differs from its leading length",
                field="block total length",
                expected=str(length),
                got=str(trailing),
                offset=self._position + offset,
            )
        return block_type, length

    def _section_byte_order(self, buffer: bytes, offset: int) -> str:
        byte_order_magic = buffer[offset + 8 : offset + 12]
        if byte_order_magic not in PCAPNG_BYTE_ORDERS:
            raise PcapError(
                "pcapng section header with an unknown byte-order magic",
                field="byte-order magic",
                expected="1a2b3c4d in either byte order",
                got=byte_order_magic.hex(),
                offset=self._position + offset + 8,
            )
        return PCAPNG_BYTE_ORDERS[byte_order_magic]

    def _check_block_length(self, block_type: int, length: int, offset: int) -> None:
        limit = MAX_PACKET_BLOCK_LENGTH if block_type in PACKET_BLOCKS else MAX_BLOCK_LENGTH
        if length < BLOCK_FRAMING_LENGTH or length % 4 or length > limit:
            raise PcapError(
                f"pcapng block (type 0x{block_type:08x}) has an impossible length",
                field="block total length",
                expected=f"a multiple of 4 in {BLOCK_FRAMING_LENGTH}..{limit}",
                got=str(length),
                offset=self._position + offset,
            )

    def _read_block(self, block_type: int, block: bytes, offset: int) -> CapturedPacket | None:
        assert self._section_order is not None
        body = block[8:-4]
        where = self._position + offset
        if block_type == BLOCK_SECTION_HEADER:
            self._read_section_header(body, where)
        elif block_type == BLOCK_INTERFACE_DESCRIPTION:
            self._interfaces.append(_interface_description(body, self._section_order, where))
        elif block_type in PACKET_BLOCKS:
            return self._packet_block(block_type, block, where)
        # Anything else (names, statistics, secrets, custom blocks) is skipped by its length.
        return None

    def _read_section_header(self, body: bytes, where: int) -> None:
        assert self._section_order is not None
        if len(body) < 16:
            raise PcapError(
                "pcapng section header too short",
                expected=">= 28 octets",
                got=str(len(body) + BLOCK_FRAMING_LENGTH),
                offset=where,
            )
        (major,) = struct.unpack_from(self._section_order + "H", body, 4)
        if major != PCAPNG_VERSION_MAJOR:
            raise PcapError(
                "pcapng section of an unknown major version",
                field="major version",
                expected=str(PCAPNG_VERSION_MAJOR),
                got=str(major),
                offset=where,
            )
        self._interfaces = []
        self._last_time = None

    def _packet_block(self, block_type: int, block: bytes, where: int) -> CapturedPacket:
        try:
            packet = self._read_packet_block(block_type, block[8:-4])
        except PcapError as error:
            # The block is well framed: refuse this packet alone and keep reading.
            reason = f"{error.describe()} (pcapng block at byte {where})"
            return CapturedPacket(
                time=self._last_time or _EPOCH, link_type=-1, frame=block, refusal=reason
            )
        self._last_time = packet.time
        return packet

    def _read_packet_block(self, block_type: int, body: bytes) -> CapturedPacket:
        order = self._section_order
        assert order is not None
        if block_type == BLOCK_SIMPLE_PACKET:
            return self._simple_packet(body, order)
        if block_type == BLOCK_ENHANCED_PACKET:
            name, fields = "Enhanced Packet Block", order + "IIIII"
        else:
            name, fields = "Obsolete Packet Block", order + "HHIIII"
        if len(body) < 20:
            raise PcapError(f"{name} shorter than its fixed fields", got=str(len(body)))
        values = struct.unpack_from(fields, body)
        interface_id, (high, low, captured, _original) = values[0], values[-4:]
        interface = self._interface(interface_id, name)
        frame = _frame_within(body, 20, captured, name)
        time = _tick_time((high << 32) | low, interface)
        return CapturedPacket(time=time, link_type=interface.link_type, frame=frame)

    def _simple_packet(self, body: bytes, order: str) -> CapturedPacket:
        name = "Simple Packet Block"
        if len(body) < 4:
            raise PcapError(f"{name} shorter than its fixed fields", got=str(len(body)))
        interface = self._interface(0, name)
        (original,) = struct.unpack_from(order + "I", body)
        # Its captured length is not written: the original length cut to the snaplen.
        captured = min(original, interface.snaplen or original)
        frame = _frame_within(body, 4, captured, name)
        if self._last_time is None:
            raise PcapError(f"{name} has no timestamp and no earlier packet in its section")
        return CapturedPacket(time=self._last_time, link_type=interface.link_type, frame=frame)

    def _interface(self, interface_id: int, name: str) -> PcapngInterface:
        if interface_id >= len(self._interfaces):
            raise PcapError(
                f"{name} names an interface not described in its section",
                field="interface id",
                expected=f"< {len(self._interfaces)}",
                got=str(interface_id),
            )
        return self._interfaces[interface_id]


def _interface_description(body: bytes, order: str, where: int) -> PcapngInterface:
    """An Interface Description Block's link type, snaplen and timestamp options."""
    if len(body) < 8:
        raise PcapError(
            "pcapng interface description too short",
            expected=">= 20 octets",
            got=str(len(body) + BLOCK_FRAMING_LENGTH),
            offset=where,
        )
    link_type, _reserved, snaplen = struct.unpack_from(order + "HHI", body)
    ticks_per_second = DEFAULT_TICKS_PER_SECOND
    offset_s = 0
    for code, value in _options(body[8:], order, where):
        if code == OPTION_IF_TSRESOL:
            _check_option_length("if_tsresol", value, 1, where)
            exponent = value[0] & 0x7F
            ticks_per_second = 2**exponent if value[0] & 0x80 else 10**exponent
        elif code == OPTION_IF_TSOFFSET:
            _check_option_length("if_tsoffset", value, 8, where)
            (offset_s,) = struct.unpack(order + "q", value)
    return PcapngInterface(link_type, snaplen, ticks_per_second, offset_s)


def _options(data: bytes, order: str, where: int) -> list[tuple[int, bytes]]:
    """(code, value) of each option until opt_endofopt or the end of the block."""
    options: list[tuple[int, bytes]] = []
    offset = 0
    while len(data) - offset >= 4:
        code, length = struct.unpack_from(order + "HH", data, offset)
        if code == OPTION_END:
            break
        if offset + 4 + length > len(data):
            raise PcapError(
                f"pcapng option {code} runs past its block",
                field="option length",
                expected=f"<= {len(data) - offset - 4}",
                got=str(length),
                offset=where,
            )
        options.append((code, data[offset + 4 : offset + 4 + length]))
        offset += 4 + (length + 3) // 4 * 4
    return options


def _check_option_length(name: str, value: bytes, length: int, where: int) -> None:
    if len(value) != length:
        raise PcapError(
            f"pcapng option {name} of a wrong length",
            field=name,
            expected=f"{length} octets",
            got=str(len(value)),
            offset=where,
        )


def _frame_within(body: bytes, start: int, captured: int, name: str) -> bytes:
    if captured > len(body) - start:
        raise PcapError(
            f"{name} captured length runs past the block",
            field="captured length",
            expected=f"<= {len(body) - start}",
            got=str(captured),
        )
    return body[start : start + captured]


def _tick_time(ticks: int, interface: PcapngInterface) -> datetime:
    """The time ``ticks`` of the interface's resolution after its offset, to the nearest
    microsecond (ties to even, as classic pcap's nanoseconds are rounded)."""
    microseconds, remainder = divmod(ticks * 1_000_000, interface.ticks_per_second)
    twice = 2 * remainder
    if twice > interface.ticks_per_second or (
        twice == interface.ticks_per_second and microseconds % 2
    ):
        microseconds += 1
    try:
        return _EPOCH + timedelta(seconds=interface.offset_s, microseconds=microseconds)
    except OverflowError:
        raise PcapError(
            "packet timestamp beyond the calendar",
            field="timestamp",
            got=f"{ticks} / {interface.ticks_per_second} s + {interface.offset_s} s",
        ) from None


def udp_payload(packet: CapturedPacket) -> bytes:
    """The UDP payload of a captured frame; `PcapError` says why there is none."""
    if packet.refusal is not None:
        raise PcapError(packet.refusal)
    frame = packet.frame
    link_type = packet.link_type
    if link_type == LINKTYPE_ETHERNET:
        _need(frame, 14, "Ethernet header")
        ethertype = int.from_bytes(frame[12:14], "big")
        offset = 14
        while ethertype in ETHERTYPE_VLAN:
            _need(frame, offset + 4, "802.1Q tag")
            ethertype = int.from_bytes(frame[offset + 2 : offset + 4], "big")
            offset += 4
        return _ip_udp_payload(frame[offset:], ethertype)
    if link_type == LINKTYPE_LINUX_SLL:
        _need(frame, 16, "Linux cooked header")
        return _ip_udp_payload(frame[16:], int.from_bytes(frame[14:16], "big"))
    if link_type in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        _need(frame, 1, "IP header")
        version = frame[0] >> 4
        return _ip_udp_payload(frame, ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6)
    if link_type == LINKTYPE_NULL:
        _need(frame, 4, "loopback header")
        family = max(int.from_bytes(frame[:4], "little"), int.from_bytes(frame[:4], "big"))
        return _ip_udp_payload(frame[4:], ETHERTYPE_IPV4 if family == 2 else ETHERTYPE_IPV6)
    raise PcapError("link type not read", field="linktype", got=str(link_type))


def _need(frame: bytes, length: int, what: str) -> None:
    if len(frame) < length:
        raise PcapError(
            f"frame too short for its {what}",
            expected=f">= {length} octets",
            got=str(len(frame)),
        )


def _ip_udp_payload(packet: bytes, ethertype: int) -> bytes:
    if ethertype == ETHERTYPE_IPV4:
        _need(packet, 20, "IPv4 header")
        if packet[0] >> 4 != 4:
            raise PcapError("IPv4 header with a wrong version", got=str(packet[0] >> 4))
        header_length = (packet[0] & 0x0F) * 4
        total_length = int.from_bytes(packet[2:4], "big")
        fragment = int.from_bytes(packet[6:8], "big")
        if fragment & 0x3FFF:  # more-fragments flag or a fragment offset
            raise PcapError("fragmented IPv4 datagram (reassembly is not done)")
        protocol = packet[9]
        if header_length < 20 or total_length < header_length:
            raise PcapError("IPv4 lengths inconsistent", got=f"{header_length}/{total_length}")
        _need(packet, total_length, "IPv4 datagram")
        segment = packet[header_length:total_length]
    elif ethertype == ETHERTYPE_IPV6:
        _need(packet, 40, "IPv6 header")
        protocol = packet[6]
        payload_length = int.from_bytes(packet[4:6], "big")
        _need(packet, 40 + payload_length, "IPv6 payload")
        segment = packet[40 : 40 + payload_length]
    else:
        raise PcapError("not an IP packet", field="ethertype", got=f"0x{ethertype:04x}")
    if protocol != IP_PROTOCOL_UDP:
        raise PcapError("not a UDP packet", field="protocol", expected="17", got=str(protocol))
    _need(segment, 8, "UDP header")
    udp_length = int.from_bytes(segment[4:6], "big")
    if udp_length < 8 or udp_length > len(segment):
        raise PcapError(
            "UDP length inconsistent with the IP datagram",
            field="udp.length",
            expected=f"8..{len(segment)}",
            got=str(udp_length),
        )
    return segment[8:udp_length]
