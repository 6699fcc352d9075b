"""A real day of 17 aircraft around a glider field, fed to hotzone as an SBS-1 feed (issue
15, "Real captures in the tests" and the real-SBS measure). The recording and how it
becomes a feed: `tests/ingest/real_flarm.py` and `tests/golden/flarm_lfmy/SOURCE.md`.

The measures are printed (run with ``-s``) per *visit*: an object's reports without a
silence longer than the tracker's 90 s identity hold. The issue's targets: >= 95 % of
aircraft with exactly one confirmed track for >= 90 % of their reported time, <= 1.05
confirmed tracks per aircraft, no track merging two addresses. The assertions hold the
targets with at most one visit of slack below the figures hotzone reaches today
(docs/fusion.md, "Real captures in registry packages"), so a regression fails; where they
fall short of the targets the printout says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hotzone.cli import main

from .real_flarm import (
    FLARM_CLASS,
    RECEIVER,
    RealScore,
    feed_reports,
    load_recording,
    sbs_feed,
    score,
    track_windows,
    tracked_day,
    visits,
)

FLIGHT_S = 300.0
"""Visits at least this long (a flight, a tow, a circuit) make the headline measure; a
shorter visit at 10 s reporting is a handful of positions, and confirmation (the second
report) alone takes a tenth of it."""


def _print(title: str, result: RealScore) -> None:
    target = (
        result.well_tracked / max(result.visits, 1) >= 0.95
        and result.tracks <= 1.05 * result.visits
        and result.merged == 0
    )
    print(f"\n{title}: {result.summary()}; issue-15 target {'met' if target else 'NOT met'}")
    print(f"  least covered visits (address, length s, coverage): {result.worst}")


def test_the_golden_recording_is_the_one_rs1090_decodes() -> None:
    recording = load_recording()
    first = recording.rows[0]
    # rs1090 0.7.0's own test (python/tests/test_flarm.py) decodes the recording's first
    # message to these values.
    assert first.address == "38f27b"
    assert first.aircraft_type == "Glider"
    assert first.lat_deg == pytest.approx(43.61822, abs=1e-5)
    assert first.lon_deg == pytest.approx(5.117242, abs=1e-5)
    assert first.height_m == 160
    assert len(recording.aircraft_type) == 17
    kinds = sorted(recording.aircraft_type.values())
    assert kinds.count("Glider") == 11
    assert kinds.count("Towplane") == 3
    assert {kind for kind in kinds if FLARM_CLASS[kind] is not None} == {
        "Towplane",
        "Aircraft",
        "DropPlane",
    }
    print(
        f"\n{len(recording.rows)} positions kept; dropped {recording.dropped_range} beyond "
        f"100 km and {recording.dropped_type} with a stray aircraft type"
    )
    assert recording.dropped_range + recording.dropped_type < 0.005 * len(recording.rows)


def test_a_real_glider_field_day_as_a_10_s_sbs_feed_keeps_one_track_per_aircraft() -> None:
    feed, windows = tracked_day(10.0)
    flights = score(feed.reported, windows, min_visit_s=FLIGHT_S)
    every = score(feed.reported, windows, min_visit_s=60.0)
    _print("FLARM LFMY 2022-06-15, a position every >= 10 s, visits >= 5 min", flights)
    _print("  the same, every visit >= 1 min", every)
    assert flights.objects >= 12 and flights.visits >= 38
    assert flights.merged == 0 and every.merged == 0
    # 38 of 38 visits today (dde1f4 and d0095f were at 85 % and 89 % before a returning
    # address was confirmed at its first report and a held track shown for a minute).
    assert flights.well_tracked >= max(0.95 * flights.visits, flights.visits - 1)
    assert flights.tracks <= min(1.05 * flights.visits, flights.visits + 1)
    assert float(np.median(flights.coverage)) >= 0.99
    # Visits of 1-5 min are a handful of reports: a first visit waits for its second
    # report (10-40 s) to be confirmed, a tenth or more of a 100 s visit (94.1 % today).
    assert every.well_tracked >= 0.9 * every.visits
    assert every.tracks <= 1.02 * every.visits


@pytest.mark.slow(19)
def test_a_real_busy_hour_at_the_recorded_rate_keeps_one_track_per_aircraft() -> None:
    """About one position a second per aircraft, 11 aircraft in the air or on the field
    at once, parked gliders a few metres apart."""
    recording = load_recording()
    start = recording.rows[0].time_s + 5400.0  # 07:50-08:50 UTC, the busiest hour
    recording.rows = [r for r in recording.rows if start <= r.time_s < start + 3600.0]
    feed = sbs_feed(recording)
    windows = track_windows(feed_reports(feed.lines))
    result = score(feed.reported, windows, min_visit_s=60.0)
    _print("FLARM LFMY 07:50-08:50 UTC at the recorded rate (~1 s), visits >= 1 min", result)
    assert result.objects >= 10 and result.visits >= 15
    assert result.merged == 0
    assert result.tracks <= 1.05 * result.visits
    # FLARM reception has silences of 10-80 s inside a visit (a turn, low over the
    # field): a held track is shown for a minute of them (15 of 15 visits today; 8 of 15
    # when it was shown for 3.5 revisits of 1 s or 10 s).
    assert result.well_tracked >= max(0.95 * result.visits, result.visits - 1)
    assert float(np.median(result.coverage)) >= 0.98


def test_hotzone_track_reads_the_real_feed_from_a_file(tmp_path: Path) -> None:
    """The same feed through the command an integrator runs."""
    recording = load_recording()
    start = recording.rows[0].time_s + 5400.0
    recording.rows = [r for r in recording.rows if start <= r.time_s < start + 1800.0]
    feed = sbs_feed(recording, min_interval_s=10.0)
    capture = tmp_path / "lfmy.sbs"
    capture.write_text("\n".join(feed.lines) + "\n")
    out = tmp_path / "tracks.jsonl"
    origin = f"{RECEIVER.lat_deg},{RECEIVER.lon_deg}"
    assert (
        main(["track", str(capture), "--from", "sbs", "--origin", origin, "--out", str(out)]) == 0
    )
    tracks = [json.loads(line) for line in out.read_text().splitlines()]
    numbers: dict[str, set[int]] = {}
    for track in tracks:
        numbers.setdefault(track["icao24"], set()).add(track["track_number"])
    print(f"\nhotzone track, 30 min, 10 s feed: {len(feed.reported)} aircraft -> {numbers}")
    assert set(numbers) <= set(feed.reported)
    assert len(numbers) >= len(feed.reported) - 1
    # No more track numbers than visits (silences over the 90 s identity hold).
    for address, found in numbers.items():
        assert len(found) <= len(visits(sorted(feed.reported[address]))), address
