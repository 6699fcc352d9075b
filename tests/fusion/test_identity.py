"""Identity-aware association: one object, one track; a position its object could not
have reached is not merged (two such tracks are an identity conflict, an Event); velocity-
only reports update the track of their identity."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hotzone.bus import InProcessBus
from hotzone.fusion.conversion import UNKNOWN_POSITION_SIGMA_M
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.runtime.pipeline import Pipeline
from hotzone.runtime.stages import assessment_stage, tracking_stage
from hotzone.sim.scenario import load_scenario
from hotzone.store import SQLiteStore
from hotzone.store.base import StoredMessage
from hotzone.types import (
    AnyMessage,
    Event,
    EventKind,
    GeoPoint,
    Report,
    ReportSource,
    Track,
)
from hotzone.types.labels import Label
from hotzone.types.subjects import subject_matches

FRAME = LocalFrame(54.0, 23.0, 0.0)
START_S = datetime(2025, 3, 14, 2, 0, tzinfo=UTC).timestamp()


def report(
    time_s: float,
    position: tuple[float, float, float],
    icao24: str | None = "48ae01",
    mmsi: int | None = None,
    velocity: tuple[float, float, float] | None = None,
    velocity_only: bool = False,
) -> Report:
    latitude, longitude, height = FRAME.enu_to_geodetic(np.array([position]))
    return Report(
        report_id=f"r-{time_s:.1f}-{icao24}-{mmsi}",
        time=datetime.fromtimestamp(START_S + time_s, tz=UTC),
        source_id="feed",
        source=ReportSource.AIS if mmsi is not None else ReportSource.ADSB,
        position=GeoPoint(
            lat_deg=float(latitude[0]), lon_deg=float(longitude[0]), height_m=float(height[0])
        ),
        horizontal_sigma_m=UNKNOWN_POSITION_SIGMA_M if velocity_only else 30.0,
        vertical_sigma_m=None if velocity_only else 50.0,
        velocity_enu_mps=velocity,
        icao24=icao24,
        mmsi=mmsi,
    )


def step(stage: TrackingStage, time_s: float, messages: list[object]) -> list[Track]:
    return stage.step(datetime.fromtimestamp(START_S + time_s, tz=UTC), messages)


def test_a_velocity_only_report_turns_the_track_before_the_next_position() -> None:
    stage = TrackingStage(frame=FRAME, tracker=default_tracker())
    for k in range(4):  # eastbound at 200 m/s, a position every 10 s
        tracks = step(stage, 10.0 * k, [report(10.0 * k, (2000.0 * k, 0.0, 9000.0))])
    (before,) = tracks
    assert before.enu_velocity_mps[0] > 150.0
    # It turns north: the velocity message says so 5 s before the next position.
    (after,) = step(
        stage, 35.0, [report(35.0, (0, 0, 0), velocity=(0.0, 200.0, 0.0), velocity_only=True)]
    )
    assert after.track_number == before.track_number
    # Weighed against the track's own velocity (5 m/s against a few m/s), it moves the
    # track most of the way at once.
    assert after.enu_velocity_mps[0] < 0.5 * before.enu_velocity_mps[0]
    assert after.enu_velocity_mps[1] > 100.0
    # A velocity alone never starts a track.
    tracks = step(
        stage,
        36.0,
        [report(36.0, (0, 0, 0), icao24="3c6444", velocity=(1, 1, 0), velocity_only=True)],
    )
    assert [t.icao24 for t in tracks] == ["48ae01"]
    assert stage.take_dead_letters() == []


def test_a_velocity_only_report_without_a_velocity_is_refused_with_a_reason() -> None:
    stage = TrackingStage(frame=FRAME, tracker=default_tracker())
    step(stage, 0.0, [report(0.0, (0, 0, 0), velocity_only=True)])
    (letter,) = stage.take_dead_letters()
    assert "neither a position nor a velocity" in letter.reason


def test_an_address_reported_at_two_places_far_apart_is_flagged_not_merged() -> None:
    stage = TrackingStage(frame=FRAME, tracker=default_tracker(), confirmed_only=True)
    tracks: list[Track] = []
    for k in range(12):
        time_s = 5.0 * k
        genuine = report(time_s, (150.0 * time_s, 0.0, 10_000.0))
        # Someone else transmits the same address 80 km north, 2 s later.
        spoofed = report(time_s + 2.0, (150.0 * time_s, 80_000.0, 10_000.0))
        tracks = step(stage, time_s + 2.0, [genuine, spoofed])
    assert len(tracks) == 2
    assert {t.icao24 for t in tracks} == {"48ae01"}
    # Neither track was pulled towards the other: each stays on its own line.
    norths = sorted(t.enu_position_m[1] for t in tracks)
    assert abs(norths[0]) < 500.0 and abs(norths[1] - 80_000.0) < 500.0
    (event,) = stage.take_events()
    assert event.kind == EventKind.OBSERVATION
    assert event.attributes["anomaly"] == "identity_conflict"
    assert event.subject_id == "icao:48ae01"
    assert 79_000.0 < float(event.attributes["distance_m"]) < 81_000.0
    assert "ICAO 48ae01" in event.summary


def test_one_object_keeps_one_track_through_a_gap_however_it_manoeuvred() -> None:
    """After a minute of silence the gate no longer holds a fast aircraft that turned;
    its address still does."""
    stage = TrackingStage(frame=FRAME, tracker=default_tracker(), confirmed_only=True)
    for k in range(5):
        tracks = step(stage, 10.0 * k, [report(10.0 * k, (250.0 * 10 * k, 0.0, 9000.0))])
    number = tracks[0].track_number
    # 60 s later it has turned back west: 15 km from where it would have gone on.
    (track,) = step(stage, 100.0, [report(100.0, (10_000.0 - 250.0 * 40, 3000.0, 9000.0))])
    assert track.track_number == number
    assert stage.take_events() == []


def test_vessels_are_told_apart_by_mmsi_next_to_each_other() -> None:
    """Two vessels moored side by side, 40 m apart, reporting every 3 minutes: two tracks,
    each kept by its MMSI, whatever the gate would say."""
    seen: dict[int, set[int]] = {}
    stage = TrackingStage(frame=FRAME, tracker=default_tracker(), confirmed_only=True)
    tracks: list[Track] = []
    for k in range(6):
        time_s = 180.0 * k
        tracks = step(
            stage,
            time_s,
            [
                report(time_s, (0.0, 0.0, 0.0), icao24=None, mmsi=261000001),
                report(time_s + 1.0, (40.0, 0.0, 0.0), icao24=None, mmsi=261000002),
            ],
        )
        for track in tracks:
            seen.setdefault(round(track.enu_position_m[0] / 40), set()).add(track.track_number)
    # Each vessel kept one track number throughout.
    assert all(len(found) == 1 for found in seen.values()), seen
    assert sorted(round(t.enu_position_m[0] / 40) for t in tracks) == [0, 1]
    numbers = {t.track_number for t in tracks}
    assert len(numbers) == 2


def test_an_identity_conflict_is_published_and_recorded_by_a_run(tmp_path: Path) -> None:
    """The runtime's fusion stage publishes the conflict Event (on the fusion source's
    detection subject, which neither fusion nor assessment takes for a measurement), and
    the run's store keeps it for the summary and report."""
    scenario = load_scenario("suwalki-drones")
    frame = scenario.frame
    inputs: list[AnyMessage] = []
    for k in range(12):
        time_s = 5.0 * k
        for number, north in enumerate((0.0, 80_000.0)):
            latitude, longitude, height = frame.enu_to_geodetic(
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

    async def run() -> tuple[list[StoredMessage], Counter[str]]:
        bus = InProcessBus()
        with SQLiteStore(tmp_path / "run.sqlite") as store:
            stages = [tracking_stage(scenario), assessment_stage(scenario)]
            progress = await Pipeline(bus, store, stages).run(inputs)
            stored = list(store.replay(types=["event"]))
        await bus.close()
        return stored, progress.stage_outputs["fusion"]

    stored, fusion_outputs = asyncio.run(run())
    conflicts = [s for s in stored if s.message.attributes.get("anomaly") == "identity_conflict"]  # type: ignore[union-attr]
    assert len(conflicts) == 1, [s.subject for s in stored]
    (conflict,) = conflicts
    assert conflict.subject == "hz.PL.det.none.fusion-suwalki"
    assert subject_matches("hz.*.det.>", conflict.subject)
    event = conflict.message
    assert isinstance(event, Event) and event.subject_id == "icao:48ae01"
    assert Label.parse(event.releasability) == Label.parse(scenario.releasability)
    assert fusion_outputs["Event"] == 1


def test_an_aircraft_back_in_view_is_shown_at_its_first_report() -> None:
    """An address that had a confirmed track is a real transponder's: when it comes back
    after its track ended (out of the receiver's view longer than the 90 s hold), its first
    report shows it. An address never seen needs a second report (a decoding error is
    one report), and so does one whose earlier track is still held (that track refused the
    report: too far for its object)."""
    stage = TrackingStage(frame=FRAME, tracker=default_tracker(), confirmed_only=True)
    shown: list[list[Track]] = []
    for k in range(3):
        shown.append(step(stage, 10.0 * k, [report(10.0 * k, (2000.0 * k, 0.0, 3000.0))]))
    assert shown[0] == [] and len(shown[1]) == 1
    first_number = shown[1][0].track_number
    # Silent for five minutes: the track ends. Another aircraft reports meanwhile.
    for k in range(1, 31):
        shown.append(
            step(
                stage,
                10.0 * k + 25.0,
                [report(10.0 * k + 25.0, (0.0, 500.0 * k, 3000.0), "48ae02")],
            )
        )
    assert all(t.icao24 != "48ae01" for t in shown[-1])
    (back,) = [
        t
        for t in step(stage, 330.0, [report(330.0, (40_000.0, 5_000.0, 3000.0))])
        if t.icao24 == "48ae01"
    ]
    assert back.track_number != first_number
    # A new address: one report is not shown.
    assert all(
        t.icao24 != "48ae03"
        for t in step(stage, 331.0, [report(331.0, (-20_000.0, 0.0, 3000.0), "48ae03")])
    )
    # The known address again, 100 km from its held track 5 s later: not its return.
    assert [
        t.track_number
        for t in step(stage, 335.0, [report(335.0, (140_000.0, 5_000.0, 3000.0))])
        if t.icao24 == "48ae01"
    ] == [back.track_number]


def test_a_track_its_identitys_reports_left_for_a_newer_one_is_not_shown() -> None:
    """A report too far for its identity's track starts a track of its own (not merged);
    once that one is confirmed and the identity's reports go on there, the old track is
    kept (its number, in case its object reports there again) but no longer shown: one
    address, one track on the picture, and the conflict flagged."""
    stage = TrackingStage(frame=FRAME, tracker=default_tracker(), confirmed_only=True)
    for k in range(4):
        tracks = step(stage, 10.0 * k, [report(10.0 * k, (100.0 * 10 * k, 0.0, 3000.0))])
    (old,) = tracks
    # The position jumps 30 km (beyond 2 km + 400 m/s for 10 s) and goes on from there.
    numbers: list[list[int]] = []
    for k in range(4, 10):
        position = (100.0 * 10 * k, 30_000.0, 3000.0)
        numbers.append(
            [t.track_number for t in step(stage, 10.0 * k, [report(10.0 * k, position)])]
        )
    assert numbers[0] == [old.track_number]  # the new track is tentative, the old shown
    (new,) = numbers[1]
    assert new != old.track_number
    assert all(found == [new] for found in numbers[1:]), numbers
    (event,) = stage.take_events()
    assert event.attributes["anomaly"] == "identity_conflict"
    # The old track is still kept: a report near it goes to it, under its number, and
    # with both updated since the other began, both are shown.
    shown = step(stage, 100.0, [report(100.0, (6000.0, 0.0, 3000.0))])
    assert sorted(t.track_number for t in shown) == sorted([old.track_number, new])
