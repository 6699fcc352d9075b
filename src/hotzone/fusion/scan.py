"""What the tracker consumes: the measurements of one sensor at about one time, as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hotzone.fusion.measurement import MeasurementModel
from hotzone.types.arrays import FloatArray


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
    on_ground: NDArray[np.object_] | None = None
    """(M,) what each report said of its object: on the ground (True), airborne (False),
    nothing (None); None: no row said."""
    measurement_ids: tuple[str, ...] | None = None
    label_ids: NDArray[np.int64] | None = None
    """(M,) releasability of each row as an id of the tracker's `LabelTable`; None: the
    scan is unlabelled (its tracks take the stage's label)."""
    identity: NDArray[np.object_] | None = None
    """(M,) the object's cooperative identity, ``kind:value`` (``icao:4ca2d6``,
    ``mmsi:230123000``, ``uid:...``), or None; without the column, ``icao24`` stands in."""

    def identities(self) -> NDArray[np.object_] | None:
        """The identity of each row (``icao:`` + ``icao24`` when only that is given)."""
        if self.identity is not None:
            return self.identity
        if self.icao24 is None:
            return None
        return np.array(
            [None if value is None else f"icao:{value}" for value in self.icao24], dtype=object
        )

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
            on_ground=None if self.on_ground is None else self.on_ground[indices],
            measurement_ids=None
            if self.measurement_ids is None
            else tuple(self.measurement_ids[int(k)] for k in indices),
            label_ids=None if self.label_ids is None else self.label_ids[indices],
            identity=None if self.identity is None else self.identity[indices],
        )


def split_repeated_identities(scan: SensorScan) -> list[SensorScan]:
    """One scan per report round when an identity appears more than once.

    A scan assumes each object appears in it at most once (a measurement updates one
    track, a track takes one measurement). A cooperative source may report the same
    aircraft twice within one window; its k-th report of each identity goes to the k-th
    scan, in time order, so every report updates the track instead of starting a twin.
    """
    identities = scan.identities()
    if identities is None or scan.size < 2:
        return [scan]
    keys = [value if value is not None else f"\0row{row}" for row, value in enumerate(identities)]
    if len(set(keys)) == len(keys):
        return [scan]
    order = np.argsort(scan.times, kind="stable")
    seen: dict[object, int] = {}
    rounds = np.zeros(scan.size, dtype=np.int64)
    for row in order:
        rounds[row] = seen.get(keys[row], 0)
        seen[keys[row]] = rounds[row] + 1
    return [scan.take(np.flatnonzero(rounds == k)) for k in range(int(rounds.max()) + 1)]
