"""Decoding speed per input format, in records per second, with reference ratios.

Not run by ``make test``. Each row of `ROWS` is (format, implementation, function that
decodes the sample once and returns how many records it decoded); adding a format or a
reference decoder is one line. Rows whose library is missing are reported and skipped.

    .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

GOLDEN = Path(__file__).parents[1] / "tests" / "golden"
RECEIVED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SITES_YAML = '"25/201": {lat_deg: 45.5, lon_deg: 14.0}\n"25/204": {lat_deg: 45.6, lon_deg: 14.1}\n'


def _asterix_stream() -> bytes:
    """The CAT034/048/062 golden UDP payloads, concatenated, repeated to ~1 MB."""
    from hotzone.ingest.pcap import PcapStreamReader, udp_payload

    capture = (GOLDEN / "asterix" / "cat_034_048.pcap").read_bytes()
    payloads = [udp_payload(packet) for packet in PcapStreamReader().feed(capture)]
    payloads.append((GOLDEN / "asterix" / "cat062cat065.raw").read_bytes())
    chunk = b"".join(payloads)
    return chunk * max(1, 1_000_000 // len(chunk))


def hotzone_asterix_records(data: bytes) -> int:
    """hotzone's typed-record decoding (framing + item decoding, no message mapping)."""
    from hotzone.ingest.asterix import decode_records
    from hotzone.ingest.asterix.datablock import split_blocks

    return sum(len(decode_records(block)[0]) for block in split_blocks(data))


def hotzone_asterix_messages(data: bytes) -> int:
    """The full decoder: records to Detection/Report/Event messages, refusals counted."""
    import tempfile

    from hotzone.ingest.asterix import AsterixDecoder, SiteTable

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as sites_file:
        sites_file.write(SITES_YAML)
    decoder = AsterixDecoder(SiteTable.from_file(Path(sites_file.name)))
    result = decoder.feed(data, RECEIVED)
    return len(result.messages) + len(result.rejected)


def reference_asterix_records(data: bytes) -> int:
    """asterix-decoder (C++, GPL: bench and tests only), without descriptions."""
    import asterix

    return len(asterix.parse(data, verbose=False))


def _golden(name: str) -> Callable[[], bytes]:
    """A golden sample repeated to ~1 MB (line formats stay line-aligned)."""

    def sample() -> bytes:
        chunk = (GOLDEN / name).read_bytes()
        chunk = chunk if chunk.endswith(b"\n") or name.endswith(".gmti") else chunk + b"\n"
        return chunk * max(1, 1_000_000 // len(chunk))

    return sample


def hotzone_format(format_name: str) -> Callable[[bytes], int]:
    """Any registered format's full decoder: messages plus refusals."""

    def decode(data: bytes) -> int:
        from hotzone.ingest.registry import DecoderOptions, decoder_factories

        decoder = decoder_factories()[format_name](DecoderOptions())
        result = decoder.feed(data, RECEIVED)
        result.extend(decoder.flush(RECEIVED))
        return decoder.counters.frames

    return decode


_SBS, _AIS = _golden("adsb/sbs1_msgs.txt"), _golden("ais/pyais_test_sentences.nmea")


def _readsb_stream() -> bytes:
    """The sample document on one line (a stream), repeated to ~1 MB."""
    import json

    line = json.dumps(json.loads((GOLDEN / "adsb/readsb_aircraft.json").read_text())) + "\n"
    return line.encode() * (1_000_000 // len(line))


_READSB = _readsb_stream
_GMTI = _golden("gmti/full_mask_every_optional_group.gmti")


Row = tuple[str, str, Callable[[bytes], int], Callable[[], bytes]]
ROWS: list[Row] = [
    ("asterix", "hotzone records", hotzone_asterix_records, _asterix_stream),
    ("asterix", "hotzone messages", hotzone_asterix_messages, _asterix_stream),
    ("asterix", "asterix-decoder (C++)", reference_asterix_records, _asterix_stream),
    ("sbs", "hotzone lines", hotzone_format("sbs"), _SBS),
    ("ais", "hotzone sentences", hotzone_format("ais"), _AIS),
    ("readsb", "hotzone documents", hotzone_format("readsb"), _READSB),
    ("gmti", "hotzone packets", hotzone_format("gmti"), _GMTI),
]
#: (format, implementation, reference implementation) ratios to print
RATIOS = [
    ("asterix", "hotzone records", "asterix-decoder (C++)"),
    ("asterix", "hotzone messages", "asterix-decoder (C++)"),
]


def measure(function: Callable[[bytes], int], data: bytes, repeats: int = 3) -> float:
    """Best records/s over a few runs (the best run is the least disturbed one)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        count = function(data)
        elapsed = time.perf_counter() - start
        best = max(best, count / elapsed if elapsed > 0 else 0.0)
    return best


def main() -> None:
    rates: dict[tuple[str, str], float] = {}
    samples: dict[Callable[[], bytes], bytes] = {}
    print(f"{'format':<10} {'implementation':<26} {'records/s':>12}")
    for format_name, implementation, function, sample in ROWS:
        try:
            data = samples.setdefault(sample, sample())
            rate = measure(function, data)
        except ImportError as error:
            print(f"{format_name:<10} {implementation:<26} {'skipped':>12} ({error.name} missing)")
            continue
        rates[(format_name, implementation)] = rate
        print(f"{format_name:<10} {implementation:<26} {rate:>12,.0f}")
    for format_name, ours, reference in RATIOS:
        if (format_name, ours) in rates and (format_name, reference) in rates:
            ratio = rates[(format_name, ours)] / rates[(format_name, reference)]
            print(f"{format_name}: {ours} / {reference} = {ratio:.3f}")


if __name__ == "__main__":
    main()
