"""One mutation fuzzer for every decoder in the registry, seeded from ``tests/golden``.

`test_fuzz_decoders.py` runs it in ``make test`` (10,000+ inputs per format) and
``bench/fuzz.py`` runs it offline (a million inputs per format and more). Each input is a
real capture (a golden file, or a few of its frames; the hand-built frames of a decoder's
tests where the standard has no public capture) after one to four random edits: bit
flips, border values, deleted, duplicated or repeated spans, splices of two captures, and
tokens chosen to hurt parsers (numbers of 5,000 digits, 3,000 nested brackets, entity
declarations, lengths of 0 or 0xFFFF). It is fed whole or cut into random chunks, then
flushed. A decoder passes when nothing is raised, every refusal has a reason, and every
message it returns survives hotzone's own JSON encoding unchanged (so no NaN slipped in).
"""

from __future__ import annotations

import io
import random
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hotzone.ingest.base import Decoder, DecodeResult
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.types import from_json, to_json

GOLDEN = Path(__file__).parents[1] / "golden"
RECEIVED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

#: Tokens that hurt parsers of any format; each format adds its own.
HOSTILE_TOKENS: tuple[bytes, ...] = (
    b"9" * 5000,  # more digits than Python converts to int without sys.set_int_max_str_digits
    b"-" + b"1" * 4301,
    b"1e999999",
    b"NaN",
    b"-Infinity",
    b"[" * 3000,
    b'{"a":' * 2000,
    b'"\\ud800"',
    b"\x00",
    b"\xff\xfe\xfd",
    b"\r\n",
    b"\n",
    b"\t" * 64,
    b"A" * 70_000,  # longer than a line or a frame may be
)
JSON_TOKENS: tuple[bytes, ...] = (
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b"\\",
    b":",
    b",",
    b"null",
    b"true",
    b"1.7976931348623157e309",
    b"-0",
    b'"1970-01-01T00:00:00Z"',
    b'"9999-12-31T23:59:59Z"',
)
XML_TOKENS: tuple[bytes, ...] = (
    b"<",
    b">",
    b"/>",
    b"</event>",
    b"<event>",
    b"<?xml version='1.0'?>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b'<!DOCTYPE e [<!ENTITY a "&#60;">]>',
    b'<!ENTITY lol "lol">',
    b"&lol;",
    b'"',
    b"'",
    b' lat="1e400"',
    b" time='9999-99-99T99:99:99Z'",
    b"<event " + b"a" * 3000,  # a start tag that never ends
)
TEXT_TOKENS: tuple[bytes, ...] = (
    b",",
    b",,,,,,,,",
    b"*",
    b"*00",
    b"!AIVDM,2,1,9,A,",
    b"MSG,3,",
    b"\\s:x,c:99999999999*00\\",
    b"-1",
    b"99999999999999999999",
    b"2010/13/45,25:61:61.999",
)
BINARY_TOKENS: tuple[bytes, ...] = (
    b"\x00\x00",
    b"\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x00\x03",
    b"\x80\x00\x00\x00",
    b"\x7f\xff\xff\xff",
    b"\x01" * 16,
)
#: Values that replace a number already in the input, so that the document stays valid
#: and the hostile value reaches the layer behind the parser.
HOSTILE_VALUES: tuple[bytes, ...] = (
    b"9" * 5000,
    b"-" + b"9" * 4400,
    b"1e999999",
    b"-1e999999",
    b"NaN",
    b"1" + b"0" * 40,
    b"[" * 1000 + b"]" * 1000,
    b"-1",
    b"0",
    b"1e-400",
    b"null",
    b'"' + b"x" * 5000 + b'"',
    b"{}",
)
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class FuzzTarget:
    """What the fuzzer needs to know of one format."""

    format: str
    options: DecoderOptions
    seeds: tuple[bytes, ...]  # whole inputs (a capture, or a few of its frames)
    tokens: tuple[bytes, ...]  # the format's dictionary for insertions
    stream: bool = True  # the decoder keeps partial frames: feed it in random chunks
    reuse_decoders: int = 20  # inputs fed (each then flushed) to one decoder before a new one

    def decoder(self) -> Decoder:
        return decoder_factories()[self.format](self.options)


@dataclass
class FuzzFailure:
    format: str
    input: bytes
    error: str

    def describe(self) -> str:
        shown = self.input[:300]
        more = f" (+{len(self.input) - 300} bytes)" if len(self.input) > 300 else ""
        return f"{self.format}: input {shown!r}{more}\n{self.error}"


@dataclass
class FuzzStats:
    format: str
    inputs: int = 0
    input_bytes: int = 0
    messages: int = 0
    rejections: int = 0
    seconds: float = 0.0
    #: CPU seconds of the costliest single input (CPU, not wall time: a busy machine
    #: pausing the process is not the decoder's work), and that input.
    slowest_input_s: float = 0.0
    slowest_input: bytes = b""
    largest_input: int = 0
    failures: list[FuzzFailure] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------ seeds


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _line_groups(lines: list[bytes], rng: random.Random, groups: int, size: int) -> list[bytes]:
    """Runs of consecutive lines, so that multi-line state (AIS fragments, SBS aircraft)
    is reached as well as single frames."""
    result = []
    for _ in range(groups):
        start = rng.randrange(len(lines))
        result.append(b"\n".join(lines[start : start + rng.randint(1, size)]) + b"\n")
    return result


def _asterix_seeds() -> list[bytes]:
    from hotzone.ingest.pcap import PcapStreamReader, udp_payload

    capture = (GOLDEN / "asterix" / "cat_034_048.pcap").read_bytes()
    payloads = [udp_payload(packet) for packet in PcapStreamReader().feed(capture)][:40]
    raw = [(GOLDEN / "asterix" / name).read_bytes() for name in ("cat034.raw", "cat048.raw")]
    raw.append((GOLDEN / "asterix" / "cat062cat065.raw").read_bytes())
    return [*payloads, *raw, (GOLDEN / "asterix" / "cat_062_065.pcap").read_bytes()]


def _sapient_seeds() -> list[bytes]:
    # No public SAPIENT capture exists; the frames are the decoder tests' hand-built ones.
    from tests.ingest.test_sapient import (
        alert,
        frames,
        location_detection,
        range_bearing_detection,
        registration,
        status_report,
        task_ack,
    )

    handshake = frames(registration(), status_report())
    bodies = [
        frames(range_bearing_detection()),
        frames(location_detection()),
        frames(alert()),
        frames(task_ack("01JDZ6V6R2N3X4Y5Z6A7B8C9D0")),
        frames(status_report()),
    ]
    return [handshake + body for body in bodies] + [handshake]


def _satellite_seeds() -> list[bytes]:
    # Satellite detection reports are hotzone's own JSON (no public capture); the TLE that
    # says whether a report lies inside a pass is the golden one.
    from tests.ingest.test_satellite import _in_and_out_of_pass, _report

    inside, outside = _in_and_out_of_pass()
    return [_report(inside) + b"\n", _report(outside) + b"\n"]


def _jsonl_seeds() -> list[bytes]:
    """hotzone JSONL of real captures: what the other decoders made of the golden files."""
    from hotzone.types import write_jsonl

    seeds: list[bytes] = []
    for name, path in (
        ("sbs", GOLDEN / "adsb" / "sbs1_msgs.txt"),
        ("ais", GOLDEN / "ais" / "pyais_test_sentences.nmea"),
        ("cot", GOLDEN / "cot" / "takproto_wintak_eliopoli.xml"),
        ("eve", GOLDEN / "eve" / "alerts.eve.json"),
        ("stix", GOLDEN / "stix" / "sighting-bundle.json"),
        ("gmti", GOLDEN / "gmti" / "mission_dwell_hi_res_targets.gmti"),
    ):
        decoder = decoder_factories()[name](DecoderOptions())
        result = decoder.feed(path.read_bytes(), RECEIVED)
        result.extend(decoder.flush(RECEIVED))
        for message in result.messages[:40]:
            stream = io.BytesIO()
            write_jsonl([message], stream)
            seeds.append(stream.getvalue())
    return seeds


def fuzz_targets(workdir: Path) -> dict[str, FuzzTarget]:
    """One target per registered format (``workdir`` holds the sensor files some need)."""
    rng = random.Random(1)
    sites = workdir / "asterix-sites.yaml"
    sites.write_text(
        '"25/201": {lat_deg: 45.5, lon_deg: 14.0}\n"25/13": {lat_deg: 45.6, lon_deg: 14.1}\n'
        '"25/14": {lat_deg: 45.7, lon_deg: 14.2}\n"25/204": {lat_deg: 45.8, lon_deg: 14.3}\n'
    )
    inventory = workdir / "eve-sites.yaml"
    inventory.write_text('radar-site-north: ["10.20.1.0/24"]\nc2-node: ["10.20.2.9"]\n')
    sbs = _lines(GOLDEN / "adsb" / "sbs1_msgs.txt")
    ais = [
        line[line.index(b"!") :] for line in _lines(GOLDEN / "ais" / "pyais_test_sentences.nmea")
    ]
    readsb = (GOLDEN / "adsb" / "readsb_aircraft.json").read_bytes()
    stix = (GOLDEN / "stix" / "sighting-bundle.json").read_bytes()
    eve = _lines(GOLDEN / "eve" / "alerts.eve.json")
    targets = [
        FuzzTarget(
            "asterix",
            DecoderOptions(sensors_file=sites),
            tuple(_asterix_seeds()),
            BINARY_TOKENS,
        ),
        FuzzTarget(
            "ais",
            DecoderOptions(),
            tuple(_line_groups(ais, rng, 200, 4)),
            TEXT_TOKENS,
        ),
        FuzzTarget(
            "sbs",
            DecoderOptions(),
            tuple(_line_groups(sbs, rng, 300, 6)),
            TEXT_TOKENS,
        ),
        FuzzTarget(
            "readsb",
            DecoderOptions(),
            (readsb, b" ".join(readsb.split()) + b"\n"),
            JSON_TOKENS,
        ),
        FuzzTarget(
            "cot",
            DecoderOptions(),
            tuple(path.read_bytes() for path in sorted((GOLDEN / "cot").glob("*.xml"))),
            XML_TOKENS,
        ),
        FuzzTarget(
            "sapient",
            DecoderOptions(),
            tuple(_sapient_seeds()),
            BINARY_TOKENS,
        ),
        FuzzTarget(
            "gmti",
            DecoderOptions(),
            tuple(path.read_bytes() for path in sorted((GOLDEN / "gmti").glob("*.gmti"))),
            BINARY_TOKENS,
        ),
        FuzzTarget(
            "eve",
            DecoderOptions(sensors_file=inventory),
            tuple(_line_groups(eve, rng, 40, 3)),
            JSON_TOKENS,
        ),
        FuzzTarget(
            "stix",
            DecoderOptions(),
            (stix, b" ".join(stix.split()) + b"\n"),
            JSON_TOKENS,
        ),
        FuzzTarget(
            "satellite",
            DecoderOptions(tle_file=GOLDEN / "space" / "iss-2008.tle"),
            tuple(_satellite_seeds()),
            JSON_TOKENS,
        ),
        FuzzTarget(
            "jsonl",
            DecoderOptions(),
            tuple(_jsonl_seeds()),
            JSON_TOKENS,
        ),
    ]
    return {target.format: target for target in targets}


# ------------------------------------------------------------------------------ mutation

Mutation = Callable[[random.Random, bytearray, FuzzTarget], None]


def _flip(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    if data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _border_byte(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    if data:
        data[rng.randrange(len(data))] = rng.choice(
            (0x00, 0x01, 0x7F, 0x80, 0xFF, rng.randrange(256))
        )


def _delete(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    if data:
        at = rng.randrange(len(data))
        del data[at : at + rng.randint(1, 32)]


def _duplicate(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    if data:
        at = rng.randrange(len(data))
        data[at:at] = data[at : at + rng.randint(1, 64)]


def _repeat(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    """A span repeated: long lines, many frames, deep structures (rarely very many times,
    so that inputs stay small on average and the fuzzer fast)."""
    if data:
        at = rng.randrange(len(data))
        span = bytes(data[at : at + rng.randint(1, 16)])
        data[at:at] = span * (rng.randint(2, 8) if rng.random() < 0.9 else rng.randint(9, 4000))


def _insert_token(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    at = rng.randrange(len(data) + 1)
    tokens = target.tokens if rng.random() < 0.8 else HOSTILE_TOKENS
    data[at:at] = rng.choice(tokens)


def _insert_random(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    at = rng.randrange(len(data) + 1)
    data[at:at] = rng.randbytes(rng.randint(1, 8))


def _truncate(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    del data[rng.randrange(len(data) + 1) :]


def _field(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    """A 16- or 32-bit field (lengths, counts, FSPEC octets) set to a border value."""
    if len(data) >= 4:
        width = rng.choice((2, 4))
        at = rng.randrange(len(data) - width + 1)
        value = rng.choice((0, 1, 3, 2 ** (8 * width) - 1, 2 ** (8 * width - 1), rng.randrange(64)))
        data[at : at + width] = value.to_bytes(width, rng.choice(("big", "little")))


def _replace_number(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    """A number of the input replaced by a hostile value: the document stays well formed,
    so the value reaches what lies behind the parser."""
    numbers = [match.span() for match in _NUMBER.finditer(data)]
    if numbers:
        start, end = rng.choice(numbers)
        data[start:end] = rng.choice(HOSTILE_VALUES)


def _splice(rng: random.Random, data: bytearray, target: FuzzTarget) -> None:
    other = rng.choice(target.seeds)
    data[rng.randrange(len(data) + 1) :] = other[rng.randrange(len(other) + 1) :]


MUTATIONS: tuple[Mutation, ...] = (
    _flip,
    _flip,
    _border_byte,
    _delete,
    _duplicate,
    _repeat,
    _insert_token,
    _insert_token,
    _insert_random,
    _truncate,
    _field,
    _replace_number,
    _replace_number,
    _splice,
)


def mutate(rng: random.Random, target: FuzzTarget) -> bytes:
    data = bytearray(rng.choice(target.seeds))
    for _ in range(rng.randint(1, 4)):
        rng.choice(MUTATIONS)(rng, data, target)
    return bytes(data)


# ------------------------------------------------------------------------------ running


def _feed(decoder: Decoder, data: bytes, rng: random.Random, stream: bool) -> DecodeResult:
    result = DecodeResult()
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(0, 3))) if stream else []
    previous = 0
    for cut in [*cuts, len(data)]:
        result.extend(decoder.feed(data[previous:cut], RECEIVED))
        previous = cut
    result.extend(decoder.flush(RECEIVED))
    return result


def check_result(result: DecodeResult) -> None:
    """What every decoder promises of its output, whatever came in."""
    for item in result.rejected:
        assert isinstance(item.raw, bytes), f"refusal without its raw bytes: {item!r}"
        assert item.reason.strip(), f"refusal without a reason: {item!r}"
    for message in result.messages:
        assert from_json(to_json(message)) == message, f"message does not round-trip: {message!r}"


def fuzz(target: FuzzTarget, inputs: int, seed: int, max_failures: int = 5) -> FuzzStats:
    """Feed ``inputs`` mutated captures to ``target``'s decoder; never raises."""
    rng = random.Random(f"{target.format}-{seed}")
    stats = FuzzStats(target.format)
    decoder = target.decoder()
    started = time.perf_counter()
    for index in range(inputs):
        data = mutate(rng, target)
        if index % target.reuse_decoders == 0:
            decoder = target.decoder()
        before = time.process_time()
        try:
            result = _feed(decoder, data, rng, target.stream)
            check_result(result)
        except Exception:
            stats.failures.append(FuzzFailure(target.format, data, traceback.format_exc()))
            decoder = target.decoder()
            if len(stats.failures) >= max_failures:
                stats.inputs = index + 1
                break
        else:
            stats.messages += len(result.messages)
            stats.rejections += len(result.rejected)
            for item in result.rejected:
                kind = item.reason.split(":", 1)[0][:60]
                stats.reasons[kind] = stats.reasons.get(kind, 0) + 1
        elapsed = time.process_time() - before
        if elapsed > stats.slowest_input_s:
            stats.slowest_input_s, stats.slowest_input = elapsed, data
        stats.largest_input = max(stats.largest_input, len(data))
        stats.input_bytes += len(data)
        stats.inputs = index + 1
    stats.seconds = time.perf_counter() - started
    return stats
