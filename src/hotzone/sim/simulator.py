"""The simulator engine: targets and sensors of a scenario -> time-ordered sensor messages.

For each sensor the engine asks when it observes over the run, computes the truth of every
target at exactly those instants (one `TruthBatch` per instant, shared by sensors that
observe at the same time) and calls the sensor with its own random generator. Generators
are spawned from the seed in sensor declaration order, so adding a sensor at the end
leaves the other sensors' output unchanged.

The run advances in windows (60 s by default) so a long run never holds all its messages:
after each window every message delivered before the window's end is released, ordered by
delivery time (``received_at`` if set, else ``time``), ties broken by sensor order, then by
emission order. Same scenario, seed and duration give byte-identical output.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from hotzone.sim.scenario import Scenario
from hotzone.sim.sensors import (
    CyberAttack,
    JammingArea,
    SensorContext,
    SensorModel,
    SensorOutput,
    build_sensor,
)
from hotzone.sim.targets import TargetSet, TargetStates, build_targets
from hotzone.sim.truth import TruthBatch
from hotzone.types import GeoPoint, StandardIdentity, TargetClass, TruthState, write_jsonl
from hotzone.types.arrays import FloatArray

DEFAULT_WINDOW_S = 60.0
DETECTIONS_FILE = "detections.jsonl"
TRUTH_FILE = "truth.jsonl"

SimulatedMessage = SensorOutput | TruthState
ProgressCallback = Callable[[float], None]


class SimulationError(ValueError):
    """A run that cannot be simulated as asked (bad duration, a sensor that cannot be built)."""


# --------------------------------------------------------------------------- set-up


def run_duration(scenario: Scenario, duration_s: float | None) -> float:
    duration = scenario.duration_s if duration_s is None else float(duration_s)
    if not math.isfinite(duration) or duration <= 0.0:
        raise SimulationError(f"duration must be a positive number of seconds, got {duration_s}")
    return duration


def sensor_context(scenario: Scenario, duration_s: float, sector: str) -> SensorContext:
    """What sensors may know of ``scenario`` for a run of ``duration_s``."""
    start = scenario.start
    end = start + timedelta(seconds=duration_s)
    jamming = tuple(
        JammingArea(
            center=GeoPoint(
                lat_deg=area.center.lat_deg,
                lon_deg=area.center.lon_deg,
                height_m=float(area.center.altitude),
            ),
            radius_m=float(area.radius),
            start=start + timedelta(seconds=float(area.start)),
            end=end if area.end is None else start + timedelta(seconds=float(area.end)),
            strength=area.strength,
        )
        for area in scenario.jamming_areas
    )
    attacks = tuple(
        CyberAttack(
            target_sensor_id=attack.sensor,
            start=start + timedelta(seconds=float(attack.start)),
            end=start + timedelta(seconds=float(attack.end)),
            kind=attack.kind,
            severity=attack.severity,
        )
        for attack in scenario.cyber_attacks
    )
    sites = {
        config.id: GeoPoint(
            lat_deg=config.lat_deg, lon_deg=config.lon_deg, height_m=config.height_m
        )
        for config in scenario.sensors
    }
    return SensorContext(
        scenario_name=scenario.name,
        start=start,
        end=end,
        frame=scenario.frame,
        sector=sector,
        releasability=scenario.releasability,
        jamming_areas=jamming,
        cyber_attacks=attacks,
        sensor_sites=sites,
    )


def nearest_sector(scenario: Scenario, lat_deg: float, lon_deg: float) -> str:
    """The sector whose origin is nearest (horizontally) to a position."""
    frame = scenario.frame
    point = frame.geodetic_to_enu(lat_deg, lon_deg, 0.0)[:2]
    origins = frame.geodetic_to_enu(
        [sector.origin.lat_deg for sector in scenario.sectors],
        [sector.origin.lon_deg for sector in scenario.sectors],
        0.0,
    )[:, :2]
    distances = np.hypot(*(origins - point).T)
    return scenario.sectors[int(np.argmin(distances))].name


def build_sensors(scenario: Scenario, duration_s: float | None = None) -> list[SensorModel]:
    """The scenario's sensor models, in declaration order."""
    duration = run_duration(scenario, duration_s)
    sensors: list[SensorModel] = []
    for index, config in enumerate(scenario.sensors):
        sector = config.sector or nearest_sector(scenario, config.lat_deg, config.lon_deg)
        context = sensor_context(scenario, duration, sector)
        try:
            sensors.append(build_sensor(config, context))
        except ValueError as error:
            raise SimulationError(f"$.sensors[{index}] ({config.id}): {error}") from None
    return sensors


# --------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _TargetColumns:
    """Per-target constants of a `TruthBatch`, indexed by target column."""

    ids: tuple[str, ...]
    classes: tuple[TargetClass, ...]
    affiliations: tuple[StandardIdentity, ...]
    rcs_dbsm: FloatArray
    icao24: tuple[str | None, ...]
    callsign: tuple[str | None, ...]
    mmsi: tuple[int | None, ...]

    @classmethod
    def of(cls, target_set: TargetSet) -> _TargetColumns:
        targets = target_set.targets
        return cls(
            ids=tuple(target.target_id for target in targets),
            classes=tuple(target.target_class for target in targets),
            affiliations=tuple(target.affiliation for target in targets),
            rcs_dbsm=np.array([target.rcs_dbsm for target in targets], dtype=np.float64),
            icao24=tuple(target.icao24 for target in targets),
            callsign=tuple(target.callsign for target in targets),
            mmsi=tuple(target.mmsi for target in targets),
        )


def _utc(posix_s: float) -> datetime:
    return datetime.fromtimestamp(float(posix_s), tz=UTC)


def _truth_batch(states: TargetStates, row: int, columns: _TargetColumns) -> TruthBatch:
    live = np.flatnonzero(states.alive[row])
    return TruthBatch(
        time=_utc(states.times[row]),
        target_ids=tuple(columns.ids[i] for i in live),
        target_class=tuple(columns.classes[i] for i in live),
        affiliation=tuple(columns.affiliations[i] for i in live),
        enu_position_m=states.enu_position_m[row, live],
        enu_velocity_mps=states.enu_velocity_mps[row, live],
        lat_deg=states.lat_deg[row, live],
        lon_deg=states.lon_deg[row, live],
        height_m=states.height_m[row, live],
        ecef_m=states.ecef_m[row, live],
        velocity_ecef_mps=states.velocity_ecef_mps[row, live],
        rcs_dbsm=columns.rcs_dbsm[live],
        transponder_on=states.transponder_on[row, live],
        icao24=tuple(columns.icao24[i] for i in live),
        callsign=tuple(columns.callsign[i] for i in live),
        mmsi=tuple(columns.mmsi[i] for i in live),
    )


def truth_states(batch: TruthBatch, releasability: str) -> list[TruthState]:
    """One `TruthState` per object of ``batch``, rounded to 1 cm / 1 mm/s to keep files lean."""
    lat = np.round(batch.lat_deg, 7).tolist()
    lon = np.round(batch.lon_deg, 7).tolist()
    height = np.round(batch.height_m, 2).tolist()
    position = np.round(batch.enu_position_m, 2).tolist()
    velocity = np.round(batch.enu_velocity_mps, 3).tolist()
    return [
        TruthState(
            time=batch.time,
            target_id=batch.target_ids[i],
            target_class=batch.target_class[i],
            affiliation=batch.affiliation[i],
            position=GeoPoint(lat_deg=lat[i], lon_deg=lon[i], height_m=height[i]),
            enu_position_m=(position[i][0], position[i][1], position[i][2]),
            enu_velocity_mps=(velocity[i][0], velocity[i][1], velocity[i][2]),
            transponder_on=bool(batch.transponder_on[i]),
            icao24=batch.icao24[i],
            mmsi=batch.mmsi[i],
            callsign=batch.callsign[i],
            releasability=releasability,
        )
        for i in range(batch.size)
    ]


class _WindowTruth:
    """Truth batches of one window, built once per instant and shared by the sensors."""

    def __init__(self, states: TargetStates, columns: _TargetColumns) -> None:
        self._states = states
        self._columns = columns
        self._batches: dict[int, TruthBatch] = {}

    def __call__(self, time: float) -> TruthBatch:
        row = int(np.searchsorted(self._states.times, time))
        if row not in self._batches:
            self._batches[row] = _truth_batch(self._states, row, self._columns)
        return self._batches[row]


def _delivery_time(message: SensorOutput) -> float:
    received_at: datetime | None = getattr(message, "received_at", None)
    return (received_at or message.time).timestamp()


def _observation_times(sensor: SensorModel, start: float, end: float) -> FloatArray:
    times = np.asarray(sensor.observation_times(start, end), dtype=np.float64).ravel()
    times = times[np.isfinite(times) & (times >= start) & (times < end)]
    return np.sort(times, kind="stable")


def simulate(
    scenario: Scenario,
    seed: int = 1,
    duration_s: float | None = None,
    *,
    include_truth: bool = False,
    sensors: Sequence[SensorModel] | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    on_progress: ProgressCallback | None = None,
    removals: Mapping[str, float] | None = None,
) -> Iterator[SimulatedMessage]:
    """Stream every sensor message of a run in delivery order.

    ``removals`` (target id -> POSIX time) closes the loop with the response: a target
    stopped by an effector no longer exists from that time on. The caller may add to it
    while the run streams; it takes effect from the next window computed, so a short
    ``window_s`` gives a prompt effect.

    ``include_truth`` interleaves a `TruthState` per target and truth step (before the
    sensor messages of the same instant). ``sensors`` replaces the scenario's sensor
    models (tests use tiny ones). ``on_progress`` gets the simulated seconds done after
    each window.
    """
    duration = run_duration(scenario, duration_s)
    if not window_s > 0.0:
        raise SimulationError(f"window must be a positive number of seconds, got {window_s}")
    models = list(build_sensors(scenario, duration) if sensors is None else sensors)
    target_set = build_targets(scenario.targets, scenario.frame, scenario.start_posix)
    return _run(
        scenario,
        seed,
        duration,
        include_truth,
        models,
        target_set,
        window_s,
        on_progress,
        removals if removals is not None else {},
    )


def _run(
    scenario: Scenario,
    seed: int,
    duration: float,
    include_truth: bool,
    sensors: list[SensorModel],
    target_set: TargetSet,
    window_s: float,
    on_progress: ProgressCallback | None,
    removals: Mapping[str, float],
) -> Iterator[SimulatedMessage]:
    start = scenario.start_posix
    end = start + duration
    generators = [
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(len(sensors))
    ]
    sensor_times = [_observation_times(sensor, start, end) for sensor in sensors]
    truth_step_count = math.ceil(duration / scenario.step_s - 1e-9)
    truth_times = start + scenario.step_s * np.arange(truth_step_count, dtype=np.float64)
    columns = _TargetColumns.of(target_set)
    # (delivery time, sensor order (-1 for truth), emission order, message): the first three
    # are unique, so messages themselves are never compared.
    pending: list[tuple[float, int, int, SimulatedMessage]] = []
    emitted = 0
    window_count = math.ceil(duration / window_s - 1e-9)
    for window in range(window_count):
        window_start = start + window * window_s
        window_end = min(start + (window + 1) * window_s, end)
        in_window = [
            times[(times >= window_start) & (times < window_end)] for times in sensor_times
        ]
        window_truth = truth_times[(truth_times >= window_start) & (truth_times < window_end)]
        instants = np.unique(np.concatenate([*in_window, window_truth if include_truth else []]))
        states = target_set.evaluate(instants)
        _apply_removals(states, columns, removals)
        truth_at = _WindowTruth(states, columns)

        if include_truth:
            for time in window_truth:
                for state in truth_states(truth_at(time), scenario.releasability):
                    heapq.heappush(pending, (float(time), -1, emitted, state))
                    emitted += 1
        for order, (sensor, times) in enumerate(zip(sensors, in_window, strict=True)):
            for time in times:
                for message in sensor.observe(truth_at(time), generators[order]):
                    heapq.heappush(pending, (_delivery_time(message), order, emitted, message))
                    emitted += 1
        # Later windows only produce messages observed (hence delivered) from window_end on.
        while pending and pending[0][0] < window_end:
            yield heapq.heappop(pending)[3]
        if on_progress is not None:
            on_progress(window_end - start)
    while pending:
        yield heapq.heappop(pending)[3]


def _apply_removals(
    states: TargetStates, columns: _TargetColumns, removals: Mapping[str, float]
) -> None:
    for target_id, removed_at in list(removals.items()):
        if target_id in columns.ids:
            column = columns.ids.index(target_id)
            states.alive[states.times >= removed_at, column] = False


# --------------------------------------------------------------------------- to files


def _describe_counts(counts: Counter[str]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())) or "none"


def _flush(buffer: list[SimulatedMessage], stream: IO[bytes]) -> None:
    write_jsonl(buffer, stream)
    buffer.clear()


def simulate_to_directory(
    scenario: Scenario,
    out_dir: Path | str,
    seed: int = 1,
    duration_s: float | None = None,
    progress: bool = True,
    *,
    sensors: Sequence[SensorModel] | None = None,
) -> str:
    """Write ``detections.jsonl`` and ``truth.jsonl`` into ``out_dir``; returns a summary."""
    directory = Path(out_dir)
    if directory.exists() and not directory.is_dir():
        raise SimulationError(f"{directory}: exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    duration = run_duration(scenario, duration_s)
    counts: Counter[str] = Counter()
    truth_count = 0
    progress_bar = _progress_bar(scenario.name, duration) if progress else None
    on_progress: ProgressCallback | None = None
    if progress_bar is not None:
        progress_bar.start()
        task = progress_bar.add_task("simulating", total=duration)

        def on_progress(done_s: float) -> None:
            progress_bar.update(task, completed=done_s)

    sensor_messages: list[SimulatedMessage] = []
    truth_messages: list[SimulatedMessage] = []
    try:
        with (
            open(directory / DETECTIONS_FILE, "wb") as detections_stream,
            open(directory / TRUTH_FILE, "wb") as truth_stream,
        ):
            stream = simulate(
                scenario,
                seed,
                duration,
                include_truth=True,
                sensors=sensors,
                on_progress=on_progress,
            )
            for message in stream:
                if isinstance(message, TruthState):
                    truth_messages.append(message)
                    truth_count += 1
                    if len(truth_messages) >= 4096:
                        _flush(truth_messages, truth_stream)
                else:
                    sensor_messages.append(message)
                    counts[type(message).__name__.lower()] += 1
                    if len(sensor_messages) >= 4096:
                        _flush(sensor_messages, detections_stream)
            _flush(truth_messages, truth_stream)
            _flush(sensor_messages, detections_stream)
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    sensor_count = len(scenario.sensors) if sensors is None else len(sensors)
    return (
        f"{scenario.name}: {duration:g} s simulated with seed {seed}, {sensor_count} sensors, "
        f"{len(scenario.targets)} targets: {sum(counts.values())} sensor messages "
        f"({_describe_counts(counts)}) in {directory / DETECTIONS_FILE}, "
        f"{truth_count} truth states in {directory / TRUTH_FILE}"
    )


def _progress_bar(name: str, duration: float) -> Progress:
    return Progress(
        TextColumn(f"simulating {name}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} / {task.total:,.0f} s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
