"""WebSocket throughput and update latency of the COP at 2,000 track updates per second.

A live app (in-process bus) gets 2,000 track updates/s (500 tracks at 4 Hz) published on
the bus while a headless Debian Chromium page is logged in and drawing them. Prints what
the page received: updates/s, batches/s, coalescing, and the latency from publication to
arrival in the page (each track's time is its publication wall-clock time).

    .venv/bin/python bench/cop.py [--seconds 20] [--rate 2000] [--tracks 500]

Not run by ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright
from tests.api.server import running_server
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

from hotzone.api.app import ApiConfig, create_app
from hotzone.bus import InProcessBus
from hotzone.runtime.routing import subject_for
from hotzone.types import GeoPoint, Track, TrackStatus, to_json

# Records every stream message's arrival and the age of its newest track update.
RECORDER = """
(() => {
  const Native = window.WebSocket;
  window.__cop = {messages: 0, updates: 0, latencies: []};
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(event.data);
      if (message.type !== 'batch') return;
      const now = Date.now();
      window.__cop.messages += 1;
      window.__cop.updates += message.updates.length;
      for (const update of message.updates) {
        if (update.kind !== 'track') continue;
        window.__cop.latencies.push(now - Date.parse(update.data.time));
      }
    });
    return socket;
  };
})();
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="track updates per second")
    parser.add_argument("--tracks", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    bus = InProcessBus()
    published = [0]
    apps = []

    async def publish() -> None:
        # Start once the page's stream is connected.
        while not apps or not apps[0].state.hotzone.hub.clients:
            await asyncio.sleep(0.05)
        period = args.tracks / args.rate  # one pass over every track
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            pass_start = time.monotonic()
            for number in range(args.tracks):
                now = datetime.now(UTC)
                track = Track(
                    track_id=f"B{number}",
                    track_number=number,
                    time=now,
                    status=TrackStatus.CONFIRMED,
                    position=GeoPoint(
                        lat_deg=53.6 + 0.9 * ((number * 37) % 100) / 100,
                        lon_deg=22.5 + 1.7 * ((number * 61) % 100) / 100,
                        height_m=500.0,
                    ),
                    sector="suwalki",
                    enu_position_m=(0.0, 0.0, 0.0),
                    enu_velocity_mps=(30.0, 10.0, 0.0),
                    covariance=((1.0,),),
                    quality=0.9,
                )
                await bus.publish(subject_for(track, "PL"), to_json(track))
                published[0] += 1
            await asyncio.sleep(max(0.0, period - (time.monotonic() - pass_start)))

    with tempfile.TemporaryDirectory() as directory:
        config = ApiConfig(store_path=Path(directory) / "bench.sqlite", scenario="suwalki-drones")
        app = create_app(config, bus=bus, background=publish)
        apps.append(app)
        with running_server(app) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(RECORDER)
            page.goto(url + "/")
            page.fill("#username", "observer")
            page.fill("#password", "observer-test")
            page.click("#login-button")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            loop_started = time.monotonic()
            time.sleep(args.seconds + 1.0)
            stats = page.evaluate("window.__cop")
            rendered = page.evaluate("window.hz.renderedTrackCount()")
            elapsed = time.monotonic() - loop_started
            browser.close()
    latencies = sorted(stats["latencies"])

    def pick(quantile: float) -> float:
        if not latencies:
            return float("nan")
        return float(latencies[min(len(latencies) - 1, int(quantile * len(latencies)))])

    rate = published[0] / args.seconds
    print(f"published track updates      {published[0]:,} ({rate:,.0f}/s)")
    updates, batches = stats["updates"], stats["messages"]
    print(f"page received updates        {updates:,} ({updates / elapsed:,.0f}/s)")
    print(f"page received batches        {batches:,} ({batches / elapsed:.1f}/s)")
    print(f"received / published         {updates / max(1, published[0]):.3f} (coalescing)")
    print(
        f"latency publish->page ms     p50 {pick(0.5):.0f}  p95 {pick(0.95):.0f}  "
        f"max {pick(1.0):.0f}"
    )
    print(f"symbols drawn at the end     {rendered}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
