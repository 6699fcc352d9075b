"""WebSocket throughput and update latency of the COP at 2,000 track updates per second.

A live app (in-process bus) gets 2,000 track updates/s (1,000 tracks at 2 Hz) published on
the bus while a headless Debian Chromium page is logged in and drawing them. Each track's
time is its publication wall-clock time, so the page can tell how old what it shows is.
Prints, over the measured window (after a warm-up):

- the stream: messages and updates/s received, MB/s, and the coalescing ratio;
- latency publish -> arrival in the page, and publish -> drawn (the render that applied it);
- freshness: sampled every second, the share of tracks whose drawn state is under 1 s old;
- the page's main thread: gaps between animation frames, long tasks (> 50 ms), and the
  round trip of a call into the page (what a click waits for);
- with ``--profile``, where the page's main thread spends its time (CDP CPU profile);
- with ``--trace FILE``, a Chrome trace of the window (open it in chrome://tracing or
  Perfetto): what showed that WebGL frames and their read-back, not JavaScript, were the
  cost of drawing tracks as MapLibre layers with a software GPU.

    .venv/bin/python bench/cop.py [--seconds 20] [--rate 2000] [--tracks 1000] [--profile]
        [--trace FILE] [--query 'leader=300&alt=FL&speed=kt']

Not run by ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright
from tests.api.server import running_server
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

from hotzone.api.app import ApiConfig, create_app
from hotzone.bus import InProcessBus
from hotzone.runtime.routing import subject_for
from hotzone.types import GeoPoint, Track, TrackStatus, to_json

# Observes the page through its hooks (window.hz.onBatch / onRender) and its main thread.
PROBE = """
(() => {
  const probe = window.__probe = {
    recording: false, messages: 0, updates: 0, bytes: 0, received: [], drawn: [],
    frameGaps: [], longTasks: [], fresh: [], lastFrame: null, mapFrames: 0,
  };
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener('message', (event) => {
      if (probe.recording) probe.bytes += event.data.length;
    });
    return socket;
  };
  const hook = () => {
    if (!window.hz) { setTimeout(hook, 20); return; }
    window.hz.map.on('render', () => { if (probe.recording) probe.mapFrames += 1; });
    window.hz.onBatch = (updates) => {
      if (!probe.recording) return;
      const now = Date.now();
      probe.messages += 1;
      probe.updates += updates.length;
      for (const update of updates) {
        if (update.kind === 'track') probe.received.push(now - Date.parse(update.data.time));
      }
    };
    window.hz.onRender = (tracks) => {
      if (!probe.recording) return;
      const now = Date.now();
      for (const track of tracks) if (track) probe.drawn.push(now - Date.parse(track.time));
    };
  };
  hook();
  const frame = (at) => {
    if (probe.recording && probe.lastFrame !== null) probe.frameGaps.push(at - probe.lastFrame);
    probe.lastFrame = at;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new PerformanceObserver((list) => {
    if (!probe.recording) return;
    for (const entry of list.getEntries()) probe.longTasks.push(entry.duration);
  }).observe({ entryTypes: ['longtask'] });
  setInterval(() => {
    if (!probe.recording || !window.hz) return;
    const now = Date.now();
    let fresh = 0, total = 0;
    for (const track of window.hz.state.drawn.values()) {
      total += 1;
      if (now - Date.parse(track.time) < 1000) fresh += 1;
    }
    if (total) probe.fresh.push(fresh / total);
  }, 1000);
})();
"""


TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "toplevel",
    "blink",
    "cc",
    "gpu",
    "v8",
]


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def spread(values: list[float]) -> str:
    return (
        f"p50 {quantile(values, 0.5):6.0f}  p95 {quantile(values, 0.95):6.0f}  "
        f"max {quantile(values, 1.0):6.0f}"
    )


def print_profile(profile: dict[str, Any], seconds: float, top: int = 18) -> None:
    """Self time per function of a CDP CPU profile, largest first."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    intervals = profile["timeDeltas"]
    self_ms: Counter[str] = Counter()
    for sample, delta in zip(profile["samples"], intervals, strict=False):
        frame = nodes[sample]["callFrame"]
        url = frame["url"].rsplit("/", 1)[-1]
        name = frame["functionName"] or "(anonymous)"
        where = f"{url}:{frame['lineNumber'] + 1}" if url else ""
        self_ms[f"{name} {where}".strip()] += delta / 1000.0
    total = sum(self_ms.values())
    idle = self_ms.get("(idle)", 0.0)
    print(f"main thread busy             {(total - idle) / seconds / 10:.0f}% of the window")
    for name, spent in self_ms.most_common(top):
        if name != "(idle)":
            print(f"  {spent / seconds:7.1f} ms/s  {name[:90]}")


def measure(page: Page, seconds: float, profile: bool) -> dict[str, Any]:
    session = page.context.new_cdp_session(page) if profile else None
    if session is not None:
        session.send("Profiler.enable")
        session.send("Profiler.setSamplingInterval", {"interval": 500})
        session.send("Profiler.start")
    page.evaluate("window.__probe.recording = true")
    round_trips = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        asked = time.perf_counter()
        page.evaluate("1")
        round_trips.append((time.perf_counter() - asked) * 1000.0)
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    page.evaluate("window.__probe.recording = false")
    results: dict[str, Any] = page.evaluate("window.__probe")
    results["elapsed"] = elapsed
    results["round_trips"] = round_trips
    results["renders"] = page.evaluate("window.hz.state.renders")
    if session is not None:
        results["profile"] = session.send("Profiler.stop")["profile"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--rate", type=float, default=2000.0, help="track updates per second")
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="CPU profile of the page")
    parser.add_argument("--trace", type=Path, default=None, help="write a Chrome trace here")
    parser.add_argument(
        "--query",
        default="",
        help="the page's view settings, e.g. 'leader=300&alt=FL&speed=kt' (docs/cop.md)",
    )
    args = parser.parse_args()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    bus = InProcessBus()
    published: list[Any] = [0, 0.0]  # updates, seconds publishing
    apps: list[Any] = []
    total_seconds = args.warmup + args.seconds + 2.0

    async def publish() -> None:
        # Start once the page's stream is connected.
        while not apps or not apps[0].state.hotzone.hub.clients:
            await asyncio.sleep(0.05)
        # Each track is updated at rate/tracks Hz; the tracks are spread evenly over that
        # period (as scans of a rotating radar would be), in slices of 20 ms.
        period = args.tracks / args.rate
        slice_s = 0.02
        started = time.monotonic()
        number = 0
        while (elapsed := time.monotonic() - started) < total_seconds:
            # Whatever is due by now: a slow slice is caught up in the next, so the rate
            # printed is what the page was offered, or says the publisher fell behind.
            due = int(args.rate * (elapsed + slice_s)) - published[0]
            for _ in range(due):
                now = datetime.now(UTC)
                phase = elapsed / period
                track = Track(
                    track_id=f"B{number}",
                    track_number=number,
                    time=now,
                    status=TrackStatus.CONFIRMED,
                    position=GeoPoint(
                        lat_deg=53.6 + 0.9 * ((number * 37) % 100) / 100 + 0.0005 * phase,
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
                number = (number + 1) % args.tracks
            published[1] = time.monotonic() - started
            await asyncio.sleep(max(0.0, started + elapsed + slice_s - time.monotonic()))

    with tempfile.TemporaryDirectory() as directory:
        config = ApiConfig(store_path=Path(directory) / "bench.sqlite", scenario="suwalki-drones")
        app = create_app(config, bus=bus, background=publish)
        apps.append(app)
        with running_server(app) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(PROBE)
            page.goto(url + "/" + (f"?{args.query}" if args.query else ""))
            page.fill("#username", "observer")
            page.fill("#password", "observer-test")
            page.click("#login-button")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            time.sleep(args.warmup)
            if args.trace is not None:
                browser.start_tracing(page=page, path=str(args.trace), categories=TRACE_CATEGORIES)
            results = measure(page, args.seconds, args.profile)
            if args.trace is not None:
                browser.stop_tracing()
            rendered = page.evaluate("window.hz.renderedTrackCount()")
            browser.close()

    elapsed = results["elapsed"]
    updates, messages = results["updates"], results["messages"]
    rate = published[0] / max(published[1], 1e-9)
    print(f"tracks                       {args.tracks:,}")
    print(f"published track updates      {rate:,.0f}/s")
    print(f"page received messages       {messages / elapsed:.1f}/s")
    print(
        f"page received updates        {updates / elapsed:,.0f}/s "
        f"({rate and updates / elapsed / rate:.2f} of published: coalescing)"
    )
    print(f"page received data           {results['bytes'] / elapsed / 1e6:.2f} MB/s")
    print(f"page draws (state -> map)    {results['renders'] / (elapsed + args.warmup):.1f}/s")
    print(f"map frames painted           {results['mapFrames'] / elapsed:.1f}/s")
    print(f"track states drawn           {len(results['drawn']) / elapsed:,.0f}/s")
    print(f"latency publish->page ms     {spread(results['received'])}")
    print(f"latency publish->drawn ms    {spread(results['drawn'])}")
    fresh = results["fresh"] or [float("nan")]
    print(
        f"tracks drawn < 1 s old       mean {statistics.fmean(fresh):.2f}  worst {min(fresh):.2f}"
    )
    print(f"animation frame gap ms       {spread(results['frameGaps'])}")
    long_tasks = results["longTasks"]
    print(
        f"long tasks (>50 ms)          {len(long_tasks) / elapsed:.1f}/s, "
        f"{sum(long_tasks) / elapsed / 10:.0f}% of the time, "
        f"longest {max(long_tasks, default=0):.0f} ms"
    )
    print(f"call into the page ms        {spread(results['round_trips'])}")
    print(f"symbols drawn at the end     {rendered}")
    if "profile" in results:
        print_profile(results["profile"], elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
