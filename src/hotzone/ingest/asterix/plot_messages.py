"""The Detection JSON of CAT048 plots decoded as columns (issue 17, the live column path).

``hotzone ingest asterix --udp ... --track`` tracks the plots of each datagram from the
batch decoder's columns (`hotzone.ingest.asterix.batch`), and still publishes every plot
on the bus for the store and the audit, as the Detection the per-record decoder makes
(`cat048_to_detection`). Building that Detection costs more than the rest of the plot's
way (its checks run on every construction, and they were already made once for the
whole block: the decoder's label, aware times); `plot_payloads` encodes the same fields,
in the same order, from a struct without those checks. The bytes are those of
``to_json(cat048_to_detection(record))``: the tests compare them plot for plot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from hotzone.ingest.asterix.batch import ABSENT_SIGNED, Cat048Batch, PlotColumns
from hotzone.ingest.asterix.mapping import MappingContext
from hotzone.types import GeoPoint
from hotzone.types.enums import MeasurementKind, TargetClass

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = 0.0


class DetectionFields(msgspec.Struct, frozen=True, tag_field="type", tag="detection", kw_only=True):
    """`hotzone.types.Detection`'s fields in its order (the tests hold them equal), without
    its construction checks: what the bus carries of a plot already checked."""

    releasability: str = "NATO"
    detection_id: str
    time: datetime
    sensor_id: str
    kind: MeasurementKind
    values: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    sensor_position: GeoPoint
    sector: str = ""
    doppler_mps: float | None = None
    rcs_dbsm: float | None = None
    snr_db: float | None = None
    class_hint: TargetClass | None = None
    class_confidence: float | None = None
    received_at: datetime | None = None
    icao24: str | None = None
    squawk: str | None = None
    callsign: str | None = None


_encoder = msgspec.json.Encoder()


def plot_payloads(
    batch: Cat048Batch,
    plots: PlotColumns,
    context: MappingContext,
    ids: list[str] | None = None,
) -> list[bytes]:
    """The JSON of the Detection of each plot of ``plots`` (mapped from ``batch`` with
    ``context``), in its rows' order; ``ids`` are `PlotColumns.detection_ids` when the
    caller has them already."""
    rows = batch.rows[plots.record]
    ids = plots.detection_ids() if ids is None else ids
    doppler = [
        None if value == ABSENT_SIGNED else float(value)
        for value in rows["doppler_speed_mps"].tolist()
    ]
    squawk = [None if code < 0 else f"{code:04o}" for code in rows["mode_3a"].tolist()]
    sensor_ids = [sensor_id for sensor_id, _ in plots.sites]
    positions = [position for _, position in plots.sites]
    sector, received_at, label = context.sector, context.received_at, context.releasability
    polar = MeasurementKind.POLAR
    encode = _encoder.encode
    return [
        encode(
            DetectionFields(
                releasability=label,
                detection_id=identifier,
                time=_EPOCH + timedelta(microseconds=micros),
                sensor_id=sensor_ids[site],
                kind=polar,
                values=(values[0], values[1], values[2]),
                covariance=(
                    (variances[0], _ZERO, _ZERO),
                    (_ZERO, variances[1], _ZERO),
                    (_ZERO, _ZERO, variances[2]),
                ),
                sensor_position=positions[site],
                sector=sector,
                doppler_mps=speed,
                received_at=received_at,
                icao24=icao24,
                squawk=code,
                callsign=callsign,
            )
        )
        for identifier, micros, site, values, variances, speed, icao24, code, callsign in zip(
            ids,
            plots.times_us.tolist(),
            plots.site.tolist(),
            plots.values.tolist(),
            plots.variances.tolist(),
            doppler,
            plots.icao24,
            squawk,
            plots.callsign,
            strict=True,
        )
    ]


__all__ = ["DetectionFields", "plot_payloads"]
