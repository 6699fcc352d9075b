"""The run report lists the identity conflicts and spoofing events a run recorded.

A real run (the runtime's fusion and assessment stages over the in-process bus, recording
into the run's SQLite store) of two aircraft transmitting one ICAO address 80 km apart:
fusion flags an identity conflict (an Event, stored), and `assessment_report` and the
summary's section list it, once, with the address, both tracks and the distance.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hotzone.bus import InProcessBus
from hotzone.runtime.pipeline import Pipeline
from hotzone.runtime.run_report import assessment_report, identity_events, identity_lines
from hotzone.runtime.stages import assessment_stage, tracking_stage
from hotzone.sim.scenario import load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import Alert, AnyMessage, GeoPoint, Report, ReportSource, write_jsonl

START_S = datetime(2025, 3, 14, 2, 0, tzinfo=UTC).timestamp()


def _two_places_one_address() -> tuple[list[AnyMessage], object]:
    scenario = load_scenario("suwalki-drones")
    inputs: list[AnyMessage] = []
    for k in range(12):
        time_s = 5.0 * k
        for number, north in enumerate((0.0, 80_000.0)):
            latitude, longitude, height = scenario.frame.enu_to_geodetic(
                np.array([[150.0 * time_s, north, 10_000.0]])
            )
            inputs.append(
                Report(
                    report_id=f"r-{k}-{number}",
                    time=datetime.fromtimestamp(START_S + time_s + 2.0 * number, tz=UTC),
                    source_id="adsb-suwalki",
                    source=ReportSource.ADSB,
                    position=GeoPoint(
                        lat_deg=float(latitude[0]),
                        lon_deg=float(longitude[0]),
                        height_m=float(height[0]),
                    ),
                    horizontal_sigma_m=30.0,
                    vertical_sigma_m=50.0,
                    icao24="48ae01",
                )
            )
    return inputs, scenario


def test_the_run_report_lists_an_identity_conflict_once(tmp_path: Path) -> None:
    inputs, scenario = _two_places_one_address()
    (tmp_path / "outputs").mkdir()

    async def run() -> None:
        bus = InProcessBus()
        with SQLiteStore(tmp_path / "hotzone.sqlite") as store:
            stages = [tracking_stage(scenario), assessment_stage(scenario)]  # type: ignore[arg-type]
            await Pipeline(bus, store, stages).run(inputs)
            for name, tag in (("alerts", "alert"), ("assessments", "assessment")):
                with (tmp_path / "outputs" / f"{name}.jsonl").open("wb") as stream:
                    write_jsonl([s.message for s in store.replay(types=[tag])], stream)
        await bus.close()

    asyncio.run(run())
    report = assessment_report(tmp_path)
    conflicts = report["identity_conflicts"]
    print("\n" + "\n".join(identity_lines(conflicts)))
    assert len(conflicts) == 1, conflicts
    (row,) = conflicts
    assert row["kind"] == "identity_conflict"
    assert row["identity"] == "icao:48ae01"
    assert 79_000.0 < row["distance_m"] < 81_000.0
    assert len(row["tracks"].split(",")) == 2
    lines = identity_lines(conflicts)
    assert lines[1] == "## Identity conflicts and spoofing"
    assert any("icao:48ae01" in line and "80.0 km" in line for line in lines)


def test_spoofing_alerts_are_listed_once_and_a_quiet_run_says_none() -> None:
    alert = Alert(
        alert_id="a-1",
        time=datetime(2025, 3, 14, 2, 5, tzinfo=UTC),
        kind="position_spoofing",
        summary="ADS-B position of 48ae01 12.0 km from its radar track",
        priority=2,
        track_id="trk-7",
    )
    threat = Alert(
        alert_id="a-2",
        time=datetime(2025, 3, 14, 2, 6, tzinfo=UTC),
        kind="threat",
        summary="suspect one_way_attack_drone",
        priority=1,
    )
    rows = identity_events([], [alert, alert, threat])  # re-issued alerts repeat their id
    assert [(r["kind"], r["tracks"]) for r in rows] == [("position_spoofing", "trk-7")]
    assert "48ae01" in identity_lines(rows)[-1]
    assert identity_lines([])[-1] == "- none"
