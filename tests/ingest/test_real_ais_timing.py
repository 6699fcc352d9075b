"""Real AIS with real timing from hundreds of vessels (issue 15, item 6).

`tests/golden/ais_uscg_gulf/uscg_nais_2016-07-28_galveston.nmea` (SOURCE.md there): the
U.S. Coast Guard's national AIS feed (NAIS) as logged at midnight UTC on 28 July 2016,
every sentence with its NMEA 4.0 tag block (``c:`` reception time, ``s:`` receiving
station, ``g:`` sentence groups pairing each ``!SAVDM`` with the station's ``$SAVSI``
signal report), cut to the 660 vessels seen between Freeport, Galveston, Houston and
Sabine Pass (28.5-30.2 N, 95.8-93.5 W). Several stations hear the same transmission, so
most position reports arrive two to five times, from different receivers, a fraction of
a second apart: one vessel must still be one track.

The log covers 32 s of reception (23:59:58-00:00:31; ships stamp the second of their
fix, so report times run from 23:59:33): long enough for vessels under way (class A:
every 2-10 s) to be confirmed and tracked, too short to judge continuity over gaps (the
FLARM day in `test_real_flarm_sbs.py` does that).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np

from hotzone.geo import LocalFrame
from hotzone.ingest.ais import AisDecoder
from hotzone.types import Report, Track

from .real_flarm import score, track_windows

GOLDEN = (
    Path(__file__).resolve().parents[1]
    / "golden"
    / "ais_uscg_gulf"
    / "uscg_nais_2016-07-28_galveston.nmea"
)
GALVESTON = LocalFrame(29.3, -94.7, 0.0)
MATCH_M = 200.0
RECENT_S = 60.0
"""A track state is the vessel whose latest report (at most ``RECENT_S`` old) is nearest,
within ``MATCH_M``. Fusion does not yet put the MMSI on tracks (docs/assess.md, known
gaps), so the vessel a track follows is found by position. A silent cooperative track
is shown for a minute after its last report (`RevisitDeleter.identity_shown_min_s`), and
a moored vessel reports every 3 min: with a 30 s horizon, a track shown 30-60 s after
its own vessel's report was given the neighbour moored alongside that had reported
since (11 "tracks following two vessels", whatever the tracker: 2 with this horizon,
for the tracker of today and for the one that showed such a track 10 s)."""


def _with_vessels(
    reports: list[Report], windows: list[tuple[float, list[Track]]]
) -> list[tuple[float, list[Track]]]:
    """The windows' tracks, each with the MMSI of the vessel it is on (or None)."""
    mmsis = np.array([r.mmsi for r in reports])
    times = np.array([r.time.timestamp() for r in reports])
    enu = GALVESTON.geodetic_to_enu(
        np.array([r.position.lat_deg for r in reports]),
        np.array([r.position.lon_deg for r in reports]),
        np.zeros(len(reports)),
    )[:, :2]
    labelled = []
    for end, tracks in windows:
        recent = (times <= end) & (times > end - RECENT_S)
        latest: dict[int, int] = {}
        for index in np.flatnonzero(recent):
            latest[int(mmsis[index])] = int(index)  # reports are in time order
        if not tracks or not latest:
            labelled.append((end, [msgspec.structs.replace(t, mmsi=None) for t in tracks]))
            continue
        vessel_rows = np.array(list(latest.values()))
        vessel_xy = enu[vessel_rows]
        out = []
        for track in tracks:
            distance = np.hypot(*(vessel_xy - np.array(track.enu_position_m[:2])).T)
            nearest = int(np.argmin(distance))
            found = int(mmsis[vessel_rows[nearest]]) if distance[nearest] <= MATCH_M else None
            out.append(msgspec.structs.replace(track, mmsi=found))
        labelled.append((end, out))
    return labelled


def _one_vessel_per_track(
    windows: list[tuple[float, list[Track]]],
) -> tuple[list[tuple[float, list[Track]]], int]:
    """Each track labelled with the vessel it is nearest to most often; and the tracks
    that follow two vessels (the second for at least a quarter of the track's matched
    windows: a merge, not a moment nearer a neighbour moored alongside)."""
    votes: dict[int, Counter[int]] = {}
    for _, tracks in windows:
        for track in tracks:
            if track.mmsi is not None:
                votes.setdefault(track.track_number, Counter())[track.mmsi] += 1
    vessel = {number: count.most_common(1)[0][0] for number, count in votes.items()}
    merged = sum(
        1
        for count in votes.values()
        if len(count) > 1 and count.most_common(2)[1][1] >= 0.25 * sum(count.values())
    )
    relabelled = [
        (end, [msgspec.structs.replace(t, mmsi=vessel.get(t.track_number)) for t in tracks])
        for end, tracks in windows
    ]
    return relabelled, merged


def _reports() -> tuple[list[Report], Counter[str]]:
    decoder = AisDecoder()
    received = datetime(2030, 1, 1, tzinfo=UTC)
    result = decoder.feed(GOLDEN.read_bytes(), received)
    result.extend(decoder.flush(received))
    refused = Counter(str(r.reason).split(":")[0] for r in result.rejected)
    reports = sorted(
        (
            msgspec.structs.replace(m, received_at=None)
            for m in result.messages
            if isinstance(m, Report)
        ),
        key=lambda m: m.time,
    )
    return reports, refused


def test_the_real_feed_decodes_with_its_tag_block_times() -> None:
    reports, refused = _reports()
    vessels = {r.mmsi for r in reports}
    times = sorted(r.time for r in reports)
    print(
        f"\nUSCG NAIS Galveston cut: {len(reports)} reports from {len(vessels)} MMSIs, "
        f"{times[0]:%H:%M:%S}-{times[-1]:%H:%M:%S}; refused {dict(refused)}"
    )
    assert len(vessels) >= 600
    assert times[0] >= datetime(2016, 7, 27, 23, 59, 0, tzinfo=UTC)
    assert times[-1] <= datetime(2016, 7, 28, 0, 1, 0, tzinfo=UTC)
    # Only the receivers' own $..VSI signal reports are refused (not AIS sentences; the
    # decoder counts and dead-letters them), never an !..VDM sentence of the feed.
    assert set(refused) <= {"not an AIS sentence"}, refused


def test_hundreds_of_real_vessels_heard_by_several_stations_keep_one_track_each() -> None:
    reports, _ = _reports()
    reported: dict[str, list[float]] = {}
    for report in reports:
        if report.mmsi is not None:
            reported.setdefault(str(report.mmsi), []).append(report.time.timestamp())
    windows, merged = _one_vessel_per_track(
        _with_vessels(reports, track_windows(reports, frame=GALVESTON))
    )
    moving = score(reported, windows, key="mmsi", min_visit_s=10.0)
    every = score(reported, windows, key="mmsi")
    print(f"\nUSCG NAIS Galveston, every vessel: {every.summary()}")
    print(f"  vessels reported over >= 10 s: {moving.summary()}")
    print(f"  least covered (mmsi, length s, coverage): {moving.worst}")
    print(f"  tracks following two vessels: {merged}")
    assert merged <= 0.01 * every.visits
    assert every.tracks <= 1.05 * every.visits
    # Confirmation takes the second report: a vessel reporting every 10 s over 20 s is
    # confirmed for half of it. So the share is judged on coverage after confirmation
    # elsewhere (the FLARM day); here, no vessel with two reports is left without track.
    assert moving.well_tracked >= 0.75 * moving.visits
    untracked = [c for c in moving.coverage if c == 0.0]
    assert len(untracked) <= 0.02 * moving.visits
