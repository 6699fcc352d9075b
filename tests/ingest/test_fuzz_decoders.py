"""Every registered decoder, fuzzed: 10,000 mutated golden captures each, nothing raised.

The harness is `tests/ingest/fuzzing.py` (``bench/fuzz.py`` runs it with a million inputs
per format). Beside the random inputs, each decoder gets the hostile inputs that once
broke one of them, and an input just over its own size cap, which it must refuse before
parsing.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from hotzone.ingest.base import Decoder, DecodeResult
from hotzone.ingest.registry import known_formats
from tests.ingest.fuzzing import RECEIVED, FuzzTarget, check_result, fuzz, fuzz_targets

INPUTS_PER_FORMAT = 10_000


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FuzzTarget]:
    return fuzz_targets(tmp_path_factory.mktemp("fuzz"))


def _decode(decoder: Decoder, data: bytes) -> DecodeResult:
    result = decoder.feed(data, RECEIVED)
    result.extend(decoder.flush(RECEIVED))
    check_result(result)
    return result


def test_every_registered_format_is_fuzzed(targets: dict[str, FuzzTarget]) -> None:
    assert sorted(targets) == known_formats()
    assert all(target.seeds for target in targets.values())


@pytest.mark.parametrize("format_name", known_formats())
def test_mutated_captures_never_raise(format_name: str, targets: dict[str, FuzzTarget]) -> None:
    stats = fuzz(targets[format_name], INPUTS_PER_FORMAT, seed=20261127)
    assert not stats.failures, stats.failures[0].describe()
    assert stats.inputs == INPUTS_PER_FORMAT
    # The mutations must leave some inputs decodable and break others, or only one path
    # of the decoder would be fuzzed.
    assert stats.messages > 0 and stats.rejections > 0


# Inputs that raised out of feed() before (issue 16): each is refused with a reason now.
HOSTILE_JSON = {
    "integer of 5,000 digits": b'{"type": "bundle", "id": "bundle--1", "n": ' + b"9" * 5000 + b"}",
    "3,000 nested arrays": b'{"x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    "3,000 nested objects": b'{"a":' * 3000 + b"1" + b"}" * 3000,
}


@pytest.mark.parametrize("format_name", ["eve", "jsonl", "readsb", "satellite", "stix"])
@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_hostile_json_is_refused(
    format_name: str, case: str, targets: dict[str, FuzzTarget]
) -> None:
    result = _decode(targets[format_name].decoder(), HOSTILE_JSON[case] + b"\n")
    assert result.messages == []
    assert result.rejected


def test_sbs_time_fields_of_many_digits_are_refused(targets: dict[str, FuzzTarget]) -> None:
    # An hour of 30 digits overflowed a C long inside datetime() (OverflowError, not caught).
    line = (
        b"MSG,3,1,1,4CA767,1,2010/02/19," + b"1" * 30 + b":58:13.039,2010/02/19,17:58:13.039,"
        b",37000,,,51.45735,-1.02826,,,0,0,0,0"
    )
    (refused,) = _decode(targets["sbs"].decoder(), line + b"\n").rejected
    assert "date/time" in refused.reason


# An input just over each decoder's own cap, in the shape of one frame of its format.
OVERSIZE: dict[str, Callable[[int], bytes]] = {
    "ais": lambda cap: b"!AIVDM," + b"0" * cap + b"\n",
    "sbs": lambda cap: b"MSG," + b"1" * cap + b"\n",
    "eve": lambda cap: b'{"a": "' + b"x" * cap + b'"}\n',
    "jsonl": lambda cap: b'{"type": "event", "x": "' + b"x" * cap + b'"}\n',
    "satellite": lambda cap: b'{"a": "' + b"x" * cap + b'"}\n',
    "readsb": lambda cap: b'{"now": 1, "aircraft": [], "x": "' + b"x" * cap + b'"}\n',
    "stix": lambda cap: b'{"type": "bundle", "x": "' + b"x" * cap + b'"}',
    "cot": lambda cap: b'<event uid="' + b"x" * cap + b'"/>',
    "sapient": lambda cap: (cap + 1).to_bytes(4, "little") + b"\x00" * 64,
    "gmti": lambda cap: b"31" + (cap + 1).to_bytes(4, "big") + b"\x00" * 64,
    # A data block's LEN is 16 bits: no block exceeds the cap; LEN past the data is refused.
    "asterix": lambda cap: bytes([48, 0xFF, 0xFF]) + b"\x00" * 64,
}


def test_every_decoder_has_an_oversize_case(targets: dict[str, FuzzTarget]) -> None:
    assert sorted(OVERSIZE) == known_formats()


@pytest.mark.parametrize("format_name", sorted(OVERSIZE))
def test_a_frame_over_the_cap_is_refused_before_parsing(
    format_name: str, targets: dict[str, FuzzTarget]
) -> None:
    decoder = targets[format_name].decoder()
    assert 0 < decoder.max_frame_bytes <= 16 << 20
    result = _decode(decoder, OVERSIZE[format_name](decoder.max_frame_bytes))
    assert result.messages == []
    assert result.rejected
    # What is kept of a refused frame is bounded too (it becomes a dead letter).
    assert all(len(item.raw) <= decoder.max_frame_bytes + 64 for item in result.rejected)


def test_an_unterminated_cot_event_costs_memory_linear_in_its_size(
    targets: dict[str, FuzzTarget],
) -> None:
    # The framing pattern backtracked: a 20 MB unterminated tag peaked at 2.4 GB. 2 MB
    # shows the difference (before: ~100x the input) without costing the suite much.
    data = b'<?xml version="1.0"?><event version="2.0" uid="x" ' + b"a" * (2 << 20)
    decoder = targets["cot"].decoder()
    tracemalloc.start()
    try:
        result = _decode(decoder, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [item.reason.split(":")[0] for item in result.rejected] == ["oversize"]
    assert peak < 4 * len(data)


def test_a_stream_split_into_many_reads_is_framed_once(tmp_path: Path) -> None:
    # STIX bundles were re-parsed from their start on every read; the framer looks at
    # each byte once. Split one bundle into single bytes: still exactly one event.
    from hotzone.ingest.stix import StixDecoder

    bundle = (Path(__file__).parents[1] / "golden" / "stix" / "sighting-bundle.json").read_bytes()
    decoder = StixDecoder()
    result = DecodeResult()
    for index in range(len(bundle)):
        result.extend(decoder.feed(bundle[index : index + 1], RECEIVED))
    result.extend(decoder.flush(RECEIVED))
    assert len(result.messages) == 1 and result.rejected == []


def test_eve_offsets_not_in_whole_minutes_are_refused(targets: dict[str, FuzzTarget]) -> None:
    # "+00000100" parsed as one second east of UTC: the event carried a non-UTC time that
    # did not survive JSON (found by bench/fuzz.py at 190,000 inputs).
    line = (
        b'{"timestamp":"2017-04-07T22:24:37.251547+00000100","event_type":"alert",'
        b'"src_ip":"10.0.0.1","dest_ip":"10.20.1.5","proto":"TCP","alert":{"action":"allowed",'
        b'"gid":1,"signature_id":1,"rev":1,"signature":"x","category":"y","severity":2}}\n'
    )
    (refused,) = _decode(targets["eve"].decoder(), line).rejected
    assert "whole minutes" in refused.reason
    (event,) = _decode(targets["eve"].decoder(), line.replace(b"+00000100", b"+0100")).messages
    assert event.time.utcoffset() is not None and not event.time.utcoffset()  # type: ignore[union-attr]


def test_a_cot_type_of_thousands_of_fields_is_mapped_by_its_first_ones() -> None:
    # Every prefix of the type was joined and looked up: quadratic in its length (the
    # slowest CoT input of bench/fuzz.py, 1.1 s of CPU for 140 KB).
    from hotzone.ingest.cot import class_hint_of
    from hotzone.types import TargetClass

    assert class_hint_of(["a", "h", "G", "E", "V", *["X"] * 50_000]) is TargetClass.GROUND_VEHICLE
    assert (
        class_hint_of(["a", "h", "A", "M", "F", "Q", "A", "B"]) is TargetClass.ONE_WAY_ATTACK_DRONE
    )
