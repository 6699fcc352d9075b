"""Helpers shared by the ASTERIX tests: golden captures and the reference decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asterix  # GPL reference decoder: tests only

from hotzone.ingest.pcap import PcapStreamReader, udp_payload

GOLDEN = Path(__file__).parents[2] / "golden" / "asterix"

SITES_YAML = """\
"25/201": {lat_deg: 45.5, lon_deg: 14.0, height_m: 300.0, range_sigma_m: 60.0}
"25/13": {lat_deg: 45.6, lon_deg: 14.1, height_m: 400.0}
"25/14": {lat_deg: 45.7, lon_deg: 14.2, height_m: 500.0, azimuth_sigma_deg: 0.1}
"25/204": {lat_deg: 45.8, lon_deg: 14.3, height_m: 200.0}
"""


def golden_payloads(name: str) -> list[bytes]:
    """The ASTERIX bytes of a golden file: the whole .raw file, or each UDP payload."""
    data = (GOLDEN / name).read_bytes()
    if not name.endswith(".pcap"):
        return [data]
    return [udp_payload(packet) for packet in PcapStreamReader().feed(data)]


def reference_records(payload: bytes) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = asterix.parse(payload, verbose=False)
    return records


def value(record: dict[str, Any], item: str, *path: str) -> Any:
    node: Any = record[item]
    for key in path:
        node = node[key]
    return node["val"]
