"""A track carries the latest ground flag its reports gave (`Track.on_ground`), and the flag
changes nothing else the tracker computes (issue 15, item 4)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime

import msgspec

from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.ingest.sbs import SbsDecoder
from hotzone.runtime.windows import ReplaySummary, track_stream
from hotzone.types import Report, Track
from tests.assess.real_adsb import KLM1302_TOUCHDOWN_S, klm1302_sbs_lines

AMSTERDAM = LocalFrame(52.3, 4.75, 0.0)


def _reports() -> list[Report]:
    """KLM1302's last five minutes in the air and ten on the ground at Amsterdam, as a
    BaseStation feed (real positions; MSG,2 surface positions flagged on the ground)."""
    lines = klm1302_sbs_lines(KLM1302_TOUCHDOWN_S - 300.0, KLM1302_TOUCHDOWN_S + 600.0)
    decoder = SbsDecoder()
    received = datetime(2030, 1, 1, tzinfo=UTC)
    result = decoder.feed(("\n".join(lines) + "\n").encode(), received)
    reports = [m for m in result.messages if isinstance(m, Report)]
    return sorted((msgspec.structs.replace(r, received_at=None) for r in reports), key=_time)


def _time(message: Report | Track) -> datetime:
    return message.time


def _tracks(reports: list[Report]) -> list[Track]:
    stage = TrackingStage(frame=AMSTERDAM, tracker=default_tracker(), confirmed_only=True)
    return [t for ts in track_stream(reports, stage, 1.0, ReplaySummary()) for t in ts]


def test_a_tracks_flag_is_the_latest_its_reports_gave() -> None:
    reports = _reports()
    said = [(r.time.timestamp(), r.on_ground) for r in reports if r.on_ground is not None]
    assert {flag for _, flag in said} == {True, False}
    assert any(r.on_ground is None for r in reports)  # velocity reports between positions
    tracks = _tracks(reports)
    assert len({t.track_id for t in tracks}) == 1
    times = [time_s for time_s, _ in said]
    for track in tracks:
        latest = bisect_right(times, track.time.timestamp()) - 1
        assert track.on_ground is (said[latest][1] if latest >= 0 else None), track.time
    assert {t.on_ground for t in tracks} == {True, False}


def test_the_flag_changes_no_number_of_the_tracker() -> None:
    reports = _reports()
    flagged = _tracks(reports)
    unflagged = _tracks([msgspec.structs.replace(r, on_ground=None) for r in reports])
    assert len(flagged) == len(unflagged) > 100
    assert all(t.on_ground is None for t in unflagged)
    for mine, theirs in zip(flagged, unflagged, strict=True):
        assert msgspec.structs.replace(mine, on_ground=None) == theirs
