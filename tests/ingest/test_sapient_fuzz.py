"""Fuzzing the SAPIENT decoder: mutated real frames and hostile field values never crash it."""

from __future__ import annotations

import math
import random
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotzone.ingest.sapient import SapientDecoder, encode_frame
from hotzone.types import Detection
from tests.ingest.test_sapient import (
    NOW,
    alert,
    frames,
    location_detection,
    range_bearing_detection,
    registration,
    status_report,
    task_ack,
)

MUTATIONS_PER_EXAMPLE = 100
SEEDS = [
    message.SerializeToString()
    for message in (
        registration(),
        status_report(),
        range_bearing_detection(),
        location_detection(),
        alert(),
        task_ack("01JDZ6V6R2N3X4Y5Z6A7B8C9D0"),
    )
]
PREAMBLE = frames(registration(), status_report())


def _mutate(payload: bytes, rng: random.Random) -> bytes:
    data = bytearray(payload)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(4)
        position = rng.randrange(len(data) + 1)
        if action == 0 and data:
            data[min(position, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            data[position:position] = rng.randbytes(rng.randint(1, 8))
        elif action == 2:
            del data[position : position + rng.randint(1, 16)]
        else:
            data[position : position + 1] = bytes([rng.choice((0x00, 0x7F, 0x80, 0xFF))])
    return bytes(data)


def _decoder_after_handshake() -> SapientDecoder:
    decoder = SapientDecoder()
    result = decoder.feed(PREAMBLE, NOW)
    assert not result.rejected
    return decoder


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_frames_never_crash_and_every_refusal_has_a_reason(seed: int) -> None:
    rng = random.Random(seed)
    decoder = _decoder_after_handshake()
    for _ in range(MUTATIONS_PER_EXAMPLE):  # 200 examples x 100 = 20,000 inputs
        mutated = _mutate(rng.choice(SEEDS), rng)
        # Mostly well-framed (the protobuf and ICD layers), sometimes a broken stream.
        chunk = encode_frame(mutated) if rng.random() < 0.9 else _mutate(encode_frame(mutated), rng)
        result = decoder.feed(chunk, NOW)
        assert all(item.reason for item in result.rejected)
        for message in result.messages:
            if isinstance(message, Detection):
                assert all(math.isfinite(value) for value in message.values)
    decoder.flush(NOW)


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    azimuth=finite_or_not,
    distance=finite_or_not,
    elevation=finite_or_not,
    error=finite_or_not,
    lat=finite_or_not,
    lon=finite_or_not,
    speed=finite_or_not,
    class_name=st.text(max_size=30),
    seconds=st.integers(min_value=-(2**62), max_value=2**62),
)
def test_hostile_field_values_are_refused_or_mapped(
    azimuth: float,
    distance: float,
    elevation: float,
    error: float,
    lat: float,
    lon: float,
    speed: float,
    class_name: str,
    seconds: int,
) -> None:
    polar = range_bearing_detection()
    report = polar.detection_report
    report.range_bearing.azimuth = azimuth
    report.range_bearing.range = distance
    report.range_bearing.elevation = elevation
    report.range_bearing.range_error = error
    report.enu_velocity.east_rate = speed
    report.classification[0].type = class_name or "x"
    positioned = location_detection()
    positioned.detection_report.location.y = lat
    positioned.detection_report.location.x = lon
    positioned.detection_report.location.x_error = error
    late = status_report()
    late.timestamp.seconds = seconds
    decoder = _decoder_after_handshake()
    data = b"".join(
        encode_frame(m.SerializeToString()) for m in (polar, positioned, late)
    ) + struct.pack("<I", 3)
    result = decoder.feed(data, NOW)
    result.extend(decoder.flush(NOW))
    assert all(item.reason for item in result.rejected)
    assert len(result.rejected) >= 1  # the truncated tail at least
    for message in result.messages:
        if isinstance(message, Detection):
            assert all(math.isfinite(v) for v in message.values)
            assert all(math.isfinite(v) for row in message.covariance for v in row)
