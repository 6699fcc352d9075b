"""Which simulated object a track was following at a given time, read from a run folder.

Scenario checks speak of truth objects ("every hostile drone is alerted"), the pipeline
speaks of tracks. An alert or an assessment names a track and a time; the track's own
position at that time, compared with every truth object's position at the same time,
says which object it was. Positions go into one local ENU frame so that the distance is
three-dimensional: an airliner at FL360 is never confused with a drone beneath it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hotzone.geo import LocalFrame, geodesic_distance_m
from hotzone.runtime.pipeline import delivery_time
from hotzone.runtime.run_folders import run_file
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import Scenario
from hotzone.sim.simulator import run_duration, simulate
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    GeoPoint,
    RunMode,
    Track,
    TruthState,
    read_jsonl,
)

FloatArray = NDArray[np.float64]

# A track more than this far from every truth object is not following any of them (it
# is clutter or a ghost). Track errors in these scenarios are a few hundred metres.
MATCH_GATE_M = 2_000.0


@dataclass(frozen=True)
class Path3D:
    """Times (POSIX s) and ENU positions (m) of one object, in time order."""

    times: FloatArray
    positions: FloatArray

    def at(self, time_s: float) -> FloatArray | None:
        """The position at ``time_s`` (linear between samples); None outside the path."""
        if time_s < self.times[0] - 1e-6 or time_s > self.times[-1] + 1e-6:
            return None
        return np.array(
            [np.interp(time_s, self.times, self.positions[:, axis]) for axis in range(3)]
        )

    def last_at_or_before(self, time_s: float) -> FloatArray | None:
        index = int(np.searchsorted(self.times, time_s + 1e-6)) - 1
        return None if index < 0 else self.positions[index]


def _paths(
    frame: LocalFrame, items: Iterable[tuple[str, float, float, float, float]]
) -> dict[str, Path3D]:
    grouped: dict[str, list[tuple[float, float, float, float]]] = {}
    for key, time_s, lat, lon, height in items:
        grouped.setdefault(key, []).append((time_s, lat, lon, height))
    paths = {}
    for key, rows in grouped.items():
        table = np.array(sorted(rows), dtype=np.float64)
        enu = np.asarray(frame.geodetic_to_enu(table[:, 1], table[:, 2], table[:, 3]))
        paths[key] = Path3D(table[:, 0], enu.reshape(-1, 3))
    return paths


@dataclass
class RunRecord:
    """The truth and the pipeline's outputs of one run, with truth-to-track matching."""

    scenario: Scenario
    truth: list[TruthState]
    tracks: list[Track]
    assessments: list[Assessment]
    alerts: list[Alert]

    def __post_init__(self) -> None:
        self.frame = self.scenario.frame
        self.truth_paths = _paths(
            self.frame,
            ((s.target_id, s.time.timestamp(), *_lat_lon_height(s.position)) for s in self.truth),
        )
        self.track_paths = _paths(
            self.frame,
            ((t.track_id, t.time.timestamp(), *_lat_lon_height(t.position)) for t in self.tracks),
        )
        first: dict[str, TruthState] = {}
        for state in self.truth:
            first.setdefault(state.target_id, state)
        self.objects = first
        """The first truth state of every object: its class, affiliation and identity."""

    @classmethod
    def read(cls, scenario: Scenario, run_folder: Path) -> RunRecord:
        def of_type(path: Path, kind: type) -> list:  # type: ignore[type-arg]
            return [m for m in read_jsonl(path) if isinstance(m, kind)]

        return cls(
            scenario=scenario,
            truth=of_type(run_file(run_folder, "inputs/truth.jsonl"), TruthState),
            tracks=of_type(run_file(run_folder, "outputs/tracks.jsonl"), Track),
            assessments=of_type(run_file(run_folder, "outputs/assessments.jsonl"), Assessment),
            alerts=of_type(run_file(run_folder, "outputs/alerts.jsonl"), Alert),
        )

    def object_of(self, track_id: str, time_s: float) -> tuple[str | None, float]:
        """The truth object the track followed at ``time_s``, and how far from it it was.

        The track's position is its latest update at or before ``time_s`` (an alert is
        raised on the update it was computed from); each truth object is interpolated to
        that update's time.
        """
        path = self.track_paths.get(track_id)
        if path is None:
            return None, float("inf")
        index = int(np.searchsorted(path.times, time_s + 1e-6)) - 1
        index = max(index, 0)
        update_s, position = float(path.times[index]), path.positions[index]
        best, best_distance = None, float("inf")
        for target_id, truth in self.truth_paths.items():
            where = truth.at(update_s)
            if where is None:
                continue
            distance = float(np.linalg.norm(where - position))
            if distance < best_distance:
                best, best_distance = target_id, distance
        if best_distance > MATCH_GATE_M:
            return None, best_distance
        return best, best_distance

    def alerts_by_object(self) -> tuple[dict[str, list[Alert]], list[Alert]]:
        """Alerts that name a track, grouped by the object it followed; and the unmatched."""
        matched: dict[str, list[Alert]] = {}
        unmatched: list[Alert] = []
        for alert in self.alerts:
            if alert.track_id is None:
                continue
            target_id, _ = self.object_of(alert.track_id, alert.time.timestamp())
            if target_id is None:
                unmatched.append(alert)
            else:
                matched.setdefault(target_id, []).append(alert)
        return matched, unmatched

    def first_inside(self, target_id: str) -> tuple[float, str] | None:
        """When (POSIX s) the object first came inside a defended asset's radius, and which."""
        states = [s for s in self.truth if s.target_id == target_id]
        lat = np.array([s.position.lat_deg for s in states])
        lon = np.array([s.position.lon_deg for s in states])
        times = np.array([s.time.timestamp() for s in states])
        first: tuple[float, str] | None = None
        for asset in self.scenario.defended_assets:
            distance = geodesic_distance_m(asset.position.lat_deg, asset.position.lon_deg, lat, lon)
            inside = np.flatnonzero(np.asarray(distance) <= float(asset.radius))
            if inside.size and (first is None or times[inside[0]] < first[0]):
                first = (float(times[inside[0]]), asset.name)
        return first


def _lat_lon_height(position: GeoPoint) -> tuple[float, float, float]:
    return position.lat_deg, position.lon_deg, position.height_m


def run_stages_directly(scenario: Scenario, seed: int, clock_period_s: float = 1.0) -> RunRecord:
    """Simulate ``scenario`` and step its stages in one loop, without bus or store.

    The same stages as ``hotzone demo`` (`build_stages`), stepped every ``clock_period_s``
    of delivery time like the pipeline's clock; a stage's outputs reach the stages after
    it in the same step. For scenarios without a response loop this is the demo's
    pipeline minus the transport.
    """
    run = build_stages(scenario, seed=seed, mode=RunMode.SIMULATION)
    truth: list[TruthState] = []
    outputs: list[AnyMessage] = []
    window: list[AnyMessage] = []
    next_tick: float | None = None

    def step(tick_s: float) -> None:
        time = datetime.fromtimestamp(tick_s, UTC)
        flowing = list(window)
        window.clear()
        for stage in run.stages:
            produced = stage.step(time, [m for m in flowing if stage.accepts(m)])
            outputs.extend(produced)
            flowing.extend(produced)

    for message in simulate(
        scenario,
        seed=seed,
        duration_s=run_duration(scenario, None),
        include_truth=True,
        removals=run.removals,
    ):
        at = delivery_time(message)
        if next_tick is None:
            next_tick = (math.floor(at / clock_period_s) + 1) * clock_period_s
        while at >= next_tick:
            step(next_tick)
            next_tick += clock_period_s
        if isinstance(message, TruthState):
            truth.append(message)
        window.append(message)
    if next_tick is not None:
        step(next_tick)
    return RunRecord(
        scenario=scenario,
        truth=truth,
        tracks=[m for m in outputs if isinstance(m, Track)],
        assessments=[m for m in outputs if isinstance(m, Assessment)],
        alerts=[m for m in outputs if isinstance(m, Alert)],
    )
