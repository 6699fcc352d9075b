"""Classification features over track histories, computed in batch.

A `KinematicHistory` is what the classifier sees of one track: a window of timed states
(local East-North-Up metres and metres per second, height above the ellipsoid), the
radar cross-sections measured on it and which cooperative identities it carried. The same
history comes from fused `Track` messages at run time (`hotzone.assess.history`), from
simulated truth with noise at training time, and from recorded real flights in the
tests, so one function, `batch_features`, turns all of them into the feature matrix.

Every feature has a name with its unit (`FEATURE_NAMES`); a feature that cannot be
computed (no RCS measured, too few samples for a turn rate) is NaN, which the tree model
routes as missing rather than as a value.

Features mean the same whatever the report pattern. A radar track updated every second
and an ADS-B feed heard every 10 s (positions and velocities on separate lines, gaps of a
minute) describe one flight alike: rates of change (turn rate, acceleration) are taken
between states at least `DERIVATIVE_BASELINE_S` apart, not between consecutive states
(whose velocity noise divided by a 1 s step swamps the signal, and which a 10 s feed
never has), and pairs further apart than `MAX_DERIVATIVE_GAP_S` are not used (a
minute-long gap hides the turns in it). Samples with a missing position or height (a
velocity-only update) still give speed, climb and turn.

A ground phase (`ground_phase`: the landing roll, taxi and stop at the bottom of a flight)
is not a hover: the run-time history is handed to the classifier without it
(`TrackHistories.kinematic` calls `without_ground_phase`). The simulated training
histories keep theirs (`batch_features` does not take it out), so the trained model is
the same; docs/assess.md ("Ground phases") has why and what it measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from hotzone.types.arrays import FloatArray, IntArray

KINEMATIC_FEATURE_NAMES: tuple[str, ...] = (
    "speed_mean_mps",
    "speed_max_mps",
    "speed_min_mps",
    "speed_std_mps",
    "height_mean_m",
    "height_max_m",
    "height_min_m",
    "height_std_m",
    "climb_rate_mean_abs_mps",
    "climb_rate_max_mps",
    "climb_rate_min_mps",
    "turn_rate_median_abs_dps",
    "turn_rate_p90_abs_dps",
    "acceleration_median_mps2",
    "acceleration_p90_mps2",
    "path_straightness",
    "hover_fraction",
)
"""What the object does, whichever sensor saw it: the first columns of `batch_features`
(and what the classifier judges novelty on)."""

FEATURE_NAMES: tuple[str, ...] = (
    *KINEMATIC_FEATURE_NAMES,
    "duration_s",
    "report_interval_median_s",
    "rcs_mean_dbsm",
    "rcs_std_dbsm",
    "has_icao24",
    "has_mmsi",
)
"""Names of the columns of `batch_features`, units in the name.

Whether a track carries a callsign is not a feature: it says which feed heard the object,
not what it is. A FLARM receiver, a position-only SBS feed (no ``MSG,1`` lines) or
multilateration give an ICAO address and no callsign for an airliner as for a tow plane;
trained on class-typical callsign rates, "address but no callsign" was the top reason
real tow planes and powered aircraft were called helicopters (docs/assess.md). The
history still carries the flag (`KinematicHistory.has_callsign`) for whoever needs it.
`report_interval_median_s` is the median time between the history's states, which are
measurement updates only (`hotzone.assess.history`): the feed's report interval."""

# Below this speed a heading is mostly measurement noise: no turn rate is taken from it.
MIN_SPEED_FOR_HEADING_MPS = 3.0
# Hovering or standing still (helicopters, persons waiting, drifting vessels).
HOVER_SPEED_MPS = 2.0
# Rates of change are taken between states at least this far apart: the longest report
# interval of the feeds served (ADS-B heard every 10 s), so a 1 s radar track and a 10 s
# feed measure the same thing, and velocity noise is divided by 10 s, not by 1 s.
DERIVATIVE_BASELINE_S = 10.0
# Nor over more than this: a turn of more than 180 degrees could hide in a longer gap.
MAX_DERIVATIVE_GAP_S = 45.0

# A ground phase (`ground_phase`): an aircraft's landing roll, taxi and holding, which a
# receiver at an airfield hears and which read as a helicopter's hover (real tow planes:
# helicopter at 0.88-0.96, docs/assess.md "Ground phases").
GROUND_SLOW_MPS = 12.0
"""Below this an aeroplane cannot fly (light aircraft stall at 21-25 m/s): it is on the
ground, or a hovering helicopter."""
AIRBORNE_FAST_MPS = 20.0
"""Above this the object flies (or drives fast): the history holds a flight."""
GROUND_RISE_M = 100.0
"""The flight's median height is at least this far above the slow states' median height:
the slow states are at the bottom of the history, not a hover at the flight's height."""
GROUND_LEVEL_MARGIN_M = 25.0
"""States up to this far above the slow states' median height are at ground level (GNSS
heights scatter by a few metres, a ground roll is level)."""
GROUND_ROLL_MPS = 30.0
"""At ground level, states slower than this are the take-off or landing roll."""
GROUND_PHASE_MIN_STATES = 3
"""A ground phase needs this many slow states and this many fast ones (one slow state is
noise), and a history keeps at least this many states once it is taken out."""


class HistoryError(ValueError):
    """A history whose arrays do not fit together."""


@dataclass(frozen=True)
class KinematicHistory:
    """One track's recent states, oldest first."""

    times_s: FloatArray
    """(n,) POSIX seconds, increasing."""
    enu_position_m: FloatArray
    """(n, 3) east, north, up in one local frame."""
    enu_velocity_mps: FloatArray
    """(n, 3) east, north, up velocity."""
    height_m: FloatArray
    """(n,) height above the WGS-84 ellipsoid."""
    rcs_dbsm: FloatArray = field(default_factory=lambda: np.zeros(0))
    """Radar cross-sections measured on the track (any number, may be none)."""
    has_icao24: bool = False
    has_callsign: bool = False
    has_mmsi: bool = False

    def __post_init__(self) -> None:
        count = len(self.times_s)
        if self.enu_position_m.shape != (count, 3) or self.enu_velocity_mps.shape != (count, 3):
            raise HistoryError(
                f"history of {count} times needs ({count}, 3) positions and velocities, got "
                f"{self.enu_position_m.shape} and {self.enu_velocity_mps.shape}"
            )
        if self.height_m.shape != (count,):
            raise HistoryError(f"history of {count} times needs {count} heights")

    @property
    def size(self) -> int:
        return len(self.times_s)


def ground_phase(history: KinematicHistory) -> NDArray[np.bool_]:
    """Which states of ``history`` are a ground phase: a history that holds a flight
    (`GROUND_PHASE_MIN_STATES` states faster than `AIRBORNE_FAST_MPS`) and a sustained stop
    (as many slower than `GROUND_SLOW_MPS`) whose median height is at least `GROUND_RISE_M`
    below the flight's, read as on the ground: the states at that level (within
    `GROUND_LEVEL_MARGIN_M`) slower than `GROUND_ROLL_MPS` (stop, taxi, roll). Judged from
    speeds and heights only, so it reads a simulated history and a real feed alike (no feed
    flag is needed: FLARM has none). A helicopter that descends to a hover near the ground
    is read so too: nothing in the kinematics tells a hover a few metres up from standing
    on the ground."""
    none = np.zeros(history.size, dtype=bool)
    if history.size < 2 * GROUND_PHASE_MIN_STATES:
        return none
    velocity = history.enu_velocity_mps
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    height = history.height_m
    known = np.isfinite(speed) & np.isfinite(height)
    slow = known & (speed < GROUND_SLOW_MPS)
    fast = known & (speed > AIRBORNE_FAST_MPS)
    if slow.sum() < GROUND_PHASE_MIN_STATES or fast.sum() < GROUND_PHASE_MIN_STATES:
        return none
    ground_level = float(np.median(height[slow]))
    if float(np.median(height[fast])) - ground_level < GROUND_RISE_M:
        return none
    return known & (speed < GROUND_ROLL_MPS) & (height <= ground_level + GROUND_LEVEL_MARGIN_M)


def without_ground_phase(history: KinematicHistory) -> KinematicHistory:
    """``history`` without its `ground_phase` states (itself when it has none, or when
    fewer than `GROUND_PHASE_MIN_STATES` would be left)."""
    ground = ground_phase(history)
    if not ground.any() or int((~ground).sum()) < GROUND_PHASE_MIN_STATES:
        return history
    kept = ~ground
    return replace(
        history,
        times_s=history.times_s[kept],
        enu_position_m=history.enu_position_m[kept],
        enu_velocity_mps=history.enu_velocity_mps[kept],
        height_m=history.height_m[kept],
    )


def batch_features(histories: Sequence[KinematicHistory]) -> FloatArray:
    """The (len(histories), len(FEATURE_NAMES)) feature matrix; NaN where undefined."""
    matrix = np.full((len(histories), len(FEATURE_NAMES)), np.nan)
    for row, history in enumerate(histories):
        matrix[row] = _features_of(history)
    return matrix


def _finite_or_nan(values: FloatArray, reducer: str) -> float:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    if reducer == "mean":
        return float(np.mean(finite))
    if reducer == "std":
        return float(np.std(finite))
    if reducer == "max":
        return float(np.max(finite))
    return float(np.min(finite))


def finite_percentiles(values: FloatArray, percents: Sequence[float]) -> tuple[float, ...]:
    """``np.percentile(finite, q)`` (linear interpolation) of the finite ``values`` for each
    q in ``percents``, with NaN for none, from one sort.

    The same float operations in the same order as numpy's linear method (virtual index
    ``(n - 1) * (q / 100)``, ``a + (b - a) * g``, or ``b - (b - a) * (1 - g)`` from
    ``g >= 0.5``), so the same numbers bit for bit (`tests/assess/test_stage_cost.py`):
    numpy's percentile costs its checks and partition once per q, nine times per history.
    Equal values are the same bits, so the sort and numpy's partition pick the same ones,
    except for 0.0 and -0.0: with a -0.0 among the values numpy's own function answers.
    """
    finite = np.sort(values[np.isfinite(values)])
    count = finite.size
    if count == 0:
        return tuple(float("nan") for _ in percents)
    if np.signbit(finite[finite == 0.0]).any():
        return tuple(float(np.percentile(finite, percent)) for percent in percents)
    result = []
    for percent in percents:
        virtual = (count - 1) * (percent / 100.0)
        if virtual >= count - 1:
            result.append(float(finite[-1]))
            continue
        below = math.floor(virtual)
        weight = virtual - below
        low, high = float(finite[below]), float(finite[below + 1])
        step = high - low
        result.append(high - step * (1 - weight) if weight >= 0.5 else low + step * weight)
    return tuple(result)


def baseline_pairs(times_s: FloatArray) -> tuple[IntArray, IntArray]:
    """Index pairs (i, j) for rates of change: j is the first state at least
    `DERIVATIVE_BASELINE_S` after i, kept when no more than `MAX_DERIVATIVE_GAP_S` after."""
    count = len(times_s)
    if count < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    later = np.searchsorted(times_s, times_s + DERIVATIVE_BASELINE_S, side="left")
    first = np.arange(count)
    inside = later < count
    first, later = first[inside], later[inside]
    gap = times_s[later] - times_s[first]
    kept = gap <= MAX_DERIVATIVE_GAP_S
    return first[kept], later[kept]


def _features_of(history: KinematicHistory) -> FloatArray:
    values = np.full(len(FEATURE_NAMES), np.nan)
    if history.size == 0:
        return values
    velocity = history.enu_velocity_mps
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    climb = velocity[:, 2]
    height = history.height_m
    times = history.times_s
    first, later = baseline_pairs(times)
    dt = times[later] - times[first]
    heading = np.arctan2(velocity[:, 0], velocity[:, 1])
    turn = np.angle(np.exp(1j * (heading[later] - heading[first])))
    moving = (speed[first] > MIN_SPEED_FOR_HEADING_MPS) & (speed[later] > MIN_SPEED_FOR_HEADING_MPS)
    turn_rate = np.where(moving, np.degrees(np.abs(turn)) / dt, np.nan)
    # Horizontal only: a feed's vertical rate comes in coarse steps (64 ft/min).
    change = np.linalg.norm(velocity[later, :2] - velocity[first, :2], axis=1)
    acceleration = change / dt
    intervals = np.diff(times)
    # Positions only where known (a velocity-only update has none).
    horizontal = history.enu_position_m[:, :2]
    horizontal = horizontal[np.all(np.isfinite(horizontal), axis=1)]
    steps = np.linalg.norm(np.diff(horizontal, axis=0), axis=1)
    path = float(steps.sum())
    net = float(np.linalg.norm(horizontal[-1] - horizontal[0])) if len(horizontal) else 0.0
    rcs = history.rcs_dbsm[np.isfinite(history.rcs_dbsm)]
    speed_p95, speed_p5 = finite_percentiles(speed, (95.0, 5.0))
    height_p95, height_p5 = finite_percentiles(height, (95.0, 5.0))
    climb_p95, climb_p5 = finite_percentiles(climb, (95.0, 5.0))
    turn_p50, turn_p90 = finite_percentiles(turn_rate, (50.0, 90.0))
    acceleration_p50, acceleration_p90 = finite_percentiles(acceleration, (50.0, 90.0))
    (interval_p50,) = finite_percentiles(intervals, (50.0,))
    computed = {
        "speed_mean_mps": _finite_or_nan(speed, "mean"),
        "speed_max_mps": speed_p95,
        "speed_min_mps": speed_p5,
        "speed_std_mps": _finite_or_nan(speed, "std"),
        "height_mean_m": _finite_or_nan(height, "mean"),
        "height_max_m": height_p95,
        "height_min_m": height_p5,
        "height_std_m": _finite_or_nan(height, "std"),
        "climb_rate_mean_abs_mps": _finite_or_nan(np.abs(climb), "mean"),
        "climb_rate_max_mps": climb_p95,
        "climb_rate_min_mps": climb_p5,
        "turn_rate_median_abs_dps": turn_p50,
        "turn_rate_p90_abs_dps": turn_p90,
        "acceleration_median_mps2": acceleration_p50,
        "acceleration_p90_mps2": acceleration_p90,
        # Net over travelled distance: 1 for a straight leg, near 0 for a loiter or jitter.
        "path_straightness": net / path if path > 1.0 else float("nan"),
        "hover_fraction": float(np.mean(speed[np.isfinite(speed)] < HOVER_SPEED_MPS))
        if np.isfinite(speed).any()
        else float("nan"),
        "duration_s": float(times[-1] - times[0]),
        "report_interval_median_s": interval_p50,
        "rcs_mean_dbsm": float(np.mean(rcs)) if rcs.size else float("nan"),
        "rcs_std_dbsm": float(np.std(rcs)) if rcs.size >= 2 else float("nan"),
        "has_icao24": float(history.has_icao24),
        "has_mmsi": float(history.has_mmsi),
    }
    for index, name in enumerate(FEATURE_NAMES):
        values[index] = computed[name]
    return values
