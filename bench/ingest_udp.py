"""Receiving ASTERIX over UDP: the highest rate without loss, before and after issue 17.

Not run by ``make test``. A sender paces CAT062 datagrams (195 bytes, 2 reports each) at
increasing rates for ``--seconds`` to a real receiver on 127.0.0.1, then the receiver runs
2 s more to catch up. Two receivers, measured in the same run:

- ``in-loop``: what ``hotzone ingest asterix --udp`` did before issue 17 (the socket read
  by the asyncio loop that also decodes and publishes, the kernel's default receive
  buffer), kept here as it was: a datagram endpoint queueing into the loop, feeding a
  `SourcePublisher`;
- ``now``: ``hotzone ingest asterix --udp`` (`hotzone.runtime.udp_receiver`: a thread
  empties a 32 MiB socket buffer into a backlog the loop decodes).

For each rate it prints the datagrams sent, decoded and lost (lost = sent - decoded - left
undecoded at the stop: what the kernel or a queue dropped) and what the receiver counted
as dropped, which, now, must equal what was lost. "Lossless" is no datagram
lost; "sustained" is lossless with nothing left undecoded 2 s after the sender stopped.

    .venv/bin/python bench/ingest_udp.py --seconds 5

``--track`` measures ``hotzone ingest asterix --udp ... --track`` instead (`track_main`):
a moving scene of aircraft seen by ``--radars`` rotating radars (4 s, Pd 0.9, 2 % clutter)
is made for each rate (aircraft = rate x 4 s / (radars x 0.9)) and sent in real time as
CAT048, a data block a datagram per sector of 1/32 rotation (at most
``--plots-per-datagram`` plots a block), sent when the beam has swept the sector (the
plots' times of day are when they were measured in this run). The receiver is
`run_ingest` (what the command runs) in a process of its own, with a subscriber to
``hz.PL.trk.>`` on its bus, which notes when it takes the first track message of each
window. Printed per rate: reports sent, decoded (datagrams), taken in by the tracker,
lost, counted as dropped, and the report-to-track latency, p50 and p99: for each plot,
the moment the subscriber took the first track message of the window step that takes
the plot (windows of ``--window`` s of sending time, which is its reception time within the
receiving thread's lag, each stepped ``--hold`` s before its end: a datagram sent after
that is taken by the next window's step) minus the moment its datagram was sent; the last
window, closed by the stop rather than by traffic, is left out. The tracker's count of
reports that came out of sequence is printed too, and the receiver's full garbage
collections (how many, and the longest: a pause every datagram waiting waits through).

    .venv/bin/python bench/ingest_udp.py --track --seconds 60 --rates 2000,10000,50000

``--on-arrival`` measures the live mode (``ingest ... --track --on-arrival``): the tracker
stepped on what has arrived whenever no datagram waits (``--window`` s of it at most),
each step publishing the tracks it updated. A plot's latency is then the moment the
subscriber took the first track message of the step that took its datagram (the first
step, at or after the datagram's reception, that published: a step's time is the latest
reception time it took, noted for each datagram by the receiving thread) minus the
moment the datagram was sent; datagrams received before any track was published are
not timed.

    .venv/bin/python bench/ingest_udp.py --track --on-arrival --window 0.05 --seconds 30

``--replay`` (with ``--track --on-arrival``) sends nothing: the scene's datagrams are fed
to the live column path in this process (`replay_main`), each received at its sending
time, stepped after every ``--every`` datagrams, or, ``--every 0``, on a virtual clock
(each datagram arriving at its sending time, each decoding and step taking the CPU time
it took, stepped whenever no datagram waits, as the command steps). Printed per rate: the
steps, the CPU, a step's CPU at the median, 99th percentile and most (the steps after
the first third, without their books), the books (how many, their median CPU), the track
messages and the SHA-256 of all of them (the same bytes before and after a change:
stepped after every ``--every`` datagrams, what a step takes does not depend on the
CPU), and, on the virtual clock, each plot's latency (the
end of the step that took its datagram, before the books, minus its sending time). The
UDP bench's figures move with the host's load; these move with the CPU time only.

    .venv/bin/python bench/ingest_udp.py --track --on-arrival --replay --every 3 --rates 8000
"""

from __future__ import annotations

import argparse
import json
import math
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hotzone.commands.ingest import DEFAULT_HOLD_S
from hotzone.geo.frames import LocalFrame, geodetic_to_ecef

GOLDEN = Path(__file__).parents[1] / "tests" / "golden"
REPORTS_PER_DATAGRAM = 2
CATCH_UP_S = 2.0
STARTUP_WAIT_S = 60.0

IN_LOOP_RECEIVER = """
import asyncio, contextlib, sys
from hotzone.bus import InProcessBus
from hotzone.ingest.base import DecoderOptions
from hotzone.ingest.registry import decoder_factories
from hotzone.runtime.sources import SourcePublisher

class Queueing(asyncio.DatagramProtocol):
    def __init__(self, queue):
        self.queue, self.dropped = queue, 0

    def datagram_received(self, data, addr):
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.dropped += 1

async def chunks(port, protocol):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: protocol, local_addr=("127.0.0.1", port))
    print("receiving datagrams", flush=True)
    try:
        while True:
            yield await protocol.queue.get()
    finally:
        transport.close()

async def main(port, duration):
    publisher = SourcePublisher(InProcessBus(), "PL")
    decoder = decoder_factories()["asterix"](DecoderOptions(framing="datagram"))
    protocol = Queueing(asyncio.Queue(maxsize=65536))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(publisher.pump(decoder, chunks(port, protocol)), duration)
    print(f"decoded {publisher.counters.chunks} queue-dropped {protocol.dropped}", flush=True)

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def send_paced(port: int, rate: float, seconds: float, datagram: bytes) -> int:
    """Send ``rate`` datagrams a second for ``seconds``, in 1 ms slices; how many were sent."""
    sent = 0
    start = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                sender.sendto(datagram, ("127.0.0.1", port))
                sent += 1
            time.sleep(0.0005)
    return sent


def run_receiver(mode: str, rate: float, seconds: float, datagram: bytes) -> dict[str, int]:
    port = free_udp_port()
    duration = str(seconds + CATCH_UP_S + 1.0)
    if mode == "in-loop":
        command = [sys.executable, "-c", IN_LOOP_RECEIVER, str(port), duration]
    else:
        command = [sys.executable, "-m", "hotzone.cli", "ingest", "asterix", "--udp"]
        command += [f"127.0.0.1:{port}", "--duration", duration]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_WAIT_S
    while "receiving datagrams" not in process.stdout.readline():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{mode} receiver did not start")
    sent = send_paced(port, rate, seconds, datagram)
    output, _ = process.communicate(timeout=STARTUP_WAIT_S + seconds)
    if mode == "in-loop":
        found = re.search(r"decoded (\d+) queue-dropped (\d+)", output)
        assert found is not None, output
        decoded, counted = int(found.group(1)), int(found.group(2))
        left = 0
    else:
        found = re.search(
            r"(\d+) datagrams received, (\d+) decoded, (\d+) left undecoded at the stop; "
            r"dropped: (\d+) by the kernel .*, (\d+) by the receiver",
            output,
        )
        assert found is not None, output
        _, decoded, left, by_kernel, by_receiver = map(int, found.groups())
        counted = by_kernel + by_receiver
    return {"sent": sent, "decoded": decoded, "left": left, "counted_drops": counted}


TRACK_RECEIVER = """
import asyncio, gc, json, sys, time
from pathlib import Path
from hotzone.bus import InProcessBus
from hotzone.ingest.base import DecoderOptions
from hotzone.runtime import event_loop, udp_receiver
from hotzone.runtime.ingest_service import IngestSettings, IngestTransport, run_ingest
from hotzone.runtime.windows import TrackingSettings

async def main(port, duration, sensors, window, hold, arrivals, books):
    bus = InProcessBus()
    # When the receiving thread took each datagram: the arrival steps' times are these.
    received = []
    plain = udp_receiver.UdpReceiver.timed_datagrams

    async def timed_datagrams(self):
        async for item in plain(self):
            received.append(item[0])
            yield item

    udp_receiver.UdpReceiver.timed_datagrams = timed_datagrams
    # The receiver's full garbage collections: how many, and how long each paused it.
    full_collections, collecting = [], [0.0]

    def timed_collection(phase, info):
        if info["generation"] == 2:
            if phase == "start":
                collecting[0] = time.perf_counter()
            else:
                full_collections.append(time.perf_counter() - collecting[0])

    gc.callbacks.append(timed_collection)
    subscription = await bus.subscribe("hz.PL.trk.>", 1 << 24)
    first_taken, taken, done = {}, [0], asyncio.Event()

    async def watch():
        # The page's stream, as cheap as it can be: the window of each track message
        # (its time) and when the first of that window was taken.
        while True:
            batch = await subscription.next_batch(65536, timeout_s=0.2)
            now = time.time()
            if not batch and done.is_set():
                return
            for message in batch:
                payload = message.payload
                start = payload.find(b'"time":"') + 8
                key = payload[start : payload.find(b'"', start)].decode()
                if key not in first_taken:
                    first_taken[key] = now
            taken[0] += len(batch)

    watcher = asyncio.create_task(watch())
    settings = IngestSettings(
        format="asterix",
        transport=IngestTransport(udp=f"127.0.0.1:{port}"),
        decoder_options=DecoderOptions(sensors_file=Path(sensors)),
        duration_s=duration,
        # The live mode's settings are given only when asked: code before it has none.
        tracking=TrackingSettings(
            window_s=window,
            hold_s=hold,
            **({"arrivals": True, "books_s": books} if arrivals else {}),
        ),
    )
    started = time.process_time()
    counts = await run_ingest(settings, bus=bus, say=lambda line: print(line, flush=True))
    cpu = time.process_time() - started
    done.set()
    await watcher
    print("RESULT " + json.dumps(
        {"counts": counts, "windows": first_taken, "track_messages": taken[0], "cpu_s": cpu,
         "received": received, "full_collections": full_collections}
    ), flush=True)

port, duration, sensors, window, hold, arrivals, books = sys.argv[1:8]
event_loop.run(
    main(int(port), float(duration), sensors, float(window), float(hold), arrivals == "1",
         float(books)),
    use_uvloop=False,
)
"""

#: The scene of ``--track``: radars around this point, aircraft within 150 km of it.
SCENE_CENTRE = (54.07, 22.88)
RADAR_PERIOD_S = 4.0
RADAR_HEIGHT_M = 200.0
SCENE_SEED = 17
#: A radar's data block: the plots of 1/32 of a rotation.
SECTOR_S = RADAR_PERIOD_S / 32
DETECTION_PROBABILITY = 0.9
METRES_PER_NM = 1852.0
RECORD = np.dtype(
    [
        ("fspec", "u1"),  # 010 140 020 040 090
        ("sac", "u1"),
        ("sic", "u1"),
        ("time_of_day", "u1", 3),
        ("report_type", "u1"),
        ("rho", ">u2"),
        ("theta", ">u2"),
        ("flight_level", ">u2"),
    ]
)


def radar_sites(radars: int) -> list[tuple[int, int, float, float]]:
    """(SAC, SIC, lat, lon) of each radar: on a 60 km circle around the centre."""
    sites = []
    for index in range(radars):
        bearing = 2 * math.pi * index / radars
        lat = SCENE_CENTRE[0] + 60_000.0 * math.cos(bearing) / 111_320.0
        lon = SCENE_CENTRE[1] + 60_000.0 * math.sin(bearing) / (
            111_320.0 * math.cos(math.radians(SCENE_CENTRE[0]))
        )
        sites.append((25, 10 + index, lat, lon))
    return sites


def sensors_yaml(radars: int) -> str:
    return "".join(
        f'"{sac}/{sic}": {{lat_deg: {lat:.6f}, lon_deg: {lon:.6f}, height_m: {RADAR_HEIGHT_M}, '
        f"sensor_id: radar{sic}, range_sigma_m: 60.0, azimuth_sigma_deg: 0.1, "
        f"rotation_period_s: {RADAR_PERIOD_S}}}\n"
        for sac, sic, lat, lon in radar_sites(radars)
    )


@dataclass(frozen=True)
class SceneAircraft:
    """The aircraft of ``--track``'s scene: each flies a straight line at its own speed
    and constant height; its (east, north) is in the tangent plane at `SCENE_CENTRE`."""

    start: np.ndarray
    """(n, 2) east, north metres at the scene's start."""
    velocity: np.ndarray
    """(n, 2) metres a second."""
    height_m: np.ndarray

    def ecef(self, times: np.ndarray) -> np.ndarray:
        """(n, 3) ECEF metres of each aircraft at its time (the tangent plane's point
        at its height above the ellipsoid)."""
        plane = np.zeros((len(self.start), 3))
        plane[:, :2] = self.start + times[:, None] * self.velocity
        lat, lon, _ = LocalFrame(*SCENE_CENTRE).enu_to_geodetic(plane)
        return np.stack(geodetic_to_ecef(lat, lon, self.height_m), axis=-1)


def scene_aircraft(rate: float, radars: int, rng: np.random.Generator) -> SceneAircraft:
    """As many aircraft as ``radars`` see ``rate`` plots a second of (Pd 0.9, 2 % clutter),
    within 150 km of the centre."""
    aircraft = max(1, round(rate * RADAR_PERIOD_S / (radars * DETECTION_PROBABILITY * 1.02)))
    radius = 150_000.0 * np.sqrt(rng.uniform(0.0, 1.0, aircraft))
    bearing = rng.uniform(0.0, 2 * np.pi, aircraft)
    start = np.stack([radius * np.sin(bearing), radius * np.cos(bearing)], axis=-1)
    heading = rng.uniform(0.0, 2 * np.pi, aircraft)
    speed = rng.uniform(60.0, 250.0, aircraft)
    velocity = speed[:, None] * np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    height = rng.uniform(1_000.0, 11_000.0, aircraft)
    return SceneAircraft(start, velocity, height)


def make_scene(
    rate: float, seconds: float, radars: int, per_datagram: int, seed: int = SCENE_SEED
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The datagrams of ``seconds`` of the scene, in sending order: (sending time from the
    start, records, their plots' times from the start); `stamp` writes the times of day
    once the start is known. Its aircraft are `scene_aircraft` of a generator of ``seed``.

    Each plot is where its aircraft was when the beam swept it, measured from its radar's
    own site and north (the aircraft's ECEF position in the radar's local frame), so the
    radars agree within their noise: placed in one flat frame, the radars' norths differ
    by the meridians' convergence (0.7 degrees 60 km east or west of the centre, 2 km at
    150 km), and each radar's plots of an aircraft were a track apart from another's."""
    rng = np.random.default_rng(seed)
    scene = scene_aircraft(rate, radars, rng)
    aircraft = len(scene.start)
    datagrams: list[tuple[float, int, bytes]] = []
    for sac, sic, lat, lon in radar_sites(radars):
        site = LocalFrame(lat, lon, RADAR_HEIGHT_M)
        phase = rng.uniform(0.0, RADAR_PERIOD_S)
        times, ranges, azimuths, levels = [], [], [], []
        for rotation in range(-1, math.ceil(seconds / RADAR_PERIOD_S) + 1):
            begin = phase + rotation * RADAR_PERIOD_S
            local = site.ecef_to_enu(scene.ecef(np.full(aircraft, begin)))
            azimuth = np.degrees(np.arctan2(local[:, 0], local[:, 1])) % 360.0
            # The beam reaches the aircraft when it points where the aircraft was at the
            # rotation's start; the plot is where the aircraft is then.
            when = begin + azimuth / 360.0 * RADAR_PERIOD_S
            local = site.ecef_to_enu(scene.ecef(when))
            azimuth = np.degrees(np.arctan2(local[:, 0], local[:, 1])) % 360.0
            seen = rng.random(aircraft) < DETECTION_PROBABILITY
            slant = np.linalg.norm(local, axis=1)
            clutter = max(1, aircraft // 50)
            clutter_azimuth = rng.uniform(0.0, 360.0, clutter)
            times += [when[seen], begin + clutter_azimuth / 360.0 * RADAR_PERIOD_S]
            ranges += [
                (slant + 60.0 * rng.standard_normal(aircraft))[seen],
                rng.uniform(5_000.0, 150_000.0, clutter),
            ]
            azimuths += [(azimuth + 0.1 * rng.standard_normal(aircraft))[seen], clutter_azimuth]
            levels += [(scene.height_m / 0.3048 / 100.0)[seen], rng.uniform(0.0, 300.0, clutter)]
        when = np.concatenate(times)
        order = np.argsort(when, kind="stable")
        order = order[(when[order] >= 0.0) & (when[order] < seconds)]
        records = np.zeros(len(order), RECORD)
        records["fspec"] = 0b11110100
        records["sac"], records["sic"] = sac, sic
        records["report_type"] = 0b00100000  # single PSR detection
        range_m = np.concatenate(ranges)[order]
        records["rho"] = np.minimum(np.round(range_m / METRES_PER_NM * 256), 0xFFFF)
        azimuth_deg = np.concatenate(azimuths)[order] % 360.0
        records["theta"] = np.round(azimuth_deg / 360.0 * 65536) % 65536
        level = np.round(np.concatenate(levels)[order] * 4).astype(np.int64)
        records["flight_level"] = level & 0x3FFF
        plot_times = when[order]
        # A radar sends each sector's plots when its beam has swept the sector: a data
        # block per sector (cut into several when over ``per_datagram`` plots).
        sector = np.floor((plot_times - phase) / SECTOR_S).astype(np.int64)
        bounds = np.flatnonzero(np.diff(sector)) + 1
        for rows in np.split(np.arange(len(order)), bounds):
            for first in range(0, len(rows), per_datagram):
                part = rows[first : first + per_datagram]
                sent = phase + (sector[part[0]] + 1) * SECTOR_S
                datagrams.append((float(sent), records[part], plot_times[part]))
    datagrams.sort(key=lambda item: item[0])
    return datagrams


def stamp(
    datagrams: list[tuple[float, np.ndarray, np.ndarray]], start_s: float
) -> list[tuple[float, int, bytes]]:
    """Each datagram's (sending time, plots, bytes), its plots timed from ``start_s``."""
    stamped = []
    for when, unstamped, plot_times in datagrams:
        plots = len(unstamped)
        ticks = np.round((start_s + plot_times) % 86_400.0 * 128).astype(np.int64)
        records = unstamped.copy()
        records["time_of_day"][:, 0] = ticks >> 16
        records["time_of_day"][:, 1] = (ticks >> 8) & 0xFF
        records["time_of_day"][:, 2] = ticks & 0xFF
        body = records.tobytes()
        stamped.append((when, plots, bytes([48]) + (len(body) + 3).to_bytes(2, "big") + body))
    return stamped


def send_scene(port: int, datagrams: list[tuple[float, int, bytes]], start_s: float) -> list[float]:
    """Send each datagram at its time after ``start_s`` (POSIX s); when each was sent."""
    sent_at = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for when, _, data in datagrams:
            delay = start_s + when - time.time()
            if delay > 0.0005:
                time.sleep(delay - 0.0003)
            sender.sendto(data, ("127.0.0.1", port))
            sent_at.append(time.time())
    return sent_at


def run_tracking(args: argparse.Namespace, rate: float, sensors: Path) -> dict[str, float] | None:
    datagrams = make_scene(rate, args.seconds, args.radars, args.plots_per_datagram, SCENE_SEED)
    port = free_udp_port()
    duration = args.seconds + CATCH_UP_S + 2.0
    command = [sys.executable, "-c", TRACK_RECEIVER, str(port), str(duration), str(sensors)]
    command += [str(args.window), str(args.hold), "1" if args.on_arrival else "0", str(args.books)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_WAIT_S
    while "receiving datagrams" not in process.stdout.readline():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("receiver did not start")
    start_s = time.time() + 1.0
    stamped = stamp(datagrams, start_s)
    sent_at = np.array(send_scene(port, stamped, start_s))
    try:
        output, _ = process.communicate(timeout=STARTUP_WAIT_S + duration)
    except subprocess.TimeoutExpired:
        # Far behind, the receiver is still stepping its backlog's windows: no figures.
        process.kill()
        process.communicate()
        return None
    found = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    assert found is not None, output
    result = json.loads(found.group(1))
    counts = result["counts"]
    plots = np.array([count for _, count, _ in stamped])
    published = {
        datetime.fromisoformat(key.replace("Z", "+00:00")).timestamp(): taken
        for key, taken in result["windows"].items()
    }
    if args.on_arrival:
        ends, taken_at = arrival_steps(published, np.array(result["received"]), len(sent_at))
        tracked = ~np.isnan(taken_at)
    else:
        window, hold = args.window, args.hold
        # The window a datagram is received in is stepped `hold` before its end; a datagram
        # sent (its last plot measured) after that waits for the next window's step.
        ends = (np.floor(sent_at / window) + 1) * window - hold
        ends[sent_at >= ends] += window
        taken_at = np.array([published.get(round(end, 6), np.nan) for end in ends.tolist()])
        if np.isnan(taken_at).all():
            # Window ends print with their fraction of a second; match them to the microsecond.
            keyed = {round(key, 6): value for key, value in published.items()}
            taken_at = np.array([keyed.get(round(end, 6), np.nan) for end in ends.tolist()])
        # The last window is closed by the stop, not by traffic: its plots are not timed.
        tracked = ~np.isnan(taken_at) & (ends <= sent_at[-1])
    if args.verbose:
        for end in np.unique(ends):
            mine = (ends == end) & ~np.isnan(taken_at)
            if not mine.any():
                continue
            print(
                f"  window ending +{end - start_s:6.1f} s: {int(plots[mine].sum()):6} plots, "
                f"taken {np.nanmax(taken_at[mine]) - end:+.3f} s after its end",
                flush=True,
            )
    latency = np.repeat((taken_at - sent_at)[tracked], plots[tracked])
    # Every aircraft's track starts at once when the feed starts, as no live feed does:
    # the latency after the first ``--warm-up`` seconds is printed too.
    settled = tracked & (sent_at >= start_s + args.warm_up)
    settled_latency = np.repeat((taken_at - sent_at)[settled], plots[settled])
    sent = len(stamped)
    lost = sent - counts["udp_delivered"] - counts["udp_left_at_stop"]
    return {
        "reports": int(plots.sum()),
        "datagrams": sent,
        "decoded": counts["udp_delivered"],
        "left": counts["udp_left_at_stop"],
        "lost": lost,
        "counted": counts["udp_dropped_by_kernel"] + counts["udp_dropped_backlog_full"],
        "tracked": counts.get("tracked_reports", -1),
        "out_of_sequence": counts.get("out_of_sequence_reports", -1),
        "track_messages": counts["track_messages"],
        "in_windows": int(plots[tracked].sum()),
        "p50_ms": float(np.percentile(latency, 50) * 1e3) if len(latency) else math.nan,
        "p99_ms": float(np.percentile(latency, 99) * 1e3) if len(latency) else math.nan,
        "settled_p99_ms": (
            float(np.percentile(settled_latency, 99) * 1e3) if len(settled_latency) else math.nan
        ),
        "cpu_s": result["cpu_s"],
        "confirmed": counts.get("confirmed_tracks", -1),
        "full_collections": len(result["full_collections"]),
        "longest_collection_ms": max(result["full_collections"], default=0.0) * 1e3,
        "aircraft": len(scene_aircraft(rate, args.radars, np.random.default_rng(SCENE_SEED)).start),
    }


def arrival_steps(
    published: dict[float, float], received: np.ndarray, datagrams: int
) -> tuple[np.ndarray, np.ndarray]:
    """With ``--on-arrival``: each datagram's step (its time: the latest reception time of
    what it took) and when the subscriber took that step's first track message. A step
    takes every datagram received up to its time, so a datagram's step is the first that
    published at or after its reception (a step whose tracks were all tentative published
    nothing: its datagrams count at the next step that did). Not timed: a datagram the
    receiver never took (lost, left at the stop), and those received before the first
    step that published (no track was confirmed yet: the windows publish nothing then
    either)."""
    steps = np.array(sorted(published))
    taken = np.array([published[step] for step in steps.tolist()])
    ends = np.full(datagrams, np.nan)
    taken_at = np.full(datagrams, np.nan)
    count = min(datagrams, len(received))
    # Track times are printed to the microsecond.
    found = np.searchsorted(steps, received[:count] - 1e-6)
    timed = (found < len(steps)) & (found > 0)
    ends[:count][timed] = steps[found[timed]]
    taken_at[:count][timed] = taken[found[timed]]
    return ends, taken_at


def track_main(args: argparse.Namespace) -> tuple[float, dict[float, dict[str, float]]]:
    """Print the live tracking table; the highest rate that held (reports/s), and each
    rate's figures (`run_tracking`)."""
    import tempfile

    rates = [float(rate) for rate in args.rates.split(",")]
    best = settled = 0.0
    figures: dict[float, dict[str, float]] = {}
    if args.on_arrival:
        stepping = (
            f"stepped on arrival (at most {args.window} s waiting), books every {args.books} s"
        )
    else:
        stepping = f"windows of {args.window} s stepped {args.hold} s before their ends"
    print(
        f"live tracking, {args.radars} radars, {args.seconds:.0f} s per rate, {stepping}, at "
        f"most {args.plots_per_datagram} plots a datagram"
    )
    print(
        "reports/s  reports  datagrams  decoded  left  lost  counted  tracked  "
        "out-of-seq  track-msgs  p50 ms  p99 ms  p99 after warm-up  receiver CPU s  "
        "confirmed/aircraft"
    )
    with tempfile.TemporaryDirectory() as folder:
        sensors = Path(folder) / "sites.yaml"
        sensors.write_text(sensors_yaml(args.radars))
        for rate in rates:
            result = run_tracking(args, rate, sensors)
            if result is None:
                print(
                    f"{rate:9.0f}  the receiver did not stop within {STARTUP_WAIT_S:.0f} s of "
                    "the end of its run (its tracker far behind): higher rates not tried",
                    flush=True,
                )
                break
            r = figures[rate] = result
            # The code before issue 17's live column path did not count what it tracked.
            tracked = "-" if r["tracked"] < 0 else str(r["tracked"])
            late = "-" if r["out_of_sequence"] < 0 else str(r["out_of_sequence"])
            print(
                f"{rate:9.0f} {r['reports']:8} {r['datagrams']:10} {r['decoded']:8} "
                f"{r['left']:5} {r['lost']:5} {r['counted']:8} {tracked:>8} {late:>10} "
                f"{r['track_messages']:11} {r['p50_ms']:7.0f} {r['p99_ms']:7.0f} "
                f"{r['settled_p99_ms']:18.0f} "
                f"{r['cpu_s']:14.1f}  {r['confirmed']:>9}/{r['aircraft']}",
                flush=True,
            )
            print(
                f"{'':9}  the receiver's full garbage collections: {r['full_collections']}, "
                f"the longest {r['longest_collection_ms']:.1f} ms",
                flush=True,
            )
            whole = r["lost"] == 0 and r["left"] == 0 and r["tracked"] in (-1, r["reports"])
            if whole and r["p99_ms"] < 100.0:
                best = max(best, rate)
            if whole and r["settled_p99_ms"] < 100.0:
                settled = max(settled, rate)
    print(
        f"highest rate with 0 loss, every report tracked and p99 report-to-track < 100 ms: "
        f"{best:.0f} reports/s (after the first {args.warm_up:g} s: {settled:.0f} reports/s)"
    )
    return best, figures


def replay_rate(args: argparse.Namespace, rate: float) -> dict[str, float | str]:
    """`replay_main`'s figures of one rate."""
    import asyncio
    import gc
    import hashlib

    import yaml

    from hotzone.bus import InProcessBus
    from hotzone.ingest.asterix import AsterixDecoder, SiteTable
    from hotzone.runtime import event_loop
    from hotzone.runtime.live_tracking import (
        LiveTrackingService,
        LiveTrackingSettings,
        take_plot_datagram,
    )
    from hotzone.runtime.sources import SourcePublisher
    from hotzone.runtime.windows import TrackingSettings, TrackingWindows

    start_s = REPLAY_START_S
    stamped = stamp(
        make_scene(rate, args.seconds, args.radars, args.plots_per_datagram, SCENE_SEED), start_s
    )
    sites = SiteTable.from_mapping(yaml.safe_load(sensors_yaml(args.radars)))
    books_cpu: list[float] = []

    async def replay() -> dict[str, float | str]:
        bus = InProcessBus()
        tracks_out = await bus.subscribe("hz.PL.trk.>", 1 << 24)
        publisher = SourcePublisher(bus, "PL")
        decoder = AsterixDecoder(sites, framing="datagram")
        settings = TrackingSettings(window_s=args.window, arrivals=True, books_s=args.books)
        tracking = LiveTrackingService(bus, "PL", LiveTrackingSettings(settings, from_bus=False))
        ready = asyncio.Event()
        runner = asyncio.create_task(tracking.run(ready))
        await ready.wait()
        # As `run_ingest` freezes what starting made, once its services have started.
        gc.freeze()
        digest, messages = hashlib.sha256(), 0
        steps: list[float] = []
        latencies: list[np.ndarray] = []

        async def drain() -> None:
            nonlocal messages
            while (message := await tracks_out.next(timeout_s=0)) is not None:
                digest.update(message.payload)
                digest.update(b"\n")
                messages += 1

        async def step() -> float:
            """Step on what has arrived; its CPU s, books included (noted without them:
            the books come after its tracks are out)."""
            books = len(books_cpu)
            started = time.process_time()
            await tracking.step_arrived()
            spent = time.process_time() - started
            steps.append(spent - sum(books_cpu[books:]))
            return spent

        started = time.process_time()
        now, waiting = 0.0, []
        for index, (when, plots, data) in enumerate(stamped):
            received = datetime.fromtimestamp(start_s + when, tz=UTC)
            now = max(now, when)
            took = time.process_time()
            await take_plot_datagram(publisher, decoder, tracking, data, received)
            now += time.process_time() - took
            waiting.append((when, plots))
            last = index + 1 == len(stamped)
            if args.every > 0 and ((index + 1) % args.every == 0 or last):
                await step()
            elif args.every == 0 and (last or stamped[index + 1][0] > now):
                # Nothing waits: a step, its tracks out before its books.
                spent = await step()
                out = now + steps[-1]
                now += spent
                latencies.extend(np.full(plots_, out - sent) for sent, plots_ in waiting)
                waiting = []
            await drain()
        tracking.stop()
        await runner
        await drain()
        cpu = time.process_time() - started
        await bus.close()
        later = np.array(steps[len(steps) // 3 :]) * 1e3
        figures: dict[str, float | str] = {
            "steps": len(steps),
            "cpu_s": cpu,
            "step_p50_ms": float(np.percentile(later, 50)),
            "step_p99_ms": float(np.percentile(later, 99)),
            "step_max_ms": float(later.max()),
            "books": len(books_cpu),
            "books_ms": float(np.median(books_cpu) * 1e3) if books_cpu else math.nan,
            "track_messages": messages,
            "sha256": digest.hexdigest(),
        }
        if latencies:
            plots_latency = np.concatenate(latencies[len(latencies) // 3 :]) * 1e3
            figures["p50_ms"] = float(np.percentile(plots_latency, 50))
            figures["p99_ms"] = float(np.percentile(plots_latency, 99))
        return figures

    # The books' CPU, noted apart: a step on nothing after the arrival step's tracks.
    plain_books = TrackingWindows.close_books_if_due

    def timed_books(self: TrackingWindows) -> object:
        took = time.process_time()
        ended = plain_books(self)
        if ended is not None:
            books_cpu.append(time.process_time() - took)
        return ended

    TrackingWindows.close_books_if_due = timed_books  # type: ignore[method-assign]
    try:
        return event_loop.run(replay(), use_uvloop=False)
    finally:
        TrackingWindows.close_books_if_due = plain_books  # type: ignore[method-assign]


def replay_main(args: argparse.Namespace) -> dict[float, dict[str, float | str]]:
    """Print `replay_rate`'s figures for each rate of ``--rates``; return them."""
    stepping = (
        "on a virtual clock, stepped whenever no datagram waits"
        if args.every == 0
        else f"stepped after every {args.every} datagrams"
    )
    print(f"live tracking replayed in one process, {args.seconds:.0f} s per rate, {stepping}")
    print(
        "reports/s  steps   CPU s  step p50/p99/max ms   books (median ms)  track-msgs  "
        "p50/p99 ms  sha256"
    )
    figures: dict[float, dict[str, float | str]] = {}
    for rate in (float(rate) for rate in args.rates.split(",")):
        r = figures[rate] = replay_rate(args, rate)
        latency = f"{r['p50_ms']:4.0f}/{r['p99_ms']:4.0f}" if "p50_ms" in r else "        -"
        print(
            f"{rate:9.0f} {r['steps']:6} {r['cpu_s']:7.2f}  "
            f"{r['step_p50_ms']:5.1f}/{r['step_p99_ms']:5.1f}/{r['step_max_ms']:5.1f}  "
            f"{r['books']:8} ({r['books_ms']:5.1f})  {r['track_messages']:10}  {latency}  "
            f"{str(r['sha256'])[:16]}",
            flush=True,
        )
    return figures


#: The replay's start (POSIX s): its plots' times of day, the same in every run.
REPLAY_START_S = 1_750_000_000.0


def argument_parser() -> argparse.ArgumentParser:
    """This bench's options (`bench/pipeline.py --everything` parses its live part's
    command line with it: the options and their defaults in one place)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="sending time per rate")
    parser.add_argument(
        "--rates",
        default="1000,2000,3000,4000,6000,8000,12000,16000",
        help="datagrams per second to try (2 reports each); with --track, reports per second",
    )
    parser.add_argument("--track", action="store_true", help="live tracking of CAT048 plots")
    parser.add_argument("--radars", type=int, default=4, help="with --track: radars (4)")
    parser.add_argument("--window", type=float, default=1.0, help="with --track: window s (1)")
    parser.add_argument(
        "--hold",
        type=float,
        default=DEFAULT_HOLD_S,
        help=f"with --track: each window stepped this long before its end ({DEFAULT_HOLD_S})",
    )
    parser.add_argument(
        "--plots-per-datagram", type=int, default=100, help="with --track: at most (100)"
    )
    parser.add_argument(
        "--on-arrival",
        action="store_true",
        help="with --track: the live mode, stepped on what has arrived (--window: the "
        "longest wait; --hold unused)",
    )
    parser.add_argument(
        "--books", type=float, default=1.0, help="with --on-arrival: books every S s (1)"
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=10.0,
        help="with --track: p99 also over the plots sent after this many s (10)",
    )
    parser.add_argument("--verbose", action="store_true", help="with --track: each window")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="with --track --on-arrival: the datagrams fed in this process, nothing sent",
    )
    parser.add_argument(
        "--every",
        type=int,
        default=0,
        help="with --replay: a step after every N datagrams (0: on a virtual clock)",
    )
    return parser


def main() -> None:
    parser = argument_parser()
    args = parser.parse_args()
    if args.replay:
        if not (args.track and args.on_arrival):
            parser.error("--replay replays the live mode: give --track --on-arrival")
        replay_main(args)
        return
    if args.track:
        track_main(args)
        return
    datagram = (GOLDEN / "asterix" / "cat062cat065.raw").read_bytes()
    rates = [float(rate) for rate in args.rates.split(",")]
    best: dict[str, dict[str, float]] = {}
    print("mode     rate/s    sent  decoded  left  lost  counted-as-dropped")
    for mode in ("in-loop", "now"):
        best[mode] = {"lossless": 0.0, "sustained": 0.0}
        for rate in rates:
            result = run_receiver(mode, rate, args.seconds, datagram)
            lost = result["sent"] - result["decoded"] - result["left"]
            print(
                f"{mode:8} {rate:6.0f} {result['sent']:7} {result['decoded']:8} "
                f"{result['left']:5} {lost:5} {result['counted_drops']:8}",
                flush=True,
            )
            if lost == 0:
                best[mode]["lossless"] = max(best[mode]["lossless"], rate)
                if result["left"] == 0:
                    best[mode]["sustained"] = max(best[mode]["sustained"], rate)
    for mode, figures in best.items():
        print(
            f"{mode}: highest lossless rate {figures['lossless']:.0f} datagrams/s "
            f"({figures['lossless'] * REPORTS_PER_DATAGRAM:.0f} reports/s) for "
            f"{args.seconds:.0f} s; sustained (all decoded {CATCH_UP_S:.0f} s later) "
            f"{figures['sustained']:.0f} datagrams/s"
        )
    before, after = best["in-loop"]["sustained"], best["now"]["sustained"]
    if before:
        print(f"now / in-loop, highest sustained rate: {after / before:.1f}x")


if __name__ == "__main__":
    main()
