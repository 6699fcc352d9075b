#!/usr/bin/env python3
"""Tracking benchmark: hotzone against Stone Soup on the same detections, in one run.

The scenario, seed construction, parameters and metric are those of the shared reference
(``shared/bench/stonesoup_baseline.py``): N targets with 2-D nearly-constant-velocity
motion in a 200 km x 200 km area, speeds U(10, 250) m/s, 60 scans of 1 s, position
measurements with sigma 50 m per axis, Pd 0.9, Poisson clutter uniform over the area.
Both trackers run GNN with a constant-velocity Kalman filter (q = 1 m²/s³), Mahalanobis
gate 3 (also the missed-detection cost), single-point initiation with a 200 m/s velocity
prior confirmed at 3 updates, tentative tracks ending after 2 misses and confirmed ones
after 3. Stone Soup runs plain GNN and GNN with its KD-tree associator (1000 m); the
speed ratio is Stone Soup KD-tree's median seconds per scan over hotzone's.

Accuracy is OSPA(c=1000 m, p=1) and GOSPA(c=1000 m, p=1, α=2) on the confirmed tracks
output at each scan, positions only.

    python bench/tracking.py                 # full matrix (takes several minutes)
    python bench/tracking.py --quick         # N in {10, 100}, clutter 10
    python bench/tracking.py --n 1000 --clutter 100
    python bench/tracking.py --n 100000 --trackers hotzone
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hotzone.fusion.allocator import keep_large_arrays_in_heap
from hotzone.fusion.association import GNNAssociator
from hotzone.fusion.deletion import MissesDeleter
from hotzone.fusion.gating import DistanceGater
from hotzone.fusion.imm import IMMPredictor, IMMUpdater, default_imm_models
from hotzone.fusion.initiation import MOfNInitiator
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.metrics import set_distance
from hotzone.fusion.motion import ConstantVelocityMotion
from hotzone.fusion.predictor import KalmanPredictor, Predictor
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.fusion.updater import KalmanUpdater, Updater

AREA_M = 200_000.0
SCANS = 60
SCAN_PERIOD_S = 1.0
SIGMA_M = 50.0
DETECTION_PROBABILITY = 0.9
NOISE_INTENSITY = 1.0  # m²/s³, truth and both trackers
VELOCITY_PRIOR_SIGMA = 200.0
MISSED_DISTANCE = 3.0
CONFIRM_UPDATES = 3
TENTATIVE_MAX_MISSES = 2
CONFIRMED_MAX_MISSES = 3
CUTOFF_M = 1000.0
SEED = 20240601
STONESOUP_BUDGET_S = 300.0
KD_TREE_RADIUS_M = 1000.0
EXACT_LIMIT = 10_000
"""Above this many targets OSPA/GOSPA use mutual-best matching in the giant components
that 1000 m cut-offs create (~630 m spacing at 100,000 targets): upper bounds, marked ≤."""


@dataclass(frozen=True)
class Scenario:
    truth_positions: list[np.ndarray]  # per scan (N, 2)
    detections: list[np.ndarray]  # per scan (M_k, 2)
    is_clutter: list[np.ndarray]


def generate_scenario(targets: int, clutter: int, seed: int = SEED) -> Scenario:
    """The reference scenario, draw for draw: state [x, vx, y, vy], one generator."""
    rng = np.random.default_rng([seed, targets, clutter])
    margin = 20_000.0
    state = np.empty((targets, 4))
    state[:, 0] = rng.uniform(margin, AREA_M - margin, targets)
    state[:, 2] = rng.uniform(margin, AREA_M - margin, targets)
    speed = rng.uniform(10.0, 250.0, targets)
    heading = rng.uniform(0, 2 * np.pi, targets)
    state[:, 1] = speed * np.cos(heading)
    state[:, 3] = speed * np.sin(heading)
    dt = SCAN_PERIOD_S
    transition = np.array([[1, dt, 0, 0], [0, 1, 0, 0], [0, 0, 1, dt], [0, 0, 0, 1]], float)
    axis_noise = NOISE_INTENSITY * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    process_noise = np.zeros((4, 4))
    process_noise[:2, :2] = axis_noise
    process_noise[2:, 2:] = axis_noise
    noise_factor = np.linalg.cholesky(process_noise + 1e-12 * np.eye(4))
    truths, detections, flags = [], [], []
    for scan in range(SCANS):
        if scan:
            state = state @ transition.T + rng.standard_normal((targets, 4)) @ noise_factor.T
        truths.append(state[:, [0, 2]].copy())
        detected = rng.random(targets) < DETECTION_PROBABILITY
        measured = state[detected][:, [0, 2]] + SIGMA_M * rng.standard_normal(
            (int(detected.sum()), 2)
        )
        clutter_count = rng.poisson(clutter)
        clutter_points = rng.uniform(0, AREA_M, (clutter_count, 2))
        points = np.vstack([measured, clutter_points])
        flag = np.r_[np.zeros(len(measured), bool), np.ones(clutter_count, bool)]
        permutation = rng.permutation(len(points))
        detections.append(points[permutation])
        flags.append(flag[permutation])
    return Scenario(truths, detections, flags)


@dataclass
class Result:
    targets: int
    clutter: int
    tracker: str
    complete: bool
    scans: int
    median_s: float
    detections_per_s: float
    ospa_mean: float = float("nan")
    gospa_final: float = float("nan")
    final_tracks: int = 0
    speed_ratio: float = float("nan")


IMM: list[bool] = [False]
"""``--imm``: hotzone with its operational filter, IMM of constant velocity and
coordinated turn, instead of the reference's Kalman filter (same everything else)."""


def hotzone_tracker() -> MultiTargetTracker:
    """The reference configuration, composed from hotzone roles."""
    predictor: Predictor = KalmanPredictor(ConstantVelocityMotion(NOISE_INTENSITY, spatial_dims=2))
    updater: Updater = KalmanUpdater()
    if IMM[0]:
        predictor = IMMPredictor(default_imm_models(NOISE_INTENSITY, spatial_dims=2))
        updater = IMMUpdater()
    return MultiTargetTracker(
        predictor=predictor,
        updater=updater,
        gater=DistanceGater(MISSED_DISTANCE),
        associator=GNNAssociator(),
        initiator=MOfNInitiator(
            confirm_hits=CONFIRM_UPDATES, window=64, velocity_sigma_mps=VELOCITY_PRIOR_SIGMA
        ),
        deleter=MissesDeleter(
            tentative_max_misses=TENTATIVE_MAX_MISSES,
            confirmed_max_misses=CONFIRMED_MAX_MISSES,
            max_position_sigma_m=float("inf"),
        ),
        spatial_dims=2,
        triangulator=None,
    )


def hotzone_snapshots(scenario: Scenario) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds for the step, confirmed positions) per scan."""
    tracker = hotzone_tracker()
    model = PositionMeasurement(dims=2)
    noise = SIGMA_M**2 * np.eye(2)
    origin = np.zeros(3)
    for scan, points in enumerate(scenario.detections):
        scan_time = scan * SCAN_PERIOD_S
        sensor_scan = SensorScan(
            sensor_id="radar",
            model=model,
            values=points,
            noise=np.broadcast_to(noise, (len(points), 2, 2)),
            times=np.full(len(points), scan_time),
            sensor_position=origin,
        )
        started = CLOCK[0]()
        tracks = tracker.step(scan_time, [sensor_scan])
        elapsed = CLOCK[0]() - started
        yield elapsed, tracks.state[tracks.confirmed, :2]


def minimal_gnn_snapshots(scenario: Scenario) -> Iterator[tuple[float, np.ndarray]]:
    """A minimal vectorized numpy GNN of the same configuration: the floor to compare with.

    One array per quantity, no identities, labels, IMM, revisit learning or replay:
    shared-step constant-velocity prediction, a KD-tree pre-gate with one radius for all
    tracks, Mahalanobis gate 3, mutual-best matching (GNN wherever clusters are not
    contested, the common case here), confirmed tracks first, single-point initiation,
    confirmation at 3 updates, deletion after 2/3 misses. State [x, y, vx, vy].
    """
    from scipy.spatial import cKDTree

    dt = SCAN_PERIOD_S
    transition = np.eye(4)
    transition[0, 2] = transition[1, 3] = dt
    axis = NOISE_INTENSITY * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    process_noise = np.zeros((4, 4))
    process_noise[np.ix_([0, 2], [0, 2])] = axis
    process_noise[np.ix_([1, 3], [1, 3])] = axis
    noise = SIGMA_M**2 * np.eye(2)
    gate = MISSED_DISTANCE**2
    state = np.zeros((0, 4))
    covariance = np.zeros((0, 4, 4))
    hits = np.zeros(0, dtype=np.int64)
    misses = np.zeros(0, dtype=np.int64)
    confirmed = np.zeros(0, dtype=np.bool_)

    def assign(
        tracks: np.ndarray, detections: np.ndarray, tree: cKDTree, free: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        empty = np.zeros(0, dtype=np.int64)
        if len(tracks) == 0:
            return empty, empty
        position_covariance = covariance[tracks][:, :2, :2] + noise
        radius = np.sqrt(gate * np.trace(position_covariance, axis1=1, axis2=2))
        found = tree.query_ball_point(state[tracks, :2], radius)
        counts = np.fromiter(map(len, found), dtype=np.int64, count=len(tracks))
        pair_tracks = np.repeat(np.arange(len(tracks)), counts)
        pair_rows = np.fromiter(
            (row for rows in found for row in rows), dtype=np.int64, count=int(counts.sum())
        )
        keep = free[pair_rows]
        pair_tracks, pair_rows = pair_tracks[keep], pair_rows[keep]
        residual = detections[pair_rows] - state[tracks[pair_tracks], :2]
        inverse = np.linalg.inv(position_covariance)[pair_tracks]
        distance = np.einsum("ki,kij,kj->k", residual, inverse, residual)
        alive = distance <= gate
        chosen_tracks, chosen_rows = [], []
        while alive.any():
            index = np.flatnonzero(alive)
            by_track = index[np.lexsort((distance[index], pair_tracks[index]))]
            first = np.r_[True, pair_tracks[by_track][1:] != pair_tracks[by_track][:-1]]
            by_row = index[np.lexsort((distance[index], pair_rows[index]))]
            first_row = np.r_[True, pair_rows[by_row][1:] != pair_rows[by_row][:-1]]
            mutual = np.intersect1d(by_track[first], by_row[first_row])
            chosen_tracks.append(pair_tracks[mutual])
            chosen_rows.append(pair_rows[mutual])
            alive &= ~np.isin(pair_tracks, pair_tracks[mutual])
            alive &= ~np.isin(pair_rows, pair_rows[mutual])
        if not chosen_tracks:
            return empty, empty
        return tracks[np.concatenate(chosen_tracks)], np.concatenate(chosen_rows)

    for points in scenario.detections:
        started = CLOCK[0]()
        state = state @ transition.T
        covariance = transition @ covariance @ transition.T + process_noise
        tree = cKDTree(points)
        free = np.ones(len(points), dtype=np.bool_)
        updated = np.zeros(len(state), dtype=np.bool_)
        for stage in (np.flatnonzero(confirmed), np.flatnonzero(~confirmed)):
            track_rows, rows = assign(stage, points, tree, free)
            free[rows] = False
            if len(track_rows) == 0:
                continue
            prior = covariance[track_rows]
            innovation = prior[:, :2, :2] + noise
            gain = prior[:, :, :2] @ np.linalg.inv(innovation)
            residual = points[rows] - state[track_rows, :2]
            state[track_rows] += (gain @ residual[:, :, None])[:, :, 0]
            covariance[track_rows] = prior - gain @ prior[:, :2, :]
            updated[track_rows] = True
        hits[updated] += 1
        misses[updated] = 0
        misses[~updated] += 1
        confirmed |= hits >= CONFIRM_UPDATES
        alive = misses <= np.where(confirmed, CONFIRMED_MAX_MISSES, TENTATIVE_MAX_MISSES) - 1
        new = points[free]
        new_covariance = np.zeros((len(new), 4, 4))
        new_covariance[:, :2, :2] = noise
        new_covariance[:, 2, 2] = new_covariance[:, 3, 3] = VELOCITY_PRIOR_SIGMA**2
        state = np.concatenate([state[alive], np.c_[new, np.zeros((len(new), 2))]])
        covariance = np.concatenate([covariance[alive], new_covariance])
        hits = np.r_[hits[alive], np.ones(len(new), dtype=np.int64)]
        misses = np.r_[misses[alive], np.zeros(len(new), dtype=np.int64)]
        confirmed = np.r_[confirmed[alive], np.zeros(len(new), dtype=np.bool_)]
        elapsed = CLOCK[0]() - started
        yield elapsed, state[confirmed, :2].copy()


def stonesoup_snapshots(scenario: Scenario, kd_tree: bool) -> Iterator[tuple[float, np.ndarray]]:
    """The same configuration built from Stone Soup 1.9.1 components."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor as StoneSoupPredictor
    from stonesoup.tracker.simple import MultiTargetTracker as StoneSoupTracker
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.detection import Clutter, Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater as StoneSoupUpdater

    transition_model = CombinedLinearGaussianTransitionModel(
        [ConstantVelocity(NOISE_INTENSITY), ConstantVelocity(NOISE_INTENSITY)]
    )
    measurement_model = LinearGaussian(
        ndim_state=4, mapping=(0, 2), noise_covar=SIGMA_M**2 * np.eye(2)
    )
    predictor = StoneSoupPredictor(transition_model)
    updater = StoneSoupUpdater(measurement_model)

    def associator() -> object:
        hypothesiser = DistanceHypothesiser(
            predictor, updater, measure=Mahalanobis(), missed_distance=MISSED_DISTANCE
        )
        if kd_tree:
            return DetectionKDTreeGNN2D(
                hypothesiser=hypothesiser,
                predictor=predictor,
                updater=updater,
                max_distance=KD_TREE_RADIUS_M,
            )
        return GNNWith2DAssignment(hypothesiser)

    prior = GaussianState(
        StateVector([0, 0, 0, 0]),
        CovarianceMatrix(np.diag([0, VELOCITY_PRIOR_SIGMA**2, 0, VELOCITY_PRIOR_SIGMA**2])),
    )
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=measurement_model,
        deleter=UpdateTimeStepsDeleter(TENTATIVE_MAX_MISSES),
        data_associator=associator(),
        updater=updater,
        min_points=CONFIRM_UPDATES,
    )
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    detector = []
    for scan, (points, flags) in enumerate(
        zip(scenario.detections, scenario.is_clutter, strict=True)
    ):
        timestamp = start + datetime.timedelta(seconds=scan * SCAN_PERIOD_S)
        detector.append(
            (
                timestamp,
                {
                    (Clutter if flag else Detection)(
                        StateVector(point), timestamp=timestamp, measurement_model=measurement_model
                    )
                    for point, flag in zip(points, flags, strict=True)
                },
            )
        )
    tracker = StoneSoupTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(CONFIRMED_MAX_MISSES),
        detector=detector,
        data_associator=associator(),
        updater=updater,
    )
    iterator = iter(tracker)
    for _ in range(SCANS):
        started = CLOCK[0]()
        _, tracks = next(iterator)
        elapsed = CLOCK[0]() - started
        positions = np.array([[t.state_vector[0, 0], t.state_vector[2, 0]] for t in tracks])
        yield elapsed, positions.reshape(-1, 2)


def measure(
    name: str,
    scenario: Scenario,
    snapshots: Callable[[Scenario], Iterator[tuple[float, np.ndarray]]],
    budget_s: float,
) -> Result:
    targets = len(scenario.truth_positions[0])
    clutter_mean = CLUTTER_OF[id(scenario)]
    durations: list[float] = []
    ospa: list[float] = []
    gospa_final = float("nan")
    final_tracks = 0
    complete = True
    for scan, (elapsed, positions) in enumerate(snapshots(scenario)):
        durations.append(elapsed)
        distance = set_distance(
            positions, scenario.truth_positions[scan], CUTOFF_M, 1.0, exact=targets <= EXACT_LIMIT
        )
        ospa.append(distance.ospa)
        gospa_final, final_tracks = distance.gospa, len(positions)
        if sum(durations) > budget_s and scan < SCANS - 1:
            complete = False
            break
    detections = sum(len(points) for points in scenario.detections[: len(durations)])
    return Result(
        targets=targets,
        clutter=clutter_mean,
        tracker=name,
        complete=complete,
        scans=len(durations),
        median_s=statistics.median(durations),
        detections_per_s=detections / sum(durations),
        ospa_mean=float(np.mean(ospa)) if complete else float("nan"),
        gospa_final=gospa_final if complete else float("nan"),
        final_tracks=final_tracks,
    )


CLUTTER_OF: dict[int, int] = {}
CLOCK: list[Callable[[], float]] = [time.perf_counter]
"""What a step's time is read from: wall clock, or with ``--cpu-time`` this process's CPU
time (on a machine other work loads, waiting for a core is then not counted)."""

HEADER = (
    f"{'N':>7} {'clutter':>7} {'tracker':<13} {'s/scan (median)':>16} {'det/s':>12} "
    f"{'OSPA mean':>10} {'GOSPA final':>12} {'tracks':>7} {'speed ratio':>12}"
)


def format_row(result: Result) -> str:
    seconds = f"{result.median_s:.4g}"
    if not result.complete:
        seconds = f">{seconds} ({result.scans}/{SCANS})"
    ratio = "" if np.isnan(result.speed_ratio) else f"{result.speed_ratio:.0f}x"
    bound = "<=" if result.targets > EXACT_LIMIT else ""
    ospa = f"{bound}{result.ospa_mean:.1f}"
    gospa = f"{bound}{result.gospa_final:.0f}"
    return (
        f"{result.targets:>7} {result.clutter:>7} {result.tracker:<13} {seconds:>16} "
        f"{result.detections_per_s:>12.4g} {ospa:>10} {gospa:>12} {result.final_tracks:>7} "
        f"{ratio:>12}"
    )


def peak_memory(scenario: Scenario) -> float:
    """Peak of the memory numpy and Python allocate while hotzone tracks the scenario
    (tracemalloc, started after the scenario was made), in MB; a separate run, since
    tracing slows the step."""
    tracemalloc.start()
    try:
        for _ in hotzone_snapshots(scenario):
            pass
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def run_matrix(
    sizes: list[int],
    clutters: list[int],
    trackers: list[str],
    budget_s: float,
    memory: bool = False,
) -> list[Result]:
    print(
        f"python {platform.python_version()} numpy {np.__version__} cpus={os.cpu_count()} "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')!r}",
        flush=True,
    )
    print(HEADER, flush=True)
    results: list[Result] = []
    for targets in sizes:
        for clutter in clutters:
            scenario = generate_scenario(targets, clutter)
            CLUTTER_OF[id(scenario)] = clutter
            row: dict[str, Result] = {}
            for name in trackers:
                if name == "stonesoup" and targets >= 1000:
                    continue  # 12 s per scan at N=1000: the reference skips it too
                if name.startswith("stonesoup") and targets > 1000:
                    continue
                if name == "hotzone":
                    result = measure(name, scenario, hotzone_snapshots, float("inf"))
                elif name == "minimal":
                    result = measure(name, scenario, minimal_gnn_snapshots, float("inf"))
                else:
                    kd_tree = name == "stonesoup-kd"

                    def snapshots(
                        scenario: Scenario, kd_tree: bool = kd_tree
                    ) -> Iterator[tuple[float, np.ndarray]]:
                        return stonesoup_snapshots(scenario, kd_tree)

                    result = measure(name, scenario, snapshots, budget_s)
                row[name] = result
            reference = row.get("stonesoup-kd")
            for result in row.values():
                if reference is not None and result.tracker == "hotzone":
                    result.speed_ratio = reference.median_s / result.median_s
                print(format_row(result), flush=True)
                results.append(result)
            if "hotzone" in row and "minimal" in row:
                print(
                    f"{'':>15} hotzone / minimal GNN: "
                    f"{row['hotzone'].median_s / row['minimal'].median_s:.2f}x "
                    f"({row['hotzone'].median_s * 1e3:.2f} ms vs "
                    f"{row['minimal'].median_s * 1e3:.2f} ms per scan)",
                    flush=True,
                )
            if memory and "hotzone" in trackers:
                print(f"{'':>15} hotzone peak traced memory: {peak_memory(scenario):.0f} MB")
    return results


SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main(argv: list[str] | None = None) -> int:
    if argv is None and any(os.environ.get(name) != "1" for name in SINGLE_THREAD):
        # One core, as the issue measures it: BLAS reads its thread count when numpy
        # loads, so start again with the variables set.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **SINGLE_THREAD})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N in {10, 100}, clutter 10")
    parser.add_argument("--n", type=int, nargs="+", default=None, help="target counts")
    parser.add_argument("--clutter", type=int, nargs="+", default=None, help="clutter means")
    parser.add_argument(
        "--trackers",
        nargs="+",
        default=["stonesoup", "stonesoup-kd", "minimal", "hotzone"],
        choices=["stonesoup", "stonesoup-kd", "minimal", "hotzone"],
    )
    parser.add_argument("--scans", type=int, default=60, help="scans per scenario")
    parser.add_argument("--imm", action="store_true", help="hotzone with its IMM (CV + CT)")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time steps in process CPU time, not wall clock"
    )
    parser.add_argument(
        "--memory", action="store_true", help="also hotzone's peak memory (a traced rerun)"
    )
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc thresholds as they are (hotzone track raises them)",
    )
    parser.add_argument("--budget", type=float, default=STONESOUP_BUDGET_S)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, clutters, budget = [10, 100], [10], 60.0
    else:
        sizes, clutters, budget = [10, 100, 1000, 10_000, 100_000], [10, 100], args.budget
    sizes = args.n or sizes
    clutters = args.clutter or clutters
    global SCANS  # noqa: PLW0603 (the scenario length every function of this script reads)
    SCANS = args.scans
    if args.cpu_time:
        CLOCK[0] = time.process_time
    IMM[0] = args.imm
    if not args.default_allocator:
        # As `hotzone track` runs: the tracker's large temporaries kept in the heap.
        keep_large_arrays_in_heap()
    results = run_matrix(sizes, clutters, args.trackers, budget, args.memory)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
