"""STIX 2.1 sightings in -> cyber events; round trip with hotzone's own STIX export; fuzz."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_string

from hotzone.cli import main
from hotzone.ingest.eve import SiteInventory
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.ingest.stix import StixDecoder
from hotzone.share.stix import bundle_json
from hotzone.types import Event, EventKind, from_json

GOLDEN = Path(__file__).parents[1] / "golden" / "stix" / "sighting-bundle.json"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _decode(data: bytes, decoder: StixDecoder | None = None) -> tuple[list[Event], list[str]]:
    decoder = decoder if decoder is not None else StixDecoder()
    result = decoder.feed(data, NOW)
    result.extend(decoder.flush(NOW))
    return [m for m in result.messages if isinstance(m, Event)], [r.reason for r in result.rejected]


def test_golden_bundle_is_valid_stix() -> None:
    assert validate_string(GOLDEN.read_text(), ValidationOptions(version="2.1")).is_valid


def test_sighting_becomes_a_cyber_event_at_the_site_where_it_was_seen() -> None:
    (event,), rejected = _decode(GOLDEN.read_bytes())
    assert rejected == []
    assert event.kind is EventKind.CYBER_ALERT
    assert event.time == datetime(2015, 12, 21, 19, 0, tzinfo=UTC)
    assert event.subject_id == "radar-site-north"  # the where_sighted identity's name
    assert event.severity == 8  # the indicator's confidence 80 -> 8 of 10
    assert "Poison Ivy Malware" in event.summary
    assert event.attributes["count"] == "50"


def test_inventory_links_by_observed_address() -> None:
    inventory = SiteInventory.from_mapping({"eo-mast-7": ["10.20.1.5"]})
    (event,), _ = _decode(GOLDEN.read_bytes(), StixDecoder(inventory))
    assert event.subject_id == "eo-mast-7"
    assert event.attributes["where_sighted"] == "radar-site-north"


def test_bundles_split_across_chunks_and_one_per_line() -> None:
    compact = json.dumps(json.loads(GOLDEN.read_text())).encode()
    decoder = StixDecoder()
    first = decoder.feed(compact[:100], NOW)
    second = decoder.feed(compact[100:] + b"\n" + compact + b"\n", NOW)
    assert first.messages == [] and first.rejected == []
    assert len(second.messages) == 2


def test_bad_documents_are_refused_with_reasons() -> None:
    bad_sighting = json.loads(GOLDEN.read_text())
    del bad_sighting["objects"][-1]["sighting_of_ref"]
    data = b"\n".join(
        [b"{broken", b'{"type": "indicator"}', json.dumps(bad_sighting).encode(), b"[1, 2"]
    )
    events, rejected = _decode(data)
    assert events == []
    assert rejected[0].startswith("not JSON")
    assert rejected[1].startswith("type: not a STIX bundle")
    assert rejected[2].startswith("invalid STIX 2.1") and "sighting_of_ref" in rejected[2]
    assert rejected[3].startswith("not JSON")


def _cyber_event(index: int, site: str | None) -> Event:
    return Event(
        event_id=f"eve:{index}",
        time=NOW,
        source_id="suricata",
        kind=EventKind.CYBER_ALERT,
        severity=8,
        summary="ET SCADA Modbus TCP Read Coil Scan",
        subject_id=site,
        attributes={
            "src_ip": "203.0.113.77",
            "dest_ip": "10.20.1.5",
            "src_port": "41522",
            "dest_port": "502",
            "proto": "TCP",
            "signature": "ET SCADA Modbus TCP Read Coil Scan",
            "signature_id": "2009286",
        },
        releasability="REL PL LT",
    )


def test_export_round_trips_site_severity_and_time() -> None:
    exported = bundle_json([_cyber_event(1, "radar-site-north")]).encode()
    (event,), rejected = _decode(exported)
    assert rejected == []
    assert event.subject_id == "radar-site-north"
    assert event.severity == 8 and event.time == NOW
    assert event.attributes["addresses"] == "203.0.113.77,10.20.1.5"


def test_decode_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(decoder_factories()["stix"](DecoderOptions()), StixDecoder)
    assert main(["decode", "stix", str(GOLDEN)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert from_json(line.encode()).subject_id == "radar-site-north"  # type: ignore[union-attr]
