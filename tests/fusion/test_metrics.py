"""OSPA/GOSPA against brute force; the evaluation's switches, fragments and latency."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hotzone.fusion.metrics import evaluate, set_distance
from hotzone.geo import LocalFrame
from hotzone.types import (
    GeoPoint,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
    TruthState,
)


def brute_force(estimates, truths, c, p):  # type: ignore[no-untyped-def]
    m, n = len(estimates), len(truths)
    best = np.inf
    small, large = (estimates, truths) if m <= n else (truths, estimates)
    for chosen in itertools.permutations(range(len(large)), len(small)):
        cost = sum(min(np.linalg.norm(small[i] - large[j]), c) ** p for i, j in enumerate(chosen))
        best = min(best, cost)
    if m == n == 0:
        return 0.0
    ospa = ((best + c**p * abs(m - n)) / max(m, n)) ** (1 / p)
    return ospa


@pytest.mark.parametrize("seed", range(5))
def test_ospa_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    estimates = rng.uniform(0, 2000, (rng.integers(0, 5), 2))
    truths = rng.uniform(0, 2000, (rng.integers(1, 5), 2))
    assert set_distance(estimates, truths, 1000.0, 1.0).ospa == pytest.approx(
        brute_force(estimates, truths, 1000.0, 1.0)
    )


def test_gospa_splits_into_localisation_missed_and_false() -> None:
    truths = np.array([[0.0, 0.0], [5000.0, 0.0], [9000.0, 0.0]])
    estimates = np.array([[30.0, 40.0], [20_000.0, 0.0]])
    distance = set_distance(estimates, truths, cutoff=1000.0, order=1.0)
    assert distance.missed == 2
    assert distance.false == 1
    assert distance.localisation == pytest.approx(50.0)
    assert distance.gospa == pytest.approx(50.0 + 1000.0 / 2 * 3)


def test_identical_sets_are_at_distance_zero_and_empty_estimates_at_the_cutoff() -> None:
    points = np.array([[1.0, 2.0], [300.0, 400.0]])
    assert set_distance(points, points).ospa == 0.0
    assert set_distance(np.zeros((0, 2)), points, cutoff=700.0).ospa == 700.0


FRAME = LocalFrame(54.0, 23.0, 0.0)
START = datetime(2025, 1, 1, tzinfo=UTC)


def _point(east: float) -> GeoPoint:
    lat, lon, height = FRAME.enu_to_geodetic(np.array([east, 0.0, 0.0]))
    return GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=float(height))


def _truth(second: int, target: str, east: float) -> TruthState:
    return TruthState(
        time=START + timedelta(seconds=second),
        target_id=target,
        target_class=TargetClass.SMALL_UAV,
        affiliation=StandardIdentity.HOSTILE,
        position=_point(east),
        enu_position_m=(east, 0.0, 0.0),
        enu_velocity_mps=(0.0, 0.0, 0.0),
    )


def _track(second: int, number: int, east: float) -> Track:
    return Track(
        track_id=f"t-{number}",
        track_number=number,
        time=START + timedelta(seconds=second),
        status=TrackStatus.CONFIRMED,
        position=_point(east),
        sector="s",
        enu_position_m=(east, 0.0, 0.0),
        enu_velocity_mps=(0.0, 0.0, 0.0),
        covariance=((1.0,),),
        quality=1.0,
    )


def test_evaluation_counts_switches_fragments_and_time_to_track() -> None:
    truth = [_truth(s, "a", 0.0) for s in range(8)] + [_truth(s, "b", 50_000.0) for s in range(8)]
    # Target a: untracked for 2 s, track 1, a gap, track 1 again, then track 2 takes over.
    numbers = {2: 1, 3: 1, 5: 1, 6: 2, 7: 2}
    tracks = [_track(s, n, 10.0) for s, n in numbers.items()]
    tracks += [_track(s, 9, 50_000.0) for s in range(8)]
    result = evaluate(truth, tracks)
    assert result.time_to_first_track_s == {"a": 2.0, "b": 0.0}
    assert result.id_switches == 1
    assert result.fragmentations == 1
    assert result.per_affiliation["hostile"].tracked == 2
    assert result.gospa_missed_mean > 0
