"""Fuzzing the CoT decoder: >= 10,000 generated and mutated inputs, never an exception.

Every input is fed to a fresh stream decoder in random chunks and to a datagram decoder;
each document the framer cuts becomes either a message or a dead letter with a reason.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from hotzone.ingest.base import DecodeResult
from hotzone.ingest.cot import CotDecoder, CotDecoderSettings

GOLDEN = Path(__file__).parents[1] / "golden" / "cot"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SEEDS = [
    (GOLDEN / "takproto_wintak_eliopoli.xml").read_bytes(),
    (GOLDEN / "pytak_eud_status.xml").read_bytes(),
    b'<?xml version="1.0"?><event version="2.0" uid="o" type="a-h-G-E-V" how="h-e" '
    b'time="2026-11-27T12:00:00Z" start="2026-11-27T12:00:00Z" stale="2026-11-27T12:05:00Z">'
    b'<point lat="54.1" lon="23.2" hae="100" ce="20" le="5"/><detail><track course="45" '
    b'speed="3"/><remarks>x &amp; y</remarks></detail></event>',
    b'<event version="2.0" type="t-x-d-d" uid="p" how="m-g" time="2026-11-27T12:00:00Z" '
    b'start="2026-11-27T12:00:00Z" stale="2026-11-27T12:01:00Z"/>',
    b'<!DOCTYPE e [<!ENTITY a "&#60;">]><event uid="&a;"/>',
    b"<!-- c --><![CDATA[x]]><?pi x?>",
]
# Markup fragments that stress the framer: nesting, quotes, comments, declarations.
FRAGMENTS = [
    b"<", b">", b"/>", b"</event>", b"<event>", b"<?xml version='1.0'?>", b"<!--", b"-->",
    b"<![CDATA[", b"]]>", b"<!DOCTYPE x [", b"]>", b'"', b"'", b"&lol;", b"\x00", b"\xff",
    b"<point lat='1e400' lon='-0'/>", b" time='9999-99-99T99:99:99Z'", b"<detail>",
]  # fmt: skip
INPUTS_PER_EXAMPLE = 50
EXAMPLES = 220  # 220 x 50 = 11,000 inputs


def mutate(rng: random.Random, original: bytes) -> bytes:
    """A few random edits: flip a byte, delete, duplicate or insert a fragment, or truncate."""
    raw = bytearray(original)
    for _ in range(rng.randint(1, 4)):
        if not raw:
            break
        position = rng.randrange(len(raw))
        operation = rng.choice(["flip", "delete", "insert", "duplicate", "cut"])
        if operation == "flip":
            raw[position] = rng.randrange(256)
        elif operation == "delete":
            del raw[position : position + rng.randint(1, 16)]
        elif operation == "insert":
            raw[position:position] = rng.choice(FRAGMENTS)
        elif operation == "duplicate":
            raw[position:position] = raw[position : position + rng.randint(1, 64)]
        else:
            del raw[position:]
    return bytes(raw)


def generate(rng: random.Random) -> bytes:
    kind = rng.choice(["mutated", "mutated", "mutated", "random", "glued"])
    if kind == "mutated":
        return mutate(rng, rng.choice(SEEDS))
    if kind == "random":
        return rng.randbytes(rng.randint(0, 200))
    return b"".join(rng.choice(FRAGMENTS + SEEDS) for _ in range(rng.randint(0, 6)))


def feed_in_chunks(decoder: CotDecoder, stream: bytes, cuts: list[int]) -> DecodeResult:
    result = DecodeResult()
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        result.extend(decoder.feed(stream[previous:cut], NOW))
        previous = max(previous, cut)
    result.extend(decoder.flush(NOW))
    return result


def check(decoder: CotDecoder, result: DecodeResult) -> None:
    assert all(item.reason for item in result.rejected)
    assert decoder.counters.frames == len(result.messages) + len(result.rejected)


@seed(20261127)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_mutated_and_generated_cot_never_crashes(rng: random.Random) -> None:
    small = CotDecoderSettings(max_event_bytes=512)  # reach the oversize paths too
    for _ in range(INPUTS_PER_EXAMPLE):
        raw = generate(rng)
        stream_decoder = CotDecoder(small if len(raw) % 2 else CotDecoderSettings())
        cuts = [rng.randint(0, len(raw)) for _ in range(rng.randint(0, 3))]
        check(stream_decoder, feed_in_chunks(stream_decoder, raw, cuts))
        datagram_decoder = CotDecoder(CotDecoderSettings(datagrams=True))
        check(datagram_decoder, datagram_decoder.feed(raw, NOW))


def test_the_fuzz_inputs_reach_both_outcomes() -> None:
    # The generator must produce decodable documents as well as refusals, or the fuzz
    # test above would only exercise one path.
    rng = random.Random(7)
    result = DecodeResult()
    for _ in range(300):
        result.extend(CotDecoder(CotDecoderSettings(datagrams=True)).feed(generate(rng), NOW))
    reasons = {item.reason.split(":")[0] for item in result.rejected}
    assert len(result.messages) >= 5
    assert {"not well-formed XML", "unsafe XML refused", "truncated"} <= reasons
