"""Track-to-track fusion across nations: consistency of covariance intersection, association,
alliance track numbers.

What "not smaller than what either nation alone could justify" means here, exactly:
two national estimates share an unknown part of their information, so the only covariance
the alliance may claim is one that bounds the fused error for *every* cross-correlation
the national covariances allow. The tests check that property directly (random admissible
cross-covariances, `test_ci_bounds_the_error_for_every_admissible_correlation`), its two
corner cases (a track fused with a copy of itself gains nothing; the result is never
tighter than the independent-errors Kalman bound (P_a⁻¹ + P_b⁻¹)⁻¹, i.e. its information
never exceeds the sum of the two), and the statistics (NEES over a Monte-Carlo run with
correlated errors: CI consistent, the naive Kalman fusion overconfident).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.stats import chi2

from hotzone.fusion.track_to_track import (
    AllianceFusionStage,
    combined_releasability,
    covariance_intersection,
    fast_weight,
    optimal_weight,
)
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, Track, TrackStatus

FloatArray = NDArray[np.float64]
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
COMMON = LocalFrame(54.25, 23.45)
# Sector frames of the two nations on either side of the Suwałki gap, ~70 km apart.
FRAMES = {"suwalki": LocalFrame(54.10, 22.93, 150.0), "alytus": LocalFrame(54.40, 24.05, 120.0)}
SECTOR_OF = {"PL": "suwalki", "LT": "alytus", "RO": "alytus"}


def _random_covariance(generator: np.random.Generator, size: int = 6) -> FloatArray:
    factor = generator.normal(size=(size, size)) * generator.uniform(1.0, 60.0, size)
    covariance: FloatArray = factor @ factor.T + np.eye(size)
    return covariance


def _naive_fusion(
    mean_a: FloatArray, cov_a: FloatArray, mean_b: FloatArray, cov_b: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The Kalman combination that wrongly assumes independent errors."""
    information = np.linalg.inv(cov_a) + np.linalg.inv(cov_b)
    covariance = np.linalg.inv(information)
    mean = covariance @ (np.linalg.solve(cov_a, mean_a) + np.linalg.solve(cov_b, mean_b))
    return mean, covariance


def _min_eigenvalue(matrix: FloatArray) -> float:
    return float(np.linalg.eigvalsh((matrix + matrix.T) / 2.0).min())


# --- covariance intersection ----------------------------------------------------------


@pytest.mark.parametrize("rule", [optimal_weight, fast_weight])
def test_fusing_a_track_with_a_copy_of_itself_gains_nothing(rule: object) -> None:
    generator = np.random.default_rng(1)
    covariance = _random_covariance(generator)
    mean = generator.normal(size=6)
    fused_mean, fused_covariance, _ = covariance_intersection(
        mean,
        covariance,
        mean,
        covariance,
        rule,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(fused_covariance, covariance, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fused_mean, mean, atol=1e-9)
    _, naive = _naive_fusion(mean, covariance, mean, covariance)
    np.testing.assert_allclose(naive, covariance / 2.0, rtol=1e-9)  # double counting


def test_ci_is_never_tighter_than_independence_and_never_worse_than_either() -> None:
    generator = np.random.default_rng(2)
    for _ in range(100):
        cov_a, cov_b = _random_covariance(generator), _random_covariance(generator)
        zero = np.zeros(6)
        _, naive = _naive_fusion(zero, cov_a, zero, cov_b)
        for rule in (optimal_weight, fast_weight):
            _, fused, weight = covariance_intersection(zero, cov_a, zero, cov_b, rule)
            assert 0.0 <= weight <= 1.0
            # P_CI - (P_a⁻¹ + P_b⁻¹)⁻¹ ⪰ 0, relative to the matrices' scale.
            scale = float(np.trace(naive))
            assert _min_eigenvalue(fused - naive) >= -1e-9 * scale
        _, optimal, _ = covariance_intersection(zero, cov_a, zero, cov_b, optimal_weight)
        # The optimal weight is at least as good as taking either track alone (ω = 0 or 1).
        determinant = np.linalg.det(optimal)
        assert determinant <= min(np.linalg.det(cov_a), np.linalg.det(cov_b)) * (1 + 1e-9)


def test_ci_bounds_the_error_for_every_admissible_correlation() -> None:
    # Any joint covariance [[P_a, X], [Xᵀ, P_b]] is X = P_a^½ K P_b^½ with ‖K‖ ≤ 1. The
    # fused estimate's true error covariance must stay below P_CI for each such K; the
    # naive fusion's does not.
    generator = np.random.default_rng(3)
    naive_violations = 0
    for trial in range(60):
        cov_a, cov_b = _random_covariance(generator), _random_covariance(generator)
        root_a, root_b = np.linalg.cholesky(cov_a), np.linalg.cholesky(cov_b)
        contraction = generator.normal(size=(6, 6))
        contraction /= np.linalg.norm(contraction, 2) * (1.0 if trial % 2 else 1.2)
        cross = root_a @ contraction @ root_b.T
        joint = np.block([[cov_a, cross], [cross.T, cov_b]])
        zero = np.zeros(6)
        _, fused, weight = covariance_intersection(zero, cov_a, zero, cov_b)
        gain = np.hstack(
            [weight * fused @ np.linalg.inv(cov_a), (1 - weight) * fused @ np.linalg.inv(cov_b)]
        )
        actual = gain @ joint @ gain.T
        assert _min_eigenvalue(fused - actual) >= -1e-7 * float(np.trace(fused))
        _, naive = _naive_fusion(zero, cov_a, zero, cov_b)
        naive_gain = np.hstack([naive @ np.linalg.inv(cov_a), naive @ np.linalg.inv(cov_b)])
        naive_actual = naive_gain @ joint @ naive_gain.T
        naive_violations += _min_eigenvalue(naive - naive_actual) < 0.0
    assert naive_violations > 30


def test_monte_carlo_nees_ci_consistent_naive_overconfident() -> None:
    # Two nations' errors share a common part (one radar both see, the same motion model):
    # e_i = c + u_i. Each nation alone is consistent: P_i = C + U_i.
    generator = np.random.default_rng(4)
    runs = 4000
    common = np.diag([400.0, 400.0, 900.0, 16.0, 16.0, 25.0])
    own_a = np.diag([2500.0, 100.0, 400.0, 4.0, 100.0, 9.0])  # good north, poor east
    own_b = np.diag([100.0, 2500.0, 400.0, 100.0, 4.0, 9.0])  # the other way round
    cov_a, cov_b = common + own_a, common + own_b
    shared = generator.multivariate_normal(np.zeros(6), common, runs)
    errors_a = shared + generator.multivariate_normal(np.zeros(6), own_a, runs)
    errors_b = shared + generator.multivariate_normal(np.zeros(6), own_b, runs)
    nees_ci, nees_naive = [], []
    zero = np.zeros(6)
    _, fused, weight = covariance_intersection(zero, cov_a, zero, cov_b)
    _, naive = _naive_fusion(zero, cov_a, zero, cov_b)

    # The CI weight depends on the covariances only, which are the same in every run.
    def same_weight(_a: FloatArray, _b: FloatArray) -> float:
        return weight

    for error_a, error_b in zip(errors_a, errors_b, strict=True):
        fused_error, _, _ = covariance_intersection(error_a, cov_a, error_b, cov_b, same_weight)
        naive_error, _ = _naive_fusion(error_a, cov_a, error_b, cov_b)
        nees_ci.append(fused_error @ np.linalg.solve(fused, fused_error))
        nees_naive.append(naive_error @ np.linalg.solve(naive, naive_error))
    # For a consistent estimator the mean NEES is 6; over 4000 runs its 99.9 % upper bound:
    upper = chi2.ppf(0.999, 6 * runs) / runs
    assert 0.0 < weight < 1.0
    assert np.mean(nees_ci) <= upper
    assert np.mean(nees_naive) > upper
    assert np.mean(nees_naive) > 1.3 * 6
    print(f"mean NEES over {runs} runs: CI {np.mean(nees_ci):.2f}, naive {np.mean(nees_naive):.2f}")


# --- the alliance stage ----------------------------------------------------------------


def _national_track(
    nation: str,
    track_id: str,
    time: datetime,
    state: FloatArray,
    covariance: FloatArray,
    releasability: str = "NATO",
    status: TrackStatus = TrackStatus.CONFIRMED,
) -> Track:
    """What a nation's tracker reports for an estimate given in the common frame."""
    sector = SECTOR_OF[nation]
    frame = FRAMES[sector]
    latitude, longitude, height = COMMON.enu_to_geodetic(state[:3])
    rotation = COMMON.vector_to(frame)
    both = np.kron(np.eye(2), rotation)
    sector_position = frame.geodetic_to_enu(latitude, longitude, height)
    sector_velocity = rotation @ state[3:]
    sector_covariance = both @ covariance @ both.T
    return Track(
        track_id=track_id,
        track_number=int(track_id.rsplit("-", 1)[-1]),
        time=time,
        status=status,
        position=GeoPoint(
            lat_deg=float(latitude), lon_deg=float(longitude), height_m=float(height)
        ),
        sector=sector,
        enu_position_m=tuple(float(v) for v in sector_position),  # type: ignore[arg-type]
        enu_velocity_mps=tuple(float(v) for v in sector_velocity),  # type: ignore[arg-type]
        covariance=tuple(tuple(float(v) for v in row) for row in sector_covariance),
        quality=0.9,
        sensors=("radar1",),
        releasability=releasability,
    )


def _drone(seconds: float, offset_east_m: float = 0.0) -> FloatArray:
    """A drone crossing near the border, in the common frame."""
    velocity = np.array([25.0, -8.0, 0.0])
    start = np.array([-4_000.0 + offset_east_m, 3_000.0, 300.0])
    return np.concatenate([start + velocity * seconds, velocity])


COVARIANCE_PL = np.diag([40.0**2, 15.0**2, 30.0**2, 3.0**2, 2.0**2, 2.0**2])
COVARIANCE_LT = np.diag([15.0**2, 40.0**2, 30.0**2, 2.0**2, 3.0**2, 2.0**2])


def _stage() -> AllianceFusionStage:
    return AllianceFusionStage(common_frame=COMMON, sector_frames=FRAMES)


def test_two_nations_one_drone_make_one_alliance_track_not_overconfident() -> None:
    stage = _stage()
    numbers = set()
    for second in range(0, 20, 2):
        time = T0 + timedelta(seconds=second)
        truth = _drone(second)
        # Reports a second old from PL, current from LT: the stage predicts them to `time`.
        tracks = [
            (
                "PL",
                _national_track(
                    "PL",
                    "suwalki-7",
                    time - timedelta(seconds=1),
                    _drone(second - 1),
                    COVARIANCE_PL,
                    "REL PL LT",
                ),
            ),
            ("LT", _national_track("LT", "alytus-3", time, truth, COVARIANCE_LT)),
        ]
        alliance = stage.step(time, tracks)
        assert len(alliance) == 1
        track = alliance[0]
        numbers.add(track.track_number)
        assert track.sector == "alliance"
        assert track.releasability == "REL LT PL"  # only who may see both may see the fusion
        # Errorless national tracks in two sector frames fuse to the truth: frames agree.
        np.testing.assert_allclose(track.enu_position_m, truth[:3], atol=1e-3)
        np.testing.assert_allclose(track.enu_velocity_mps, truth[3:], atol=1e-6)
    assert len(numbers) == 1
    assert stage.members(numbers.pop()) == [("LT", "alytus-3"), ("PL", "suwalki-7")]
    # Its covariance claims no more than independence would allow: P ⪰ (P_PL⁻¹ + P_LT⁻¹)⁻¹
    # (the PL one predicted by the second it is late).
    covariance = np.array(track.covariance)
    predicted_pl = stage._predict(np.zeros(6), COVARIANCE_PL, 1.0)[1]
    _, naive = _naive_fusion(np.zeros(6), predicted_pl, np.zeros(6), COVARIANCE_LT)
    assert _min_eigenvalue(covariance - naive) >= -1e-9 * float(np.trace(naive))
    # ... and is better than either nation's alone.
    assert np.linalg.det(covariance) < min(
        np.linalg.det(predicted_pl), np.linalg.det(COVARIANCE_LT)
    )
    assert set(track.sensors) == {"PL/radar1", "LT/radar1"}
    assert stage.approximated_frames == 0


def test_distinct_drones_stay_distinct_and_pair_correctly() -> None:
    stage = _stage()
    generator = np.random.default_rng(5)
    for second in range(0, 10, 2):
        time = T0 + timedelta(seconds=second)
        tracks = []
        for name, offset in (("1", 0.0), ("2", 1_500.0)):
            truth = _drone(second, offset)
            error_pl = generator.multivariate_normal(np.zeros(6), COVARIANCE_PL)
            error_lt = generator.multivariate_normal(np.zeros(6), COVARIANCE_LT)
            tracks.append(
                (
                    "PL",
                    _national_track("PL", f"suwalki-{name}", time, truth + error_pl, COVARIANCE_PL),
                )
            )
            tracks.append(
                (
                    "LT",
                    _national_track("LT", f"alytus-1{name}", time, truth + error_lt, COVARIANCE_LT),
                )
            )
        alliance = stage.step(time, tracks)
        assert len(alliance) == 2
    pairs = sorted(stage.members(track.track_number) for track in alliance)
    assert pairs == [
        [("LT", "alytus-11"), ("PL", "suwalki-1")],
        [("LT", "alytus-12"), ("PL", "suwalki-2")],
    ]


def test_alliance_number_survives_a_national_track_dropped_and_recreated() -> None:
    stage = _stage()
    time = T0

    def step(second: float, pl_id: str | None, lt_id: str | None) -> list[Track]:
        at = T0 + timedelta(seconds=second)
        tracks = []
        if pl_id is not None:
            tracks.append(("PL", _national_track("PL", pl_id, at, _drone(second), COVARIANCE_PL)))
        if lt_id is not None:
            tracks.append(("LT", _national_track("LT", lt_id, at, _drone(second), COVARIANCE_LT)))
        return stage.step(at, tracks)

    first = step(0, "suwalki-1", "alytus-1")[0].track_number
    deleted = _national_track(
        "PL",
        "suwalki-1",
        time + timedelta(seconds=2),
        _drone(2),
        COVARIANCE_PL,
        status=TrackStatus.DELETED,
    )
    after_delete = stage.step(
        time + timedelta(seconds=2),
        [
            ("PL", deleted),
            (
                "LT",
                _national_track(
                    "LT", "alytus-1", time + timedelta(seconds=2), _drone(2), COVARIANCE_LT
                ),
            ),
        ],
    )
    assert [t.track_number for t in after_delete] == [first]
    assert stage.members(first) == [("LT", "alytus-1")]
    # PL re-creates its track under a new id: it joins the same alliance track.
    assert [t.track_number for t in step(4, "suwalki-9", "alytus-1")] == [first]
    assert stage.members(first) == [("LT", "alytus-1"), ("PL", "suwalki-9")]
    # Both nations lose it for 10 s (< coast_s); LT's new track takes the number back.
    assert step(6, None, None) == []
    assert [t.track_number for t in step(16, None, "alytus-2")] == [first]
    # Lost for longer than coast_s: a new object gets a new number.
    assert [t.track_number for t in step(60, "suwalki-20", None)] != [first]


@pytest.mark.parametrize("merge", [True, False])
def test_a_track_recreated_while_its_predecessor_still_reports_ends_on_one_alliance_track(
    merge: bool,
) -> None:
    # LT's tracker starts a second track on the drone one step before it drops the first:
    # the new one cannot join the alliance track (LT is on it already) and starts its own.
    # Once the old one is gone, the two alliance tracks (PL's, LT's) are one object.
    stage = AllianceFusionStage(common_frame=COMMON, sector_frames=FRAMES, merge_duplicates=merge)
    lt_tracks = {0: ["alytus-1"], 2: ["alytus-1", "alytus-2"], 4: ["alytus-2"], 6: ["alytus-2"]}
    for second, names in lt_tracks.items():
        at = T0 + timedelta(seconds=second)
        tracks = [("PL", _national_track("PL", "suwalki-1", at, _drone(second), COVARIANCE_PL))]
        tracks += [
            ("LT", _national_track("LT", name, at, _drone(second), COVARIANCE_LT)) for name in names
        ]
        if second == 4:
            gone = _national_track(
                "LT", "alytus-1", at, _drone(second), COVARIANCE_LT, status=TrackStatus.DELETED
            )
            tracks.append(("LT", gone))
        alliance = stage.step(at, tracks)
        if second == 2:
            assert len(alliance) == 2  # one nation, one track per alliance track
    if merge:
        (track,) = alliance
        assert track.track_number == 1  # the older number stays
        assert stage.members(1) == [("LT", "alytus-2"), ("PL", "suwalki-1")]
    else:
        assert sorted(stage.members(t.track_number) for t in alliance) == [
            [("LT", "alytus-2")],
            [("PL", "suwalki-1")],
        ]


def test_a_national_track_that_jumps_to_another_object_leaves_its_alliance_track() -> None:
    stage = _stage()
    at = [T0 + timedelta(seconds=s) for s in (0, 2)]
    first = stage.step(
        at[0],
        [
            ("PL", _national_track("PL", "suwalki-1", at[0], _drone(0), COVARIANCE_PL)),
            ("LT", _national_track("LT", "alytus-1", at[0], _drone(0), COVARIANCE_LT)),
        ],
    )
    assert len(first) == 1
    # PL's track swapped onto an object 5 km away.
    second = stage.step(
        at[1],
        [
            ("PL", _national_track("PL", "suwalki-1", at[1], _drone(2, 5_000.0), COVARIANCE_PL)),
            ("LT", _national_track("LT", "alytus-1", at[1], _drone(2), COVARIANCE_LT)),
        ],
    )
    assert len(second) == 2
    assert len({t.track_number for t in second}) == 2
    assert first[0].track_number in {t.track_number for t in second}


def test_tracks_no_one_may_see_together_are_not_fused() -> None:
    stage = _stage()
    alliance = stage.step(
        T0,
        [
            ("PL", _national_track("PL", "suwalki-1", T0, _drone(0), COVARIANCE_PL, "NATIONAL PL")),
            ("LT", _national_track("LT", "alytus-1", T0, _drone(0), COVARIANCE_LT, "REL LT RO")),
        ],
    )
    assert sorted(t.releasability for t in alliance) == ["NATIONAL PL", "REL LT RO"]


def test_a_member_relabelled_to_no_common_nation_leaves_its_alliance_track() -> None:
    # Fused while both may be seen by LT; then PL marks its track NATIONAL PL: the
    # alliance track must not go on fusing them (under "NATO" or any other label).
    stage = _stage()
    labels = {"PL": "REL PL LT", "LT": "REL LT RO"}
    for second in range(0, 12, 2):
        time = T0 + timedelta(seconds=second)
        if second >= 6:
            labels["PL"] = "NATIONAL PL"
        alliance = stage.step(
            time,
            [
                (
                    "PL",
                    _national_track(
                        "PL", "suwalki-1", time, _drone(second), COVARIANCE_PL, labels["PL"]
                    ),
                ),
                (
                    "LT",
                    _national_track(
                        "LT", "alytus-1", time, _drone(second), COVARIANCE_LT, labels["LT"]
                    ),
                ),
            ],
        )
        if second < 6:
            assert [t.releasability for t in alliance] == ["REL LT"]
        else:
            assert sorted(t.releasability for t in alliance) == ["NATIONAL PL", "REL LT RO"]


def test_releasability_of_a_fused_track_is_the_common_audience() -> None:
    assert combined_releasability(["NATO", "NATO"]) == "NATO"
    assert combined_releasability(["NATO", "REL PL LT"]) == "REL LT PL"
    assert combined_releasability(["REL PL LT", "REL LT RO"]) == "REL LT"
    assert combined_releasability(["NATIONAL PL", "NATO"]) == "NATIONAL PL"
    assert combined_releasability(["NATIONAL PL", "REL LT RO"]) is None


def test_two_dimensional_and_broken_national_tracks() -> None:
    stage = _stage()
    full = _national_track("LT", "alytus-1", T0, _drone(0), COVARIANCE_LT)
    horizontal = [0, 1, 3, 4]
    flat = Track(
        **{
            **{name: getattr(full, name) for name in full.__struct_fields__},
            "track_id": "alytus-2",
            "covariance": tuple(
                tuple(full.covariance[r][c] for c in horizontal) for r in horizontal
            ),
        }
    )
    broken = Track(
        **{
            **{name: getattr(full, name) for name in full.__struct_fields__},
            "track_id": "alytus-3",
            "covariance": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
        }
    )
    negative = Track(
        **{
            **{name: getattr(full, name) for name in full.__struct_fields__},
            "track_id": "alytus-4",
            "covariance": tuple(tuple(-v for v in row) for row in full.covariance),
        }
    )
    pl = _national_track("PL", "suwalki-1", T0, _drone(0), COVARIANCE_PL)
    unknown_sector = Track(
        **{
            **{name: getattr(pl, name) for name in pl.__struct_fields__},
            "track_id": "elsewhere-1",
            "sector": "elsewhere",
        }
    )
    alliance = stage.step(
        T0, [("PL", unknown_sector), ("LT", flat), ("LT", broken), ("LT", negative)]
    )
    assert len(alliance) == 1  # the 2-D LT track and PL's, fused; the broken two left out
    assert stage.members(alliance[0].track_number) == [("LT", "alytus-2"), ("PL", "elsewhere-1")]
    assert len(stage.rejected) == 2
    assert "alytus-3" in stage.rejected[0] and "expected 6x6" in stage.rejected[0]
    assert "alytus-4" in stage.rejected[1] and "positive definite" in stage.rejected[1]
    assert stage.approximated_frames == 1
    np.testing.assert_allclose(alliance[0].enu_position_m[:2], _drone(0)[:2], atol=1e-3)


def test_alliance_tracks_are_consistent_over_a_monte_carlo_run() -> None:
    # The whole stage (frames, prediction, association, CI) on national tracks whose errors
    # share a common part: the alliance track's NEES stays within its chi-square bound.
    generator = np.random.default_rng(6)
    runs = 300
    common = np.diag([30.0**2, 30.0**2, 20.0**2, 2.0**2, 2.0**2, 1.0**2])
    nees = []
    for run in range(runs):
        stage = _stage()
        time = T0 + timedelta(seconds=run)
        truth = _drone(0.0)
        shared = generator.multivariate_normal(np.zeros(6), common)
        own_pl = generator.multivariate_normal(np.zeros(6), COVARIANCE_PL)
        own_lt = generator.multivariate_normal(np.zeros(6), COVARIANCE_LT)
        alliance = stage.step(
            time,
            [
                (
                    "PL",
                    _national_track(
                        "PL", "suwalki-1", time, truth + shared + own_pl, common + COVARIANCE_PL
                    ),
                ),
                (
                    "LT",
                    _national_track(
                        "LT", "alytus-1", time, truth + shared + own_lt, common + COVARIANCE_LT
                    ),
                ),
            ],
        )
        assert len(alliance) == 1
        track = alliance[0]
        error = np.concatenate([track.enu_position_m, track.enu_velocity_mps]) - truth
        nees.append(error @ np.linalg.solve(np.array(track.covariance), error))
    assert np.mean(nees) <= chi2.ppf(0.999, 6 * runs) / runs


@pytest.mark.parametrize("elapsed_s", [-7.5, 0.4, 12.0])
def test_national_tracks_are_predicted_with_the_trackers_constant_velocity_model(
    elapsed_s: float,
) -> None:
    """One motion model: white-acceleration CV, [p, v] layout; backwards still adds noise."""
    stage = AllianceFusionStage(common_frame=LocalFrame(54.0, 23.0, 0.0))
    rng = np.random.default_rng(3)
    mean = rng.normal(0.0, 100.0, 6)
    root = rng.normal(0.0, 5.0, (6, 6))
    covariance = root @ root.T + np.eye(6)
    predicted_mean, predicted_covariance = stage._predict(mean, covariance, elapsed_s)

    # Written out by hand: x' = x + v t; Q = q [[t³/3, t²/2], [t²/2, t]] on each axis, |t|.
    span, q = abs(elapsed_s), stage.acceleration_noise_psd
    transition = np.eye(6)
    transition[:3, 3:] = np.eye(3) * elapsed_s
    noise = np.kron(q * np.array([[span**3 / 3, span**2 / 2], [span**2 / 2, span]]), np.eye(3))
    assert np.allclose(predicted_mean, transition @ mean)
    assert np.allclose(predicted_covariance, transition @ covariance @ transition.T + noise)
