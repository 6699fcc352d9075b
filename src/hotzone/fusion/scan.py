"""What the tracker consumes: the measurements of one sensor at about one time, as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hotzone.fusion.arrays import FloatArray
from hotzone.fusion.measurement import MeasurementModel


@dataclass(frozen=True)
class SensorScan:
    """Measurements of one sensor, all with one measurement model, in the track frame.

    Row k of every array is measurement k. ``times`` may differ per row (a rotating radar);
    the tracker predicts each track to the exact time of the measurement that updates it.
    """

    sensor_id: str
    model: MeasurementModel
    values: FloatArray  # (M, m) in the model's units (metres, radians)
    noise: FloatArray  # (M, m, m)
    times: FloatArray  # (M,) POSIX seconds
    sensor_position: FloatArray  # (3,) ENU metres of the track frame
    icao24: NDArray[np.object_] | None = None  # (M,) cooperative identity, or None
    callsign: NDArray[np.object_] | None = None
    measurement_ids: tuple[str, ...] | None = None

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    @property
    def reference_time(self) -> float:
        return float(self.times.max()) if self.size else 0.0

    def take(self, indices: NDArray[np.int64]) -> SensorScan:
        return SensorScan(
            sensor_id=self.sensor_id,
            model=self.model,
            values=self.values[indices],
            noise=self.noise[indices],
            times=self.times[indices],
            sensor_position=self.sensor_position,
            icao24=None if self.icao24 is None else self.icao24[indices],
            callsign=None if self.callsign is None else self.callsign[indices],
            measurement_ids=None
            if self.measurement_ids is None
            else tuple(self.measurement_ids[int(k)] for k in indices),
        )
