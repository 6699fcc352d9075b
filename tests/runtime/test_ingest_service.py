"""`hotzone.runtime.ingest_service`: the service behind ``hotzone ingest``, run without
the command line.

The shutdown order is what makes a run whole: the tracker's last window is published
before the recorder is told to stop, so everything decoded and every track is recorded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotzone.geo import LocalFrame
from hotzone.runtime.federation_servers import free_port
from hotzone.runtime.ingest_service import (
    IngestSettings,
    IngestTransport,
    run_ingest,
    summary_lines,
)
from hotzone.runtime.windows import TrackingSettings
from hotzone.store import SQLiteStore
from hotzone.types import Report, Track
from tests.runtime.test_tracking_windows import _cat062_feed


def test_a_recorded_feed_is_decoded_tracked_and_recorded_whole(tmp_path: Path) -> None:
    feed, store = tmp_path / "feed062.ast", tmp_path / "ingest.db"
    _cat062_feed(feed)
    settings = IngestSettings(
        format="asterix",
        transport=IngestTransport(file=feed),
        store=str(store),
        tracking=TrackingSettings(origin=LocalFrame(54.0, 23.0, 0.0), sector="feed"),
    )
    said: list[str] = []
    counts = asyncio.run(run_ingest(settings, say=said.append))

    with SQLiteStore(store) as recorded:
        messages = [stored.message for stored in recorded.replay()]
    reports = [m for m in messages if isinstance(m, Report)]
    tracks = [m for m in messages if isinstance(m, Track)]
    assert counts["messages"] == len(reports) == 160
    assert counts["track_messages"] == len(tracks) > 0
    # The last window's tracks were recorded too: nothing published was lost at the stop.
    assert counts["recorded"] == len(reports) + len(tracks) == len(messages)
    assert {track.sector for track in tracks} == {"feed"}
    assert said == []  # a file is read, not listened on
    lines = summary_lines("asterix", counts)
    assert lines[0] == f"asterix: 160 messages, 0 dead letters, {len(messages)} recorded"
    assert lines[-1].startswith(f"tracking: {len(tracks)} track messages")


def test_the_counters_are_kept_when_the_run_is_cut_short(tmp_path: Path) -> None:
    """A listening feed runs until its duration; the counters dict given is filled."""
    settings = IngestSettings(
        format="sbs",
        transport=IngestTransport(listen_tcp=f"127.0.0.1:{free_port()}"),
        duration_s=0.2,
    )
    counts: dict[str, int] = {}
    asyncio.run(run_ingest(settings, counts=counts))
    assert counts["messages"] == 0
    assert counts["recorded"] == 0
    assert "track_messages" not in counts
    assert summary_lines("sbs", counts) == ["sbs: 0 messages, 0 dead letters, 0 recorded"]
