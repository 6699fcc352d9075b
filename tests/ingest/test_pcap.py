"""pcapng captures: real golden captures rewritten as pcapng by a third-party writer (dpkt)
read to the same packets as the classic pcap and as dpkt's own reader; sections in both
byte orders, timestamp resolutions and offsets; every framing violation refused."""

from __future__ import annotations

import io
import random
import struct
from datetime import UTC, datetime, timedelta

import dpkt  # third-party pcap/pcapng writer and reader: tests only
import pytest
from dpkt import pcapng

from hotzone.ingest.pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    MAX_PACKET_BLOCK_LENGTH,
    CapturedPacket,
    PcapError,
    PcapStreamReader,
    is_capture_start,
    udp_payload,
)
from tests.ingest.asterix.reference import GOLDEN

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GOLDEN_CAPTURES = ["cat_034_048.pcap", "cat_062_065.pcap"]
BLOCK_NAME_RESOLUTION = 4
BLOCK_INTERFACE_STATISTICS = 5
BLOCK_CUSTOM = 0x00000BAD


def to_pcapng(classic: bytes) -> bytes:
    """A classic pcap file rewritten as pcapng by dpkt alone (its reader and its writer)."""
    reader = dpkt.pcap.Reader(io.BytesIO(classic))
    out = io.BytesIO()
    writer = pcapng.Writer(out, snaplen=reader.snaplen, linktype=reader.datalink())
    for timestamp, frame in reader:
        writer.writepkt(frame, ts=timestamp)
    return out.getvalue()


def golden_pcapng(name: str) -> bytes:
    return to_pcapng((GOLDEN / name).read_bytes())


def golden_frames(name: str) -> list[CapturedPacket]:
    return PcapStreamReader().feed((GOLDEN / name).read_bytes())


def _microseconds(time: datetime) -> int:
    return (time - EPOCH) // timedelta(microseconds=1)


def _dpkt_udp_payload(frame: bytes) -> bytes:
    udp = dpkt.ethernet.Ethernet(frame).data.data
    payload: bytes = udp.data[: udp.ulen - 8]
    return payload


def _read_all(data: bytes) -> list[CapturedPacket]:
    reader = PcapStreamReader()
    packets = reader.feed(data)
    assert reader.leftover() == b""
    return packets


# --- hand-built blocks, from the layout in the pcapng specification ------------------------


def block(order: str, block_type: int, body: bytes) -> bytes:
    padded = body + bytes(-len(body) % 4)
    length = len(padded) + 12
    return struct.pack(order + "II", block_type, length) + padded + struct.pack(order + "I", length)


def option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def section_header(order: str, major: int = 1) -> bytes:
    body = struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1)
    return block(order, 0x0A0D0D0A, body)


def interface(order: str, link_type: int, snaplen: int = 0, options: bytes = b"") -> bytes:
    body = struct.pack(order + "HHI", link_type, 0, snaplen) + options
    if options:
        body += option(order, 0, b"")
    return block(order, 1, body)


def enhanced_packet(order: str, interface_id: int, ticks: int, frame: bytes) -> bytes:
    fixed = struct.pack(
        order + "IIIII", interface_id, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)
    )
    return block(order, 6, fixed + frame)


def simple_packet(order: str, frame: bytes) -> bytes:
    return block(order, 3, struct.pack(order + "I", len(frame)) + frame)


def skipped_blocks(order: str) -> bytes:
    """A name table, interface statistics and a custom block: all to be skipped."""
    names = option(order, 1, bytes([192, 0, 2, 1]) + b"radar.example\0") + option(order, 0, b"")
    statistics = struct.pack(order + "III", 0, 0, 0)
    custom = struct.pack(order + "I", 32473) + b"anything at all"
    return (
        block(order, BLOCK_NAME_RESOLUTION, names)
        + block(order, BLOCK_INTERFACE_STATISTICS, statistics)
        + block(order, BLOCK_CUSTOM, custom)
    )


# --- real captures --------------------------------------------------------------------------


@pytest.mark.parametrize("name", GOLDEN_CAPTURES)
def test_golden_capture_as_pcapng_reads_like_classic_pcap_and_like_dpkt(name: str) -> None:
    converted = golden_pcapng(name)
    assert converted[:4] == b"\x0a\x0d\x0d\x0a" and is_capture_start(converted)
    classic = golden_frames(name)
    ours = _read_all(converted)
    theirs = list(pcapng.Reader(io.BytesIO(converted)))
    assert len(ours) == len(classic) == len(theirs) > 0
    for packet, classic_packet, (their_time, their_frame) in zip(
        ours, classic, theirs, strict=True
    ):
        assert packet.refusal is None
        assert packet.link_type == classic_packet.link_type == LINKTYPE_ETHERNET
        assert packet.frame == classic_packet.frame == their_frame
        assert packet.time == classic_packet.time
        assert _microseconds(packet.time) == round(their_time * 1e6)
        assert udp_payload(packet) == udp_payload(classic_packet) == _dpkt_udp_payload(their_frame)


def test_golden_capture_as_pcapng_reads_the_same_in_any_chunks() -> None:
    converted = golden_pcapng("cat_034_048.pcap")
    whole = _read_all(converted)
    rng = random.Random(7)
    for trial in range(3):
        reader = PcapStreamReader()
        packets: list[CapturedPacket] = []
        offset = 0
        while offset < len(converted):
            size = rng.randint(1, 300 if trial else 9)
            packets += reader.feed(converted[offset : offset + size])
            offset += size
        assert packets == whole and reader.leftover() == b""


# --- sections, byte orders, resolutions -----------------------------------------------------


def _frames() -> list[bytes]:
    return [packet.frame for packet in golden_frames("cat_034_048.pcap")[:4]]


def _dpkt_big_endian_nanosecond_section(frames: list[bytes], first_ns: int) -> bytes:
    """A big-endian section with nanosecond timestamps, built from dpkt's block classes."""
    resolution = pcapng.PcapngOption(code=9, data=b"\x09")
    end = pcapng.PcapngOption(code=0)
    parts = [
        bytes(pcapng.SectionHeaderBlock()),
        bytes(pcapng.InterfaceDescriptionBlock(linktype=1, snaplen=65535, opts=[resolution, end])),
    ]
    for index, frame in enumerate(frames):
        ticks = first_ns + index * 1_000_000_333
        packet = pcapng.EnhancedPacketBlock(
            ts_high=ticks >> 32, ts_low=ticks & 0xFFFFFFFF, pkt_data=frame
        )
        parts.append(bytes(packet))
    return b"".join(parts)


FIRST_NS = 1_462_433_756_508_910_123  # 2016-05-05 07:35:56.508910123 UTC


def multi_section_capture() -> bytes:
    """Three sections: big-endian ns (dpkt), little-endian 2^-10 s with an offset and two
    interfaces (hand-built), little-endian obsolete packet blocks (dpkt)."""
    frames = _frames()
    first = _dpkt_big_endian_nanosecond_section(frames[:2], FIRST_NS)
    binary_resolution = option("<", 9, bytes([0x80 | 10])) + option(
        "<", 14, struct.pack("<q", 1000)
    )
    second = (
        section_header("<")
        + interface("<", LINKTYPE_ETHERNET, snaplen=65535)
        + skipped_blocks("<")
        + interface("<", LINKTYPE_RAW, options=binary_resolution)
        + enhanced_packet("<", 1, 5 * 1024 + 512, frames[2][14:])  # 5.5 s after offset
        + simple_packet("<", frames[3])
    )
    obsolete = pcapng.PacketBlockLE(iface_id=0, ts_high=0, ts_low=2_000_000, pkt_data=frames[0])
    third = (
        bytes(pcapng.SectionHeaderBlockLE())
        + bytes(pcapng.InterfaceDescriptionBlockLE(linktype=1, snaplen=1500))
        + bytes(obsolete)
    )
    return first + second + third


def test_sections_of_both_byte_orders_resolutions_and_skipped_blocks() -> None:
    frames = _frames()
    packets = _read_all(multi_section_capture())
    assert [p.refusal for p in packets] == [None] * 5
    ns_time = EPOCH + timedelta(microseconds=FIRST_NS // 1000)  # .508910123 -> .508910
    assert packets[0].time == ns_time == datetime(2016, 5, 5, 7, 35, 56, 508910, tzinfo=UTC)
    # 1_000_000_333 ns later: rounded to the nearest microsecond
    assert packets[1].time == ns_time + timedelta(seconds=1)
    assert packets[2].time == EPOCH + timedelta(seconds=1005.5)
    assert packets[2].link_type == LINKTYPE_RAW and packets[2].frame == frames[2][14:]
    # The simple packet takes the time of the packet before it.
    assert packets[3].time == packets[2].time and packets[3].frame == frames[3]
    assert packets[4].time == EPOCH + timedelta(seconds=2)
    payloads = [udp_payload(packet) for packet in packets]
    assert payloads == [udp_payload(p) for p in golden_frames("cat_034_048.pcap")[:4]] + [
        payloads[0]
    ]


def test_big_endian_nanosecond_section_reads_like_dpkt() -> None:
    data = _dpkt_big_endian_nanosecond_section(_frames(), FIRST_NS)
    ours = _read_all(data)
    theirs = list(pcapng.Reader(io.BytesIO(data)))
    assert len(ours) == len(theirs) == 4
    for packet, (their_time, their_frame) in zip(ours, theirs, strict=True):
        assert packet.frame == their_frame
        assert abs(_microseconds(packet.time) - their_time * 1e6) <= 1  # dpkt reads floats


def test_multi_section_capture_reads_the_same_byte_by_byte_and_in_random_chunks() -> None:
    data = multi_section_capture()
    whole = _read_all(data)
    reader = PcapStreamReader()
    single = [
        packet for index in range(len(data)) for packet in reader.feed(data[index : index + 1])
    ]
    assert single == whole and reader.leftover() == b""
    rng = random.Random(11)
    for _ in range(20):
        reader = PcapStreamReader()
        packets: list[CapturedPacket] = []
        offset = 0
        while offset < len(data):
            size = rng.randint(1, 200)
            packets += reader.feed(data[offset : offset + size])
            offset += size
        assert packets == whole


def test_a_cut_block_waits_and_holds_no_more_than_itself() -> None:
    data = multi_section_capture()
    reader = PcapStreamReader()
    cut = len(data) - 10
    packets = reader.feed(data[:cut])
    last_block_length = struct.unpack_from("<I", data, len(data) - 4)[0]
    assert len(reader.leftover()) == last_block_length - 10
    packets += reader.feed(data[cut:])
    assert packets == _read_all(data)


# --- refusals -------------------------------------------------------------------------------


def _head() -> bytes:
    return section_header("<") + interface("<", LINKTYPE_ETHERNET)


def _fatal(data: bytes) -> str:
    reader = PcapStreamReader()
    with pytest.raises(PcapError) as caught:
        reader.feed(data)
    with pytest.raises(PcapError):  # once framing is lost, the rest is refused too
        reader.feed(_frames()[0])
    return str(caught.value)


@pytest.mark.parametrize(
    ("length", "words"),
    [
        (8, "impossible length"),
        (30, "impossible length"),
        (MAX_PACKET_BLOCK_LENGTH + 4, "impossible length"),
    ],
)
def test_impossible_block_lengths_lose_framing(length: int, words: str) -> None:
    bad = struct.pack("<II", 6, length) + bytes(24)
    reason = _fatal(_head() + bad)
    assert words in reason and str(length) in reason and "rest of the capture dropped" in reason


def test_trailing_length_that_differs_loses_framing() -> None:
    good = enhanced_packet("<", 0, 0, _frames()[0])
    bad = good[:-4] + struct.pack("<I", len(good) + 4)
    reason = _fatal(_head() + bad)
    assert "trailing length" in reason and str(len(good)) in reason


def test_unreadable_section_headers_and_interfaces_lose_framing() -> None:
    bad_magic = bytearray(section_header("<"))
    bad_magic[8:12] = b"\x00\x01\x02\x03"
    assert "byte-order magic" in _fatal(bytes(bad_magic))
    assert "major version" in _fatal(section_header(">", major=2))
    wrong_resolution = interface("<", 1, options=option("<", 9, b"\x06\x00"))
    assert "if_tsresol" in _fatal(section_header("<") + wrong_resolution)
    overrun = struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 2, 200) + bytes(4)
    assert "runs past" in _fatal(section_header("<") + block("<", 1, overrun))


def _refused_then_next(bad: bytes) -> str:
    """The refusal of a well framed but unusable packet; the next packet still reads."""
    frame = _frames()[0]
    packets = _read_all(_head() + bad + enhanced_packet("<", 0, 1_000_000, frame))
    assert len(packets) == 2 and packets[1].refusal is None and packets[1].frame == frame
    assert packets[0].refusal is not None
    with pytest.raises(PcapError) as caught:
        udp_payload(packets[0])
    assert packets[0].frame == bad  # the dead letter carries the block as it came
    return str(caught.value)


def test_packet_naming_an_undefined_interface_is_refused_alone() -> None:
    reason = _refused_then_next(enhanced_packet("<", 3, 0, _frames()[0]))
    assert "interface" in reason and "3" in reason


def test_captured_length_past_its_block_is_refused_alone() -> None:
    good = bytearray(enhanced_packet("<", 0, 0, _frames()[0]))
    good[20:24] = struct.pack("<I", len(good))  # captured length
    reason = _refused_then_next(bytes(good))
    assert "captured length runs past the block" in reason


def test_simple_packet_before_any_timed_packet_is_refused_alone() -> None:
    reason = _refused_then_next(simple_packet("<", _frames()[0]))
    assert "no timestamp" in reason


def test_timestamp_beyond_the_calendar_is_refused_alone() -> None:
    reason = _refused_then_next(enhanced_packet("<", 0, 2**64 - 1, _frames()[0]))
    assert "beyond the calendar" in reason


def test_truncated_packet_block_fields_are_refused_alone() -> None:
    reason = _refused_then_next(block("<", 6, bytes(8)))
    assert "shorter than its fixed fields" in reason


def test_not_a_capture_is_refused() -> None:
    assert "not a pcap or pcapng file" in _fatal(b"GET / HTTP/1.1\r\n")
