"""``bench/ingest_udp.py --track --on-arrival --replay``: the live column path fed the
bench's datagrams in one process, as the command steps them, for profiles and
before/after comparisons that the UDP bench's noise hides (docs/ingest/limits.md).

Its digest is what makes it a check of a change's bytes: it must be the digest of the
Track messages the live path publishes for the same datagrams, stepped alike.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from bench.ingest_udp import (
    REPLAY_START_S,
    SCENE_SEED,
    make_scene,
    replay_rate,
    sensors_yaml,
    stamp,
)

from hotzone.bus import InProcessBus
from hotzone.ingest.asterix import AsterixDecoder, SiteTable
from hotzone.runtime.live_tracking import (
    LiveTrackingService,
    LiveTrackingSettings,
    take_plot_datagram,
)
from hotzone.runtime.sources import SourcePublisher
from hotzone.runtime.windows import TrackingSettings

REPOSITORY = Path(__file__).resolve().parents[2]
RATE = 400.0
SECONDS = 6.0
RADARS = 4


def _arguments(every: int) -> argparse.Namespace:
    return argparse.Namespace(
        seconds=SECONDS,
        radars=RADARS,
        plots_per_datagram=100,
        window=0.05,
        books=1.0,
        every=every,
    )


async def _published_digest(every: int) -> tuple[str, int]:
    """The SHA-256 of the Track messages the live column path publishes for the bench's
    datagrams (each received when sent), stepped after every ``every`` datagrams."""
    bus = InProcessBus()
    tracks_out = await bus.subscribe("hz.PL.trk.>", 1 << 20)
    sites = SiteTable.from_mapping(yaml.safe_load(sensors_yaml(RADARS)))
    publisher = SourcePublisher(bus, "PL")
    decoder = AsterixDecoder(sites, framing="datagram")
    settings = TrackingSettings(window_s=0.05, arrivals=True)
    tracking = LiveTrackingService(bus, "PL", LiveTrackingSettings(settings, from_bus=False))
    ready = asyncio.Event()
    runner = asyncio.create_task(tracking.run(ready))
    await ready.wait()
    datagrams = stamp(make_scene(RATE, SECONDS, RADARS, 100, SCENE_SEED), REPLAY_START_S)
    for index, (when, _, data) in enumerate(datagrams):
        received = datetime.fromtimestamp(REPLAY_START_S + when, tz=UTC)
        await take_plot_datagram(publisher, decoder, tracking, data, received)
        if (index + 1) % every == 0 or index + 1 == len(datagrams):
            await tracking.step_arrived()
    tracking.stop()
    await runner
    digest, count = hashlib.sha256(), 0
    while (message := await tracks_out.next(timeout_s=0)) is not None:
        digest.update(message.payload + b"\n")
        count += 1
    return digest.hexdigest(), count


def test_the_replay_digests_the_track_messages_the_live_path_publishes() -> None:
    for every in (1, 4):
        figures = replay_rate(_arguments(every), RATE)
        digest, count = asyncio.run(_published_digest(every))
        assert count > 100  # confirmed tracks were published
        assert figures["track_messages"] == count
        assert figures["sha256"] == digest
    # Stepped otherwise, the steps take other plots together: other bytes.
    assert replay_rate(_arguments(1), RATE)["sha256"] != replay_rate(_arguments(4), RATE)["sha256"]


def test_the_virtual_clock_times_every_plot_after_the_first_third() -> None:
    figures = replay_rate(_arguments(0), RATE)
    assert figures["track_messages"] > 100
    assert figures["books"] >= SECONDS - 1
    # A plot waits at least its own step and at most the run.
    assert 0.0 < float(figures["p50_ms"]) <= float(figures["p99_ms"]) < SECONDS * 1e3


def test_the_documented_replay_commands_run_as_written() -> None:
    """docs/ingest/limits.md's two replay lines, run verbatim (the venv's interpreter for
    ``.venv/bin/python``): each prints its row, a step after every third datagram without
    latencies, on the virtual clock with them, each with the Track messages' digest."""
    document = (REPOSITORY / "docs" / "ingest" / "limits.md").read_text(encoding="utf-8")
    lines = [
        line
        for block in re.findall(r"^```\n(.*?)^```", document, re.S | re.M)
        for line in block.splitlines()
        if "bench/ingest_udp.py" in line and "--replay" in line
    ]
    assert len(lines) == 2, lines
    for line in lines:
        words = shlex.split(line)
        assert words[0] == ".venv/bin/python", line
        result = subprocess.run(
            [sys.executable, *words[1:]],
            cwd=REPOSITORY,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        row = result.stdout.strip().splitlines()[-1]
        # reports/s, steps, CPU s, step p50/p99/max, books (median), track-msgs, p50/p99, sha256
        matched = re.match(
            r"\s*8000\s+(\d+)\s+[\d.]+\s+.*?\s+(\d+)\s+(-|\d+/\s*\d+)\s+([0-9a-f]{16})$", row
        )
        assert matched, row
        steps, track_messages, latencies = (int(matched[1]), int(matched[2]), matched[3])
        assert steps > 100 and track_messages > 10_000, row
        assert (latencies == "-") == ("--every 3" in line), row
