"""hotzone cyber events -> STIX 2.1 bundles that stix2-validator accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from stix2validator import ValidationOptions, validate_string

from hotzone.share.stix import bundle_json
from hotzone.types import Event, EventKind

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _event(event_id: str, kind: EventKind = EventKind.CYBER_ALERT, **attributes: str) -> Event:
    return Event(
        event_id=event_id,
        time=NOW,
        source_id="suricata",
        kind=kind,
        severity=8,
        summary="ET SCADA Modbus TCP Read Coil Scan",
        subject_id="radar-site-north",
        attributes=attributes,
        releasability="REL PL LT",
    )


FLOW = {
    "src_ip": "203.0.113.77",
    "dest_ip": "10.20.1.5",
    "src_port": "41522",
    "dest_port": "502",
    "proto": "TCP",
    "signature": "ET SCADA Modbus TCP Read Coil Scan",
    "signature_id": "2009286",
}


def _validate(text: str) -> None:
    results = validate_string(text, ValidationOptions(version="2.1", strict=True))
    messages = [str(error) for error in results.errors] + [str(w) for w in results.warnings]
    assert results.is_valid, messages
    assert messages == []  # not even warnings (UUIDv4 form, marking, references)


def test_bundle_has_identity_sighting_indicator_observed_data_and_validates() -> None:
    text = bundle_json([_event("eve:1", **FLOW), _event("eve:2")])
    _validate(text)
    objects = json.loads(text)["objects"]
    types = [item["type"] for item in objects]
    for expected in ("identity", "sighting", "indicator", "observed-data", "marking-definition"):
        assert expected in types
    assert types.count("sighting") == 2
    sighting = next(item for item in objects if item["type"] == "sighting")
    site = next(item for item in objects if item.get("name") == "radar-site-north")
    assert sighting["where_sighted_refs"] == [site["id"]]
    marking = next(item for item in objects if item["type"] == "marking-definition")
    assert marking["definition"]["statement"] == "Releasability: REL PL LT"
    indicator = next(item for item in objects if item["type"] == "indicator")
    assert indicator["pattern"] == "[ipv4-addr:value = '203.0.113.77']"


def test_export_is_deterministic_and_leaves_other_events_out() -> None:
    events = [_event("eve:1", **FLOW), _event("status:1", EventKind.SENSOR_STATUS)]
    first, second = json.loads(bundle_json(events)), json.loads(bundle_json(events))
    assert [o["id"] for o in first["objects"]] == [o["id"] for o in second["objects"]]
    assert sum(o["type"] == "sighting" for o in first["objects"]) == 1


def test_ipv6_flows_validate() -> None:
    flow = dict(FLOW, src_ip="2001:db8::7", dest_ip="2001:db8:1::5")
    text = bundle_json([_event("eve:6", **flow)])
    _validate(text)
    assert "ipv6-addr" in [item["type"] for item in json.loads(text)["objects"]]
