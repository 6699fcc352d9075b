"""A multi-aircraft SBS capture of a sparse feed (positions and velocities in separate
lines about every 10 s, gaps of up to a minute) through `hotzone track --from sbs`'s
path with default options: one confirmed track per aircraft, for nearly all its time.
The capture's making, and what the one recorded multi-aircraft feed in a registry package
(rs1090's FLARM day, `tests/ingest/test_real_flarm_sbs.py`) lacks that it has:
`tests/fusion/sbs_capture.py`."""

from __future__ import annotations

from .sbs_capture import make_capture, score, track_capture


def test_a_sparse_multi_aircraft_sbs_feed_gets_one_confirmed_track_per_aircraft() -> None:
    capture = make_capture(aircraft=60, duration_s=1800.0, seed=15)
    windows, refused = track_capture(capture)
    result = score(capture, windows)
    print("\n" + result.summary())
    assert refused == 0
    assert result.aircraft == 60
    assert result.well_tracked >= 0.95 * result.aircraft
    assert result.tracks_per_aircraft <= 1.05
    assert result.merged == 0
