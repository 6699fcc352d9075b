"""A track carries the latest ground flag its reports gave (`Track.on_ground`) while that
report is at most `ON_GROUND_MAX_AGE_S` old, and the flag changes nothing else the tracker
computes (issue 15, item 4)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime

import msgspec

from hotzone.fusion.stage import ON_GROUND_MAX_AGE_S, TrackingStage, default_tracker
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


def _expected_flags(reports: list[Report], tracks: list[Track]) -> list[bool | None]:
    """Each track's flag by the rule: the latest flag said at or before its time, None
    when none was said or the latest is older than `ON_GROUND_MAX_AGE_S`."""
    said = [(r.time.timestamp(), r.on_ground) for r in reports if r.on_ground is not None]
    times = [time_s for time_s, _ in said]
    expected: list[bool | None] = []
    for track in tracks:
        now = track.time.timestamp()
        latest = bisect_right(times, now) - 1
        fresh = latest >= 0 and now - said[latest][0] <= ON_GROUND_MAX_AGE_S
        expected.append(said[latest][1] if fresh else None)
    return expected


def test_a_tracks_flag_is_the_latest_its_reports_gave() -> None:
    reports = _reports()
    assert {r.on_ground for r in reports} == {True, False, None}  # velocity reports: None
    tracks = _tracks(reports)
    assert len({t.track_id for t in tracks}) == 1
    assert [t.on_ground for t in tracks] == _expected_flags(reports, tracks)
    assert {t.on_ground for t in tracks} == {True, False}


def test_a_flag_no_report_repeats_expires() -> None:
    """After touchdown the feed stops saying (as a track kept by radar alone would): the
    track keeps "on the ground" for `ON_GROUND_MAX_AGE_S`, then says nothing; it never
    kept the flag for the rest of its life."""
    reports = _reports()
    silent_from = reports[0].time.timestamp() + 300.0 + 120.0  # two minutes after touchdown
    muted = [
        msgspec.structs.replace(r, on_ground=None) if r.time.timestamp() >= silent_from else r
        for r in reports
    ]
    tracks = _tracks(muted)
    assert len({t.track_id for t in tracks}) == 1
    assert [t.on_ground for t in tracks] == _expected_flags(muted, tracks)
    before = [t.on_ground for t in tracks if t.time.timestamp() < silent_from]
    long_after = [
        t.on_ground for t in tracks if t.time.timestamp() > silent_from + ON_GROUND_MAX_AGE_S + 1.0
    ]
    assert before[-1] is True and len(long_after) > 100
    assert set(long_after) == {None}


def test_the_flag_changes_no_number_of_the_tracker() -> None:
    reports = _reports()
    flagged = _tracks(reports)
    unflagged = _tracks([msgspec.structs.replace(r, on_ground=None) for r in reports])
    assert len(flagged) == len(unflagged) > 100
    assert all(t.on_ground is None for t in unflagged)
    for mine, theirs in zip(flagged, unflagged, strict=True):
        assert msgspec.structs.replace(mine, on_ground=None) == theirs
