"""One windowing module (`hotzone.runtime.windows`) for every command's tracker.

``hotzone track`` and ``hotzone ingest --track`` go through the same `TrackingWindows`
and must keep giving, on the same input, the tracks recorded below. They were first
recorded with the code from before the three ways into the tracker were folded into
one module (``main`` at 12393d0), and recorded again (2026-12) when the one-stream
commands took the bus pipeline's window rule (whole periods, a message at an end in the
next window) instead of anchoring their first window at the first message. The bus
pipeline (demo, serve, node) takes its clock ticks from the same `WindowClock`; its own
tests hold its outputs.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.runtime.windows import WindowClock
from hotzone.store import SQLiteStore
from hotzone.types import Track, from_json
from tests.fusion.test_conversion_vectorized import GOLDEN, SITES_YAML
from tests.runtime.test_live_tracking import _cat062_scan

#: (track messages, digest of `_summary`) of each command on each input, as recorded
#: (times made relative on 2026-12-07: the same tracks, whose digests had held the date).
BEFORE = {
    ("track", "cat062"): (112, "dde4aeb6838a7cf2"),
    ("ingest", "cat062"): (112, "dde4aeb6838a7cf2"),
    ("track", "cat048"): (89, "374e61d4d94b1b95"),
    ("ingest", "cat048"): (39, "07970f8c7b817367"),
}


def _summary(tracks: list[Track]) -> str:
    """A digest of what the windows decide: each track message's number, window time,
    status and state (to the centimetre), in order.

    Times are seconds after the first message's: a CAT062 file carries times of day only,
    which the decoder dates by the day they are read on (the nearest instant to now)."""
    first = tracks[0].time if tracks else None
    lines = [
        f"{t.track_number} {(t.time - first).total_seconds() if first else 0.0:.6f} {t.status} "
        + " ".join(f"{v:.2f}" for v in (*(t.enu_position_m or ()), *(t.enu_velocity_mps or ())))
        for t in tracks
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _cat062_feed(path: Path) -> None:
    start = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    with open(path, "wb") as stream:
        for scan in range(40):
            stream.write(_cat062_scan(start + timedelta(seconds=scan * 0.7), scan * 0.7))


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, list[str]]:
    """The arguments each input is read with."""
    feed = tmp_path / "feed062.ast"
    _cat062_feed(feed)
    sites = tmp_path / "sites.yaml"
    sites.write_text(SITES_YAML)
    capture = str(GOLDEN / "cat_034_048.pcap")
    return {
        "cat062": [str(feed), "--origin", "54.0,23.0"],
        "cat048": [capture, "--sensors", str(sites), "--origin", "45.6,14.1"],
    }


def _tracked(command: str, arguments: list[str], tmp_path: Path) -> list[Track]:
    source, *options = arguments
    tmp_path.mkdir(parents=True, exist_ok=True)
    if command == "track":
        out = tmp_path / "tracks.jsonl"
        assert main(["track", source, "--from", "asterix", *options, "--out", str(out)]) == 0
        tracks = [from_json(line) for line in out.read_bytes().splitlines()]
    else:
        store = tmp_path / "ingest.db"
        argv = ["ingest", "asterix", "--file", source, *options, "--track", "--store", str(store)]
        assert main(argv) == 0
        with SQLiteStore(store) as recorded:
            tracks = [stored.message for stored in recorded.replay()]
    return [track for track in tracks if isinstance(track, Track)]


@pytest.mark.parametrize(("command", "name"), sorted(BEFORE))
def test_track_and_ingest_track_give_the_tracks_they_gave_before(
    command: str, name: str, inputs: dict[str, list[str]], tmp_path: Path
) -> None:
    tracks = _tracked(command, inputs[name], tmp_path)
    assert (len(tracks), _summary(tracks)) == BEFORE[(command, name)]


def test_a_recorded_feed_in_time_order_gives_the_same_tracks_either_way(
    inputs: dict[str, list[str]], tmp_path: Path
) -> None:
    replayed = _tracked("track", inputs["cat062"], tmp_path / "track")
    ingested = _tracked("ingest", inputs["cat062"], tmp_path / "ingest")
    assert len(replayed) > 0
    assert ingested == replayed


def test_a_clock_ends_on_whole_periods_and_opens_the_next_at_the_end() -> None:
    clock = WindowClock(2.0)
    assert clock.advance(100.5) == []
    assert clock.open_end == 102.0
    assert clock.advance(102.0) == [102.0]  # at the end: the next window
    assert clock.advance(107.0) == [104.0, 106.0]
    clock.reset()
    assert clock.open_end is None


def test_a_window_must_be_positive() -> None:
    for period in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="window must be positive"):
            WindowClock(period)
