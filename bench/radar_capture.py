"""One rotating radar's CAT048 capture, tracked by hotzone and by Stone Soup (issue 15).

The capture is made here, independently of `hotzone.sim` and of the tests' radar: 60
aircraft 10-120 km from a radar rotating every 4 s (straight legs, a third of them turning
at 1.5-3 deg/s once), appearing over the first two minutes, ten of them vanishing (landed,
below the horizon) before the end; Pd 0.85, 30 clutter plots a rotation, range sigma 60 m,
azimuth sigma 0.1 deg, 5 minutes. Each plot is encoded as a CAT048 record (I048/010, 140,
020, 040, 090) in its own data block, and decoded by hotzone's ASTERIX decoder; the same
decoded plots go to both trackers, in 1 s windows.

* hotzone: the default tracker (`hotzone track --from asterix`).
* Stone Soup 1.9.1: constant velocity (q = 1 m^2/s^3), plots converted to the radar's
  ground plane with their linearised covariance, GNN on Mahalanobis distance (gate 3),
  3-point initiation, tracks ended 10 s (2.5 rotations) after their last update.

Printed per tracker, on the confirmed tracks of every window, in the radar's ground plane:
OSPA (c = 1 km, p = 1), false tracks (tracks assigned to no aircraft in most of their
windows), ID switches, aircraft never tracked, time from an aircraft's first plot to its
first track (median, p90).

    python bench/radar_capture.py            # needs the bench extra (stonesoup)
    python bench/radar_capture.py --seed 7
    python bench/radar_capture.py --hotzone-only --confirmed-revisits 3.5
"""

from __future__ import annotations

import argparse
import math
import struct
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotzone.fusion.deletion import RevisitDeleter
from hotzone.fusion.metrics import set_distance
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.ingest.asterix.decoder import AsterixDecoder
from hotzone.ingest.asterix.sites import SiteTable
from hotzone.runtime.windows import ReplaySummary, track_stream
from hotzone.types import Detection

SITE = (53.40, 14.60, 60.0)
SAC, SIC = 25, 7
PERIOD_S = 4.0
ROTATIONS = 75
TARGETS = 60
PD = 0.85
CLUTTER = 30.0
RANGE_SIGMA_M = 60.0
AZIMUTH_SIGMA_DEG = 0.1
START = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
METRES_PER_NM = 1852.0
FOOT_M = 0.3048
EARTH_RADIUS_M = 6_371_000.0
CUTOFF_M = 1000.0


@dataclass
class Capture:
    blocks: bytes
    truth: dict[str, list[tuple[float, float, float]]]
    """Aircraft -> (time s, east m, north m) every 0.5 s while it flies."""
    first_plot_s: dict[str, float]


def _position(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    distance, bearing = rng.uniform(10_000, 120_000), rng.uniform(0, 2 * math.pi)
    start = np.array([distance * math.sin(bearing), distance * math.cos(bearing)])
    heading, speed = rng.uniform(0, 2 * math.pi), rng.uniform(60, 250)
    turn_rate = math.radians(rng.uniform(1.5, 3.0)) * rng.choice([-1, 1])
    return start, np.array([heading, speed]), turn_rate, rng.uniform(0, 120), rng.uniform(40, 160)


def make_capture(seed: int) -> Capture:
    rng = np.random.default_rng(seed)
    duration = ROTATIONS * PERIOD_S
    paths: dict[str, list[tuple[float, float, float]]] = {}
    for index in range(TARGETS):
        start, (heading, speed), turn_rate, appear, turn_at = _position(rng)
        vanish = rng.uniform(150, duration - 30) if index < 10 else duration
        turns = index % 3 == 0
        points, position, time_s = [], start.copy(), appear
        while time_s <= vanish:
            points.append((time_s, float(position[0]), float(position[1])))
            if turns and turn_at <= time_s - appear <= turn_at + 40:
                heading += turn_rate * 0.5
            position = position + 0.5 * speed * np.array([math.sin(heading), math.cos(heading)])
            time_s += 0.5
        paths[f"ac{index:02d}"] = points
    plots: list[tuple[float, float, float, float]] = []  # time, range m, azimuth deg, FL
    first_plot: dict[str, float] = {}
    levels = {name: rng.uniform(20, 390) for name in paths}
    for rotation in range(ROTATIONS):
        begin = rotation * PERIOD_S
        for name, points in paths.items():
            times = np.array([p[0] for p in points])
            if not (times[0] <= begin + PERIOD_S and times[-1] >= begin):
                continue
            # When the beam passes the aircraft (its azimuth moves little in one turn).
            row = int(np.clip(np.searchsorted(times, begin), 0, len(points) - 1))
            azimuth = math.degrees(math.atan2(points[row][1], points[row][2])) % 360.0
            when = begin + azimuth / 360.0 * PERIOD_S
            row = int(np.searchsorted(times, when))
            if row >= len(points) or when < times[0] or rng.random() > PD:
                continue
            east, north = points[row][1], points[row][2]
            first_plot.setdefault(name, when)
            slant = _slant(math.hypot(east, north), levels[name] * 100 * FOOT_M)
            plots.append((when, slant, _azimuth(east, north), levels[name]))
        for _ in range(rng.poisson(CLUTTER)):
            # Clutter too is plotted as the beam passes its azimuth.
            east, north = rng.uniform(-120_000, 120_000, 2)
            when = begin + _azimuth(east, north) / 360.0 * PERIOD_S
            plots.append((when, _slant(math.hypot(east, north), 0.0), _azimuth(east, north), 0.0))
    plots.sort()
    blocks = b"".join(
        _cat048(
            when,
            slant + RANGE_SIGMA_M * rng.standard_normal(),
            azimuth + AZIMUTH_SIGMA_DEG * rng.standard_normal(),
            level,
        )
        for when, slant, azimuth, level in plots
    )
    return Capture(blocks, paths, first_plot)


def _slant(ground_m: float, height_m: float) -> float:
    """Slant range to an aircraft ``ground_m`` away at ``height_m`` (the Earth curves
    away under it by ground² / 2R)."""
    rise = height_m - SITE[2] + ground_m**2 / (2 * EARTH_RADIUS_M)
    return math.hypot(ground_m, rise)


def _azimuth(east: float, north: float) -> float:
    return math.degrees(math.atan2(east, north)) % 360.0


def _cat048(time_s: float, range_m: float, azimuth_deg: float, flight_level: float) -> bytes:
    """One CAT048 record in its own data block: FSPEC 010 140 020 040 090."""
    time_of_day = (START + timedelta(seconds=time_s)) - START.replace(hour=0)
    record = bytes([0b11110100, SAC, SIC])
    record += round(time_of_day.total_seconds() * 128).to_bytes(3, "big")
    record += bytes([0b00100000])  # single PSR detection
    rho = round(max(range_m, 0.0) / METRES_PER_NM * 256)
    theta = round((azimuth_deg % 360.0) / 360.0 * 65536) % 65536
    record += struct.pack(">HH", min(rho, 0xFFFF), theta)
    record += struct.pack(">H", round(flight_level * 4) & 0x3FFF)
    return bytes([48]) + struct.pack(">H", len(record) + 3) + record


def decode(capture: Capture, folder: Path) -> list[Detection]:
    sites = folder / "sites.yaml"
    sites.write_text(
        f'"{SAC}/{SIC}": {{lat_deg: {SITE[0]}, lon_deg: {SITE[1]}, height_m: {SITE[2]}, '
        f"sensor_id: asr, range_sigma_m: {RANGE_SIGMA_M}, azimuth_sigma_deg: "
        f"{AZIMUTH_SIGMA_DEG}, rotation_period_s: {PERIOD_S}}}\n"
    )
    decoder = AsterixDecoder(SiteTable.from_file(sites))
    received = START + timedelta(seconds=ROTATIONS * PERIOD_S)
    result = decoder.feed(capture.blocks, received)
    result.extend(decoder.flush(received))
    if result.rejected:
        raise SystemExit(f"hotzone refused {len(result.rejected)} records of the capture")
    # Received as the beam passes (the replay windows by reception time), not at the end.
    return [
        msgspec.structs.replace(m, received_at=m.time + timedelta(seconds=0.05))
        for m in result.messages
        if isinstance(m, Detection)
    ]


def hotzone_windows(
    plots: list[Detection], confirmed_revisits: float | None = None
) -> list[tuple[float, list[str], np.ndarray]]:
    frame = LocalFrame(*SITE)
    tracker = default_tracker()
    if confirmed_revisits is not None:
        assert isinstance(tracker.deleter, RevisitDeleter)
        tracker.deleter = replace(tracker.deleter, confirmed_revisits=confirmed_revisits)
    stage = TrackingStage(frame=frame, tracker=tracker, confirmed_only=True)
    windows = []
    for tracks in track_stream(list(plots), stage, 1.0, ReplaySummary()):
        if tracks:
            time_s = (tracks[0].time - START).total_seconds()
            positions = np.array([t.enu_position_m[:2] for t in tracks])
            windows.append((time_s, [t.track_id for t in tracks], positions))
    return windows


def stonesoup_windows(plots: list[Detection]) -> list[tuple[float, list[str], np.ndarray]]:
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.detection import Detection as StoneSoupDetection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(1.0)] * 2)
    predictor = KalmanPredictor(transition)
    default_model = LinearGaussian(4, (0, 2), np.eye(2))
    updater = KalmanUpdater(default_model)

    def associator() -> GNNWith2DAssignment:
        hypothesiser = DistanceHypothesiser(
            predictor, updater, measure=Mahalanobis(), missed_distance=3
        )
        return GNNWith2DAssignment(hypothesiser)

    prior = GaussianState(StateVector([0, 0, 0, 0]), CovarianceMatrix(np.diag([0, 200**2] * 2)))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=default_model,
        deleter=UpdateTimeDeleter(timedelta(seconds=2.5 * PERIOD_S)),
        data_associator=associator(),
        updater=updater,
        min_points=3,
    )
    scans: dict[int, set[StoneSoupDetection]] = defaultdict(set)
    for plot in plots:
        slant, azimuth_deg, elevation_deg = plot.values
        ground = slant * math.cos(math.radians(elevation_deg))
        azimuth = math.radians(azimuth_deg)
        east, north = ground * math.sin(azimuth), ground * math.cos(azimuth)
        jacobian = np.array(
            [
                [math.sin(azimuth), ground * math.cos(azimuth)],
                [math.cos(azimuth), -ground * math.sin(azimuth)],
            ]
        )
        noise = np.diag([RANGE_SIGMA_M**2, math.radians(AZIMUTH_SIGMA_DEG) ** 2])
        model = LinearGaussian(4, (0, 2), jacobian @ noise @ jacobian.T)
        offset = (plot.time - START).total_seconds()
        scans[math.floor(offset) + 1].add(
            StoneSoupDetection(
                StateVector([east, north]), timestamp=plot.time, measurement_model=model
            )
        )
    last = max(scans)
    detector = [
        (START + timedelta(seconds=second), scans.get(second, set()))
        for second in range(1, last + 1)
    ]
    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeDeleter(timedelta(seconds=2.5 * PERIOD_S)),
        detector=detector,
        data_associator=associator(),
        updater=updater,
    )
    windows = []
    for when, tracks in tracker:
        time_s = (when - START).total_seconds()
        names, positions = [], []
        for track in tracks:
            state = track.state
            lag = (when - state.timestamp).total_seconds()
            vector = np.asarray(state.state_vector, dtype=float).ravel()
            positions.append([vector[0] + lag * vector[1], vector[2] + lag * vector[3]])
            names.append(str(track.id))
        if names:
            windows.append((time_s, names, np.array(positions)))
    return windows


def score(capture: Capture, windows: list[tuple[float, list[str], np.ndarray]]) -> str:
    ospa: list[float] = []
    assigned_windows: dict[str, int] = defaultdict(int)
    published: dict[str, int] = defaultdict(int)
    last_track: dict[str, str] = {}
    first_track: dict[str, float] = {}
    switches = 0
    names = list(capture.truth)
    series = {name: np.array(points) for name, points in capture.truth.items()}
    for time_s, tracks, positions in windows:
        alive, truth = [], []
        for name in names:
            points = series[name]
            if points[0, 0] <= time_s <= points[-1, 0]:
                row = int(np.argmin(np.abs(points[:, 0] - time_s)))
                alive.append(name)
                truth.append(points[row, 1:])
        distance = set_distance(positions, np.array(truth).reshape(-1, 2), CUTOFF_M, 1.0)
        ospa.append(distance.ospa)
        for track in tracks:
            published[track] += 1
        for estimate, target in zip(distance.pairs_estimate, distance.pairs_truth, strict=True):
            name, track = alive[int(target)], tracks[int(estimate)]
            assigned_windows[track] += 1
            first_track.setdefault(name, time_s)
            if last_track.get(name, track) != track:
                switches += 1
            last_track[name] = track
    false_tracks = sum(1 for t, n in published.items() if assigned_windows[t] * 2 < n)
    seen = [name for name in names if name in capture.first_plot_s]
    never = [name for name in seen if name not in first_track]
    delays = np.array([first_track[n] - capture.first_plot_s[n] for n in seen if n in first_track])
    return (
        f"OSPA {np.mean(ospa):6.1f} m  false tracks {false_tracks:3d}  ID switches {switches:3d}"
        f"  never tracked {len(never)}/{len(seen)}  first track median "
        f"{np.median(delays):4.1f} s, p90 {np.quantile(delays, 0.9):4.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=48)
    parser.add_argument(
        "--confirmed-revisits",
        type=float,
        default=None,
        help="hotzone: missed revisits that end a confirmed track (default: the tracker's)",
    )
    parser.add_argument(
        "--hotzone-only", action="store_true", help="skip Stone Soup (minutes on 2 cores)"
    )
    args = parser.parse_args(argv)
    capture = make_capture(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        plots = decode(capture, Path(folder))
    print(
        f"CAT048 capture: {len(capture.blocks)} bytes, {len(plots)} plots, "
        f"{len(capture.first_plot_s)} aircraft seen, {PERIOD_S:.0f} s rotation"
    )
    windows = hotzone_windows(plots, args.confirmed_revisits)
    print(f"  {'hotzone':<11} {score(capture, windows)}")
    if not args.hotzone_only:
        print(f"  {'Stone Soup':<11} {score(capture, stonesoup_windows(plots))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
