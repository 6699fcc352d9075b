"""Plots of a rotating surveillance radar, made as `Detection` messages (what the ASTERIX
CAT048 decoder gives `hotzone track --from asterix`), for the time-based track management
tests: each target is seen once per rotation, when the beam passes its azimuth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from hotzone.types import Detection, GeoPoint, MeasurementKind
from hotzone.types.arrays import FloatArray

SITE = GeoPoint(lat_deg=54.07, lon_deg=22.88, height_m=230.0)
START_S = datetime(2025, 3, 14, 2, 0, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class RadarRun:
    plots: list[Detection]
    """In time order."""
    first_plot_s: FloatArray
    """(targets,) time of each target's first plot (inf: never seen)."""
    start: FloatArray
    velocity: FloatArray

    def truth(self, time_s: float) -> FloatArray:
        """(targets, 3) positions in the radar's ENU frame."""
        result: FloatArray = self.start + (time_s - START_S) * self.velocity
        return result


def rotating_radar(
    targets: int,
    period_s: float,
    rotations: int,
    rng: np.random.Generator,
    detection_probability: float = 0.9,
    clutter_per_rotation: float = 20.0,
    range_sigma_m: float = 50.0,
    azimuth_sigma_deg: float = 0.15,
    silent_after_s: FloatArray | None = None,
    sensor_id: str = "asr",
    scan_offset_s: float = 0.0,
    same_targets_as: RadarRun | None = None,
) -> RadarRun:
    """``targets`` aircraft 10-140 km from the radar flying straight at 60-250 m/s.

    ``silent_after_s[i]``: target i is no longer detected after this many seconds (the
    radar keeps rotating and reporting the others). ``same_targets_as``: a second radar
    at the same site seeing the targets of that run (``targets`` must match)."""
    if same_targets_as is None:
        distance = rng.uniform(10_000.0, 140_000.0, targets)
        bearing = rng.uniform(0.0, 2 * np.pi, targets)
        start = np.stack(
            [
                distance * np.sin(bearing),
                distance * np.cos(bearing),
                rng.uniform(500, 11_000, targets),
            ],
            axis=1,
        )
        speed = rng.uniform(60.0, 250.0, targets)
        heading = rng.uniform(0.0, 2 * np.pi, targets)
        velocity = np.stack(
            [speed * np.sin(heading), speed * np.cos(heading), np.zeros(targets)], axis=1
        )
    else:
        start, velocity = same_targets_as.start, same_targets_as.velocity
    run = RadarRun([], np.full(targets, np.inf), start, velocity)
    rows: list[tuple[float, float, float, float]] = []
    for rotation in range(rotations):
        rotation_start = START_S + scan_offset_s + rotation * period_s
        # Where each target is when the beam passes it (the azimuth moves little in one turn).
        position = run.truth(rotation_start)
        azimuth = np.degrees(np.arctan2(position[:, 0], position[:, 1])) % 360.0
        times = rotation_start + azimuth / 360.0 * period_s
        position = start + (times - START_S)[:, None] * velocity
        detected = rng.random(targets) < detection_probability
        if silent_after_s is not None:
            detected &= times - START_S < silent_after_s
        for index in np.flatnonzero(detected):
            run.first_plot_s[index] = min(run.first_plot_s[index], times[index])
            rows.append((times[index], *_polar(position[index])))
        for _ in range(rng.poisson(clutter_per_rotation)):
            clutter = np.array([*rng.uniform(-140_000.0, 140_000.0, 2), rng.uniform(100.0, 8000.0)])
            rows.append((rotation_start + rng.uniform(0.0, period_s), *_polar(clutter)))
    rows.sort()
    for number, (time_s, slant, azimuth_deg, elevation_deg) in enumerate(rows):
        elevation_sigma_deg = float(np.degrees(100.0 / max(slant, 1.0)))
        run.plots.append(
            Detection(
                detection_id=f"{sensor_id}-plot-{number}",
                time=datetime.fromtimestamp(time_s, tz=UTC),
                sensor_id=sensor_id,
                kind=MeasurementKind.POLAR,
                values=(
                    slant + range_sigma_m * float(rng.standard_normal()),
                    (azimuth_deg + azimuth_sigma_deg * float(rng.standard_normal())) % 360.0,
                    elevation_deg + elevation_sigma_deg * float(rng.standard_normal()),
                ),
                covariance=(
                    (range_sigma_m**2, 0.0, 0.0),
                    (0.0, azimuth_sigma_deg**2, 0.0),
                    (0.0, 0.0, elevation_sigma_deg**2),
                ),
                sensor_position=SITE,
            )
        )
    return run


def _polar(position: FloatArray) -> tuple[float, float, float]:
    slant = float(np.linalg.norm(position))
    azimuth = float(np.degrees(np.arctan2(position[0], position[1])) % 360.0)
    elevation = float(np.degrees(np.arcsin(position[2] / slant)))
    return slant, azimuth, elevation
