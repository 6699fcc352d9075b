"""A real recorded ADS-B capture with its timing through the SBS feed and the tracker.

`tests/golden/adsb/pymodes_sample_data_adsb.csv`: 2,000 Mode S extended squitters of one
aircraft (406B90) over 12 minutes, as received (pyModeS 2.19's test data). pyModeS (a test
dependency) resolves their positions and velocities; they become the SBS lines a
BaseStation feed would carry (MSG,3 positions, MSG,4 velocities) at their recorded
times, once at the recorded rate (about 1 s) and once thinned to a fringe feed's (a
position at most every 10 s, gaps of up to 40 s): one track for its whole reported time,
no second one. It is one object; the multi-aircraft recording with timing that a
registry package ships (rs1090's FLARM day, `tests/ingest/test_real_flarm_sbs.py`,
docs/fusion.md) is FLARM without velocities, so this stays the real Mode S one, with its
velocity messages.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pyModeS import decode as modes_decode

from .sbs_capture import START, Capture, _stamp, score, track_capture

GOLDEN = Path(__file__).parents[1] / "golden" / "adsb" / "pymodes_sample_data_adsb.csv"


def _capture(min_interval_s: float) -> Capture:
    with GOLDEN.open() as lines:
        rows = list(csv.reader(lines))
    times = [float(row[0]) for row in rows]
    decoded = modes_decode([row[1] for row in rows], timestamps=times)
    first = times[0]
    lines: list[str] = []
    reported: dict[str, list[float]] = {}
    last_position = -float("inf")
    for time_s, message in zip(times, decoded, strict=True):
        if not message or not message.get("crc_valid"):
            continue
        icao, offset = message["icao"], time_s - first
        stamp = _stamp(offset)
        if message.get("latitude") is not None and message.get("altitude") is not None:
            # A fringe feed: one position in ``min_interval_s``, and now and then none
            # for 40 s (the recording's own gaps are up to 10 s).
            quiet = min_interval_s > 1 and 300 <= offset < 340
            if offset - last_position < min_interval_s or quiet:
                continue
            last_position = offset
            lines.append(
                f"MSG,3,1,1,{icao},1,{stamp},{stamp},,{message['altitude']},,,"
                f"{message['latitude']:.5f},{message['longitude']:.5f},,,0,0,0,0"
            )
            reported.setdefault(icao.lower(), []).append(START.timestamp() + offset)
        elif message.get("groundspeed") is not None and min_interval_s <= 1:
            lines.append(
                f"MSG,4,1,1,{icao},1,{stamp},{stamp},,,{message['groundspeed']},"
                f"{message['track']:.1f},,,{message['vertical_rate']},,0,0,0,0"
            )
    return Capture(lines, reported)


@pytest.mark.parametrize("min_interval_s", [0.0, 10.0])
def test_a_real_recorded_aircraft_keeps_one_track(min_interval_s: float) -> None:
    capture = _capture(min_interval_s)
    assert set(capture.reported) == {"406b90"}
    windows, refused = track_capture(capture)
    assert refused == 0
    result = score(capture, windows)
    numbers = {t.track_number for _, tracks in windows for t in tracks}
    print(f"\nreal 406B90, a position at most every {min_interval_s:.0f} s: {result.summary()}")
    assert len(numbers) == 1, numbers
    assert result.merged == 0
    assert result.tracks_per_aircraft <= 1.05
    assert result.well_tracked == 1
    assert min(result.coverage) >= 0.9
