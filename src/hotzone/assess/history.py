"""Recent history of every track, built from the `Track` messages the fusion stage emits.

Each record also knows the releasability of what it holds (`TrackRecord.label`): the meet
of the labels of the states in its window, of the first state (the track's origin, which
identity uses for as long as the track lives) and of the states that gave its remembered
identity (ICAO address, callsign, MMSI). A track message whose label shares no nation
with that starts the record afresh: no nation could receive what is derived from both.

The fusion stage sends every track once per tracker window, updated or not: a track fed
every 10 s by a sparse ADS-B feed arrives ten times between two reports, nine of them
predictions. The classifier must see the reports, as it is trained to (a simulated
history holds a state per update: `hotzone.sim.training_data`), so each state is marked
*measured* or *predicted* (`is_measurement_update`) and `TrackHistories.kinematic` gives
the measured ones only: the report interval then reads the feed's (10 s), not the
window's (1 s), and nine coasted straight-line predictions do not dilute the turns,
accelerations and hover of each real report. All states stay in the record (the anomaly
detectors read positions over time).

A state whose track says it is on the ground (`Track.on_ground`: the latest flag of the
track's reports, an SBS "is on ground", an ADS-B surface position, readsb's ``"ground"``,
CAT021's ground bit) is left out of `TrackHistories.kinematic` too, as the ground phase
found from speeds and heights is: an airliner taxiing at 13-15 m/s is above the speed
rule's stop and was read as a helicopter's transit (docs/assess.md, "The feed's ground
flag").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hotzone.assess.features import (
    GROUND_PHASE_MIN_STATES,
    KinematicHistory,
    without_ground_phase,
)
from hotzone.types import GeoPoint, Track
from hotzone.types.labels import Label, meet_all

MEASURED_GROWTH_TOLERANCE = 1.001
"""A state is a measurement update when its position variance (the trace of the position
block of its covariance) is at most this times the previous state's. A prediction always
grows it (process noise over the elapsed time); an update shrinks it (by a factor of 3
on a 10 s feed) or, on a track updated every window, holds it steady. On the real FLARM
day as a 10 s feed through the default tracker (tests/golden/flarm_lfmy), 99.9 % of the
states that followed a report are so marked and 0.3 % of the coasted ones. An update by
a much poorer sensor than the previous one can read as a prediction: the history is then
thinner, not wrong. A track without a covariance (all zeros) keeps every state."""


def position_variance(track: Track) -> float:
    """The trace of the position block (up to 3 x 3) of a track's covariance; 0 if none."""
    covariance = np.asarray(track.covariance, dtype=np.float64)
    if covariance.ndim != 2 or covariance.size == 0:
        return 0.0
    dims = min(3, covariance.shape[0], covariance.shape[1])
    return float(np.trace(covariance[:dims, :dims]))


UNMEASURED_VELOCITY_VARIANCE = 50.0**2
"""Per axis (m²/s²): above it, a track's velocity of exactly zero was never measured."""


def velocity_unmeasured(track: Track) -> bool:
    """Whether ``track``'s velocity is not a measurement but a placeholder: exactly zero with
    a velocity variance above `UNMEASURED_VELOCITY_VARIANCE` per axis. A cooperative track
    confirmed at its first report (an address seen before, back in coverage) starts so;
    read as a stop, its first state made light aircraft look like hovering helicopters (on
    the real FLARM day, light-aircraft recall 0.57 -> 0.23). A track made from two or more
    reports never has a velocity of exactly zero."""
    if any(track.enu_velocity_mps):
        return False
    covariance = np.asarray(track.covariance, dtype=np.float64)
    if covariance.ndim != 2 or covariance.shape[0] not in (4, 6):
        return False
    dims = int(covariance.shape[0]) // 2
    velocity = covariance[dims : 2 * dims, dims : 2 * dims]
    return float(np.trace(velocity)) > dims * UNMEASURED_VELOCITY_VARIANCE


def is_measurement_update(variance: float, previous_variance: float | None) -> bool:
    """Whether a state with position variance ``variance`` was updated by a measurement,
    after a state of ``previous_variance`` (None: the record's first state, which is)."""
    if previous_variance is None or not np.isfinite(previous_variance):
        return True
    return variance <= previous_variance * MEASURED_GROWTH_TOLERANCE


@dataclass
class TrackRecord:
    """What is remembered of one track: its recent states and what it ever claimed."""

    track_id: str
    first_position: GeoPoint
    first_time_s: float
    states: deque[tuple[float, float, float, float, float, float, float, float, float, float]] = (
        field(default_factory=deque)
    )
    """(time, e, n, u, ve, vn, vu, height, lat, lon) oldest first."""
    measured: deque[bool] = field(default_factory=deque)
    """Per state (same order): whether a measurement updated it (`is_measurement_update`)."""
    on_ground: deque[bool] = field(default_factory=deque)
    """Per state (same order): whether its track said it was on the ground
    (`Track.on_ground` True; False or None: not)."""
    last_variance: float | None = None
    """The position variance of the latest state kept."""
    latest: Track | None = None
    icao24: str | None = None
    callsign: str | None = None
    mmsi: int | None = None
    rcs_dbsm: deque[float] = field(default_factory=lambda: deque(maxlen=50))
    first_label: Label = field(default_factory=lambda: Label("NATO"))
    """The label of the first state (``first_position``)."""
    state_labels: dict[Label, float] = field(default_factory=dict)
    """Each label of a state received, with the time of the latest state that had it."""
    identity_labels: dict[str, Label] = field(default_factory=dict)
    """The label of the state that gave each remembered identity field."""
    latest_label: Label = field(default_factory=lambda: Label("NATO"))
    """The label of ``latest``."""
    held_label: Label | None = field(default=None, repr=False, compare=False)
    """`label` as last computed; None once `TrackHistories.add` changed what it is the
    meet of (the stage asks for it several times per track and step)."""

    @property
    def samples(self) -> int:
        return len(self.states)

    def label(self) -> Label:
        """The meet of the labels of everything this record holds (see the module)."""
        if self.held_label is None:
            oldest = self.states[0][0] if self.states else float("inf")
            held = [label for label, time_s in self.state_labels.items() if time_s >= oldest]
            if self.latest is not None:
                held.append(self.latest_label)
            self.held_label = meet_all([*held, *self.identity_labels.values()], self.first_label)
        return self.held_label


class TrackHistories:
    """Per-track sliding windows of fused states (``window_s`` long)."""

    def __init__(self, window_s: float = 600.0) -> None:
        if not window_s > 0.0:
            raise ValueError(f"history window must be positive, got {window_s}")
        self.window_s = window_s
        self.records: dict[str, TrackRecord] = {}
        self.restarted: set[str] = set()
        """Tracks whose record started afresh (a label with no nation in common with
        what it held); the caller forgets what it derived from the old record."""

    def add(self, track: Track, label: Label | None = None) -> TrackRecord:
        """Remember a track state; ``label`` overrides the track's own (the caller's meet
        of it with its own label)."""
        time_s = track.time.timestamp()
        label = Label.parse(track.releasability) if label is None else label
        record = self.records.get(track.track_id)
        if record is not None and not record.label().compatible(label):
            self.restarted.add(track.track_id)
            record = None
        if record is None:
            record = TrackRecord(track.track_id, track.position, time_s, first_label=label)
            self.records[track.track_id] = record
        record.held_label = None
        if record.states and time_s <= record.states[-1][0]:
            record.latest, record.latest_label = track, label
            return record  # an update out of order or repeated: keep the newest only
        variance = position_variance(track)
        record.measured.append(
            is_measurement_update(variance, record.last_variance) and not velocity_unmeasured(track)
        )
        record.last_variance = variance
        record.on_ground.append(track.on_ground is True)
        record.states.append(
            (
                time_s,
                *track.enu_position_m,
                *track.enu_velocity_mps,
                track.position.height_m,
                track.position.lat_deg,
                track.position.lon_deg,
            )
        )
        while record.states and record.states[0][0] < time_s - self.window_s:
            record.states.popleft()
            record.measured.popleft()
            record.on_ground.popleft()
        record.state_labels[label] = time_s
        oldest = record.states[0][0]
        for stale in [held for held, seen in record.state_labels.items() if seen < oldest]:
            del record.state_labels[stale]
        record.latest, record.latest_label = track, label
        for name in ("icao24", "callsign", "mmsi"):
            if getattr(track, name):
                setattr(record, name, getattr(track, name))
                record.identity_labels[name] = label
        return record

    def remove(self, track_id: str) -> None:
        self.records.pop(track_id, None)

    def kinematic(self, record: TrackRecord) -> KinematicHistory:
        """The measured states of the record's window (see the module), without the states
        its track said were on the ground (while at least `GROUND_PHASE_MIN_STATES` are
        left) and without a ground phase (`features.without_ground_phase`: a landing roll,
        taxi or stop read as a hover made real tow planes helicopters)."""
        states = np.array(record.states, dtype=np.float64).reshape(-1, 10)
        measured = np.array(record.measured, dtype=bool)
        if not measured.any():  # nothing measured yet: the latest state is all there is
            measured[-1:] = True
        flagged = np.array(record.on_ground, dtype=bool)
        airborne = measured & ~flagged
        if int(airborne.sum()) >= GROUND_PHASE_MIN_STATES:
            measured = airborne
        states = states[measured]
        history = KinematicHistory(
            times_s=states[:, 0],
            enu_position_m=states[:, 1:4],
            enu_velocity_mps=states[:, 4:7],
            height_m=states[:, 7],
            rcs_dbsm=np.array(record.rcs_dbsm, dtype=np.float64),
            has_icao24=record.icao24 is not None,
            has_callsign=record.callsign is not None,
            has_mmsi=record.mmsi is not None,
        )
        return without_ground_phase(history)
