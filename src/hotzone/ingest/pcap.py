"""A small reader of classic pcap captures, for feeds recorded with tcpdump/Wireshark.

File layout (all integers in the byte order the magic number reveals)::

    global header (24 octets): magic (4) | version major (2) | minor (2) | thiszone (4)
                               | sigfigs (4) | snaplen (4) | link type (4)
    packet record (16 + n):    seconds (4) | micro- or nanoseconds (4) | captured length n (4)
                               | original length (4) | n octets of the link-layer frame

Magic a1b2c3d4 means microsecond timestamps, a1b23c4d nanoseconds; read little-endian
they appear as d4c3b2a1 / 4d3cb2a1. pcapng (0a0d0d0a) is recognised and refused with a
hint. `udp_payload` takes a frame apart: Ethernet (with 802.1Q tags), Linux cooked capture,
raw IP, BSD loopback; IPv4 (unfragmented) or IPv6 (no extension headers); UDP.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    time: datetime
    link_type: int
    frame: bytes


def is_capture_start(data: bytes) -> bool:
    """Whether ``data`` starts like a pcap or pcapng file."""
    return data[:4] in PCAP_MAGICS or data[:4] == PCAPNG_MAGIC


class PcapStreamReader:
    """Packets of a classic pcap file fed in chunks of any size."""

    def __init__(self) -> None:
        self._buffer = b""
        self._byte_order: str | None = None
        self._unit_s = 1e-6
        self._link_type = LINKTYPE_ETHERNET
        self._failed: str | None = None

    def feed(self, data: bytes) -> list[CapturedPacket]:
        """Complete packets so far; raises `PcapError` once framing is lost (and after)."""
        if self._failed is not None:
            raise PcapError(self._failed)
        self._buffer += data
        try:
            return self._packets()
        except PcapError as error:
            self._failed = f"{error.describe()}; rest of the capture dropped"
            self._buffer = b""
            raise PcapError(self._failed) from None

    def leftover(self) -> bytes:
        return self._buffer

    def _packets(self) -> list[CapturedPacket]:
        if self._byte_order is None:
            if len(self._buffer) < GLOBAL_HEADER_LENGTH:
                return []
            self._read_global_header()
        assert self._byte_order is not None
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
        magic = self._buffer[:4]
        if magic == PCAPNG_MAGIC:
            raise PcapError(
                "pcapng captures are not read; convert with `editcap -F pcap in.pcapng out.pcap`",
                field="magic",
            )
        if magic not in PCAP_MAGICS:
            raise PcapError("not a pcap file", field="magic", got=magic.hex())
        self._byte_order, self._unit_s = PCAP_MAGICS[magic]
        (self._link_type,) = struct.unpack_from(self._byte_order + "I", self._buffer, 20)
        self._link_type &= 0x0FFFFFFF  # the top bits may carry FCS information
        self._buffer = self._buffer[GLOBAL_HEADER_LENGTH:]


def udp_payload(packet: CapturedPacket) -> bytes:
    """The UDP payload of a captured frame; `PcapError` says why there is none."""
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
