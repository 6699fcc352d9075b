"""Fuzz: mutated real blocks and hostile constructions never raise, and every refusal has
a reason. Each example feeds a batch of inputs so the suite reaches 10,000+ cheaply."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotzone.ingest.asterix import AsterixDecoder, SiteTable
from hotzone.ingest.asterix.sites import RadarSite
from hotzone.ingest.pcap import PcapError, PcapStreamReader, udp_payload
from tests.ingest.asterix.cat021_encoder import Cat021Values, encode_cat021
from tests.ingest.asterix.cat065_encoder import Cat065Values, encode_cat065
from tests.ingest.asterix.reference import GOLDEN, golden_payloads
from tests.ingest.test_pcap import multi_section_capture, to_pcapng

RECEIVED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SITES = SiteTable({(25, 201): RadarSite(lat_deg=45.0, lon_deg=14.0)})
SEEDS: list[bytes] = [
    *golden_payloads("cat_034_048.pcap")[:20],
    *golden_payloads("cat062cat065.raw"),
    encode_cat021(Cat021Values()),
    encode_cat065(
        Cat065Values(nogo=1, overload=True, processing_system=2),
        Cat065Values(message_type=3, service_report=16),
        Cat065Values(message_type=2, batch_number=7),
    ),
]
CAPTURE = (GOLDEN / "cat_062_065.pcap").read_bytes()
PCAPNG_SEEDS = [to_pcapng(CAPTURE), multi_section_capture()]
PCAPNG_EXAMPLES = 100  # 100 x 25 = 2,500 mutated pcapng inputs
BATCH = 25
EXAMPLES = 420  # 420 x 25 = 10,500 inputs

HOSTILE = [
    bytes([48, 0xFF, 0xFF]) + b"\xff" * 200,  # FX chain that never ends, LEN past the data
    bytes([62, 0, 10]) + b"\xff" * 7,  # FSPEC flags every FRN, including spare ones
    bytes([48, 0, 2]),  # LEN shorter than the header
    bytes([48, 0, 8, 0x01, 0x01, 0x01, 0x01, 0x40]),  # FX to an FRN beyond the UAP
    bytes([48, 0, 9, 0x02, 0x40, 0xFF]) + b"\x00" * 3,  # Mode S MB REP = 255, no data
    bytes([62, 0, 6, 0x01, 0x10, 0x00]),  # I062/380 whose compound primary is empty
    bytes([34, 0, 5, 0x02, 0x7F]),  # I034/050 flagging spare subfields
    bytes([65, 0, 6, 0x01, 0x80, 0x00]),  # CAT065 FRN 8, a spare field
    bytes([65, 0, 7, 0x01, 0x03, 0xFF, 0xFF]),  # CAT065 FX past FRN 14, the end of its UAP
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    choice = rng.randrange(6)
    if choice == 0 and buffer:  # flip bits
        for _ in range(rng.randint(1, 4)):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    elif choice == 1:  # truncate
        del buffer[rng.randrange(len(buffer) + 1) :]
    elif choice == 2 and len(buffer) >= 3:  # wrong LEN
        buffer[1:3] = rng.randrange(65536).to_bytes(2, "big")
    elif choice == 3:  # insert random bytes
        at = rng.randrange(len(buffer) + 1)
        buffer[at:at] = rng.randbytes(rng.randint(1, 8))
    elif choice == 4 and buffer:  # overwrite with 0xFF (FX and REP maxima)
        at = rng.randrange(len(buffer))
        buffer[at : at + rng.randint(1, 6)] = b"\xff" * rng.randint(1, 6)
    elif buffer:  # random category byte
        buffer[0] = rng.randrange(256)
    return bytes(buffer)


def _check(decoder: AsterixDecoder, data: bytes) -> None:
    result = decoder.feed(data, RECEIVED)
    result.extend(decoder.flush(RECEIVED))
    assert all(item.reason.strip() for item in result.rejected)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_blocks_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(BATCH):
        source = rng.choice(SEEDS + HOSTILE)
        data = _mutate(rng, source)
        if rng.random() < 0.3:
            data = _mutate(rng, data)
        framing = "datagram" if rng.random() < 0.5 else "stream"
        _check(AsterixDecoder(SITES, framing=framing), data)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(min_size=0, max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check(AsterixDecoder(SITES), data)
    _check(AsterixDecoder(SITES), bytes([48]) + len(data).to_bytes(2, "big") + data)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_captures_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(BATCH):
        _check(AsterixDecoder(SITES), _mutate(rng, CAPTURE))


def test_hostile_constructions_are_refused_with_reasons() -> None:
    for data in HOSTILE:
        result = AsterixDecoder(SITES, framing="datagram").feed(data, RECEIVED)
        assert not result.messages
        assert result.rejected and all(item.reason for item in result.rejected)


def _mutate_pcapng(rng: random.Random, data: bytes) -> bytes:
    """Generic mutations, or a 32-bit field (every block field is 32-bit aligned: lengths,
    interface ids, byte-order magic, timestamps) set to a random or a border value."""
    if rng.random() < 0.5:
        return _mutate(rng, data)
    buffer = bytearray(data)
    at = rng.randrange(0, max(4, len(buffer) - 3), 4)
    value = rng.choice([0, 1, 3, 11, 12, 0xFFFFFFFF, rng.randrange(2**32), rng.randrange(64)])
    buffer[at : at + 4] = value.to_bytes(4, rng.choice(["little", "big"]))
    return bytes(buffer)


def _check_capture_reader(data: bytes, rng: random.Random) -> None:
    """The reader raises nothing but `PcapError`; so does `udp_payload` on what it returns."""
    reader = PcapStreamReader()
    offset = 0
    while offset < len(data):
        size = rng.randint(1, 400)
        try:
            packets = reader.feed(data[offset : offset + size])
        except PcapError as error:
            assert error.describe().strip()
            return
        for packet in packets:
            try:
                udp_payload(packet)
            except PcapError as error:
                assert error.describe().strip()
        offset += size


@settings(max_examples=PCAPNG_EXAMPLES, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_pcapng_captures_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(BATCH):
        data = _mutate_pcapng(rng, rng.choice(PCAPNG_SEEDS))
        if rng.random() < 0.3:
            data = _mutate_pcapng(rng, data)
        _check_capture_reader(data, rng)
        _check(AsterixDecoder(SITES), data)
