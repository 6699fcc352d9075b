"""Suricata EVE alerts -> cyber_alert events linked to sites; suspect sensors; fuzz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.ingest.cyber_state import SuspectSensors
from hotzone.ingest.eve import EveDecoder, SiteInventory
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.types import Event, EventKind, from_json

GOLDEN = Path(__file__).parents[1] / "golden" / "eve" / "alerts.eve.json"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INVENTORY = {"radar-site-north": ["10.20.1.0/24"], "c2-node": ["10.20.2.9"]}


def _decode(data: bytes, inventory: SiteInventory | None = None) -> tuple[list[Event], list[str]]:
    decoder = EveDecoder(inventory)
    result = decoder.feed(data, NOW)
    result.extend(decoder.flush(NOW))
    events = [m for m in result.messages if isinstance(m, Event)]
    return events, [item.reason for item in result.rejected]


def test_documented_alert_line_decodes_to_a_cyber_alert() -> None:
    events, rejected = _decode(GOLDEN.read_bytes())
    assert rejected == []
    assert len(events) == 3  # the flow and stats records are not alerts
    first = events[0]
    assert first.kind is EventKind.CYBER_ALERT
    assert first.time == datetime(2017, 4, 7, 21, 24, 37, 251547, tzinfo=UTC)
    assert first.attributes["signature_id"] == "2018358"
    assert first.attributes["dest_ip"] == "209.53.113.5"
    assert "ET HUNTING GENERIC SUSPICIOUS POST" in first.summary


def test_suricata_severity_one_is_the_highest() -> None:
    events, _ = _decode(GOLDEN.read_bytes())
    by_suricata = {int(e.attributes["suricata_severity"]): e.severity for e in events}
    assert by_suricata[1] > by_suricata[2] > by_suricata[3]


def test_alerts_are_linked_to_sites_by_ip_target_first() -> None:
    events, _ = _decode(GOLDEN.read_bytes(), SiteInventory.from_mapping(INVENTORY))
    unlinked, scan, onion = events
    assert unlinked.subject_id is None
    assert scan.subject_id == "radar-site-north" and scan.attributes["site_role"] == "target"
    assert onion.subject_id == "c2-node" and onion.attributes["site_role"] == "source"
    assert onion.attributes["action"] == "blocked"


def test_inventory_from_yaml_and_bad_entries(tmp_path: Path) -> None:
    good = tmp_path / "sites.yaml"
    good.write_text("sites:\n  radar-site-north: [10.20.1.0/24]\n  c2-node: [10.20.2.9]\n")
    inventory = SiteInventory.from_yaml(good)
    assert inventory.site_of("10.20.1.200") == "radar-site-north"
    assert inventory.site_of("10.20.3.1") is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("radar: [not-an-ip]\n")
    with pytest.raises(ValueError, match="'not-an-ip' is not an IP address"):
        SiteInventory.from_yaml(bad)


def test_bad_lines_are_refused_with_reasons() -> None:
    lines = [
        b"{not json",
        b'{"timestamp":"2026-11-27T11:58:02","event_type":"alert","alert":{"signature_id":1}}',
        b'{"timestamp":"2026-11-27T11:58:02+0000","event_type":"alert"}',
        b'{"timestamp":"2026-11-27T11:58:02+0000","event_type":"alert",'
        b'"alert":{"signature_id":1,"severity":0}}',
    ]
    events, rejected = _decode(b"\n".join(lines))
    assert events == []
    assert rejected[0].startswith("not an EVE record")
    assert rejected[1].startswith("timestamp: timestamp has no UTC offset")
    assert rejected[2].startswith("alert: alert record without")
    assert rejected[3].startswith("alert.severity:")


def test_decode_command_with_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text("radar-site-north: [10.20.1.0/24]\n")
    assert isinstance(decoder_factories()["eve"](DecoderOptions(sensors_file=sites)), EveDecoder)
    assert main(["decode", "eve", str(GOLDEN), "--sensors", str(sites)]) == 0
    decoded = [from_json(line.encode()) for line in capsys.readouterr().out.splitlines()]
    assert [e.subject_id for e in decoded] == [None, "radar-site-north", None]  # type: ignore[attr-defined]


def _alert(site: str, severity: int, time: datetime) -> Event:
    return Event(
        event_id=f"{site}-{time.isoformat()}",
        time=time,
        source_id="suricata",
        kind=EventKind.CYBER_ALERT,
        severity=severity,
        summary="ET SCADA Modbus TCP Read Coil Scan",
        subject_id=site,
    )


def test_a_site_under_attack_makes_its_sensors_suspect_for_a_while() -> None:
    tracker = SuspectSensors(
        hold=timedelta(minutes=10), site_sensors={"radar-site-north": ["radar-1", "eo-2"]}
    )
    assert tracker.observe(_alert("radar-site-north", 8, NOW)) == ["radar-1", "eo-2"]
    assert tracker.observe(_alert("c2-node", 3, NOW)) == []  # below the severity threshold
    assert tracker.is_suspect("radar-1", NOW + timedelta(minutes=9))
    assert not tracker.is_suspect("radar-1", NOW + timedelta(minutes=11))
    assert not tracker.is_suspect("c2-node", NOW)
    tracker.observe(_alert("radar-site-north", 7, NOW + timedelta(minutes=5)))
    assert tracker.suspect_at(NOW + timedelta(minutes=12)) == {
        "radar-1": NOW + timedelta(minutes=15),
        "eo-2": NOW + timedelta(minutes=15),
    }
    assert "Modbus" in (tracker.reason("eo-2") or "")
    tracker.forget_before(NOW + timedelta(minutes=20))
    assert tracker.suspect_at(NOW) == {}
