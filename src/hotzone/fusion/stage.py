"""The tracking stage the runtime calls: decoded messages of one window in, Tracks out.

A Track's releasability is the meet of the stage's own label and of the labels of the
detections and reports that contribute to it (the rule is in `hotzone.fusion.labels`):
a label never widens through fusion.

Two confirmed tracks of one cooperative identity far apart (`IdentityConflict`: spoofing,
or two transponders set to one address) become an ``observation`` `Event` with
``attributes["anomaly"] = "identity_conflict"``, taken with `TrackingStage.take_events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import numpy as np

from hotzone.fusion.association import GNNAssociator
from hotzone.fusion.conversion import MessageConverter
from hotzone.fusion.deletion import RevisitDeleter
from hotzone.fusion.estimates import TrackBatch
from hotzone.fusion.gating import ChiSquareGater
from hotzone.fusion.imm import IMMPredictor, IMMUpdater
from hotzone.fusion.initiation import RevisitInitiator
from hotzone.fusion.revisit import RevisitModel
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import IdentityConflict, MultiTargetTracker, Rejection
from hotzone.fusion.triangulation import BearingTriangulator
from hotzone.geo import LocalFrame
from hotzone.types import DeadLetter, Event, EventKind, GeoPoint, Track, TrackStatus, to_json
from hotzone.types.labels import Label, most_restrictive
from hotzone.types.subjects import as_token


def default_tracker(lag_s: float = 5.0, label_window_s: float = 60.0) -> MultiTargetTracker:
    """The operational configuration: 3-D IMM (CV + CT), GNN, identity-first association;
    management in time (docs/fusion.md): confirmed at the 3rd update (2nd for a
    cooperative identity, the 1st for one back after its track ended) with no 2.5
    expected revisits missed in between, deleted after 2.5 missed revisits, 3.5 for a
    confirmed track its sensors detect less than 97 % of the time (a cooperative
    identity: held 90 s, shown for 3.5 revisits and at least 60 s); a track's label
    widens back ``label_window_s`` after a restrictive input stops."""
    return MultiTargetTracker(
        predictor=IMMPredictor(),
        updater=IMMUpdater(),
        gater=ChiSquareGater(0.9995),
        associator=GNNAssociator(),
        initiator=RevisitInitiator(confirm_hits=3, velocity_sigma_mps=150.0),
        deleter=RevisitDeleter(
            tentative_revisits=2.5,
            confirmed_revisits=2.5,
            identity_coast_s=90.0,
            max_coast_s=900.0,
            max_position_sigma_m=5_000.0,
        ),
        revisit=RevisitModel(),
        spatial_dims=3,
        lag_s=lag_s,
        triangulator=BearingTriangulator(),
        label_window_s=label_window_s,
    )


ON_GROUND_MAX_AGE_S = 30.0
"""A track's ground flag is published while its latest flagged report is at most this old
(then None: unknown). Radar plots never say, so without an age a track whose ADS-B fell
silent would stay "on the ground" for as long as radar kept it. Feeds flag at their own
cadence (a parked transponder's surface positions every 5 s; the KLM1302 test feed one
flagged line every 10.0-11.2 s): 30 s covers a missed one or two."""


def tracks_to_messages(
    tracks: TrackBatch,
    frame: LocalFrame,
    time: datetime,
    sector: str = "",
    sensor_names: Sequence[str] = (),
    mode_names: Sequence[str] = (),
    confirmed_only: bool = False,
    releasability: str = "NATO",
    labels: Sequence[str] | None = None,
) -> list[Track]:
    """Track messages (WGS-84 and sector ENU) for the rows of a 3-D track batch.

    ``labels`` gives each row of ``tracks`` its own label; without it every track takes
    ``releasability``."""
    rows = np.flatnonzero(tracks.confirmed) if confirmed_only else np.arange(tracks.size)
    if len(rows) == 0:
        return []
    state = tracks.state[rows]
    dims = 3 if state.shape[1] >= 6 else 2
    position = np.zeros((len(rows), 3))
    position[:, :dims] = state[:, :dims]
    velocity = np.zeros((len(rows), 3))
    velocity[:, :dims] = state[:, dims : 2 * dims]
    latitude, longitude, height = frame.enu_to_geodetic(position)
    kinematic = tracks.covariance[rows][:, : 2 * dims, : 2 * dims]
    latitudes, longitudes, heights = latitude.tolist(), longitude.tolist(), height.tolist()
    positions = [(east, north, up) for east, north, up in position.tolist()]
    velocities = [(east, north, up) for east, north, up in velocity.tolist()]
    covariances = kinematic.tolist()
    fresh_ground = (time.timestamp() - tracks.on_ground_time[rows] <= ON_GROUND_MAX_AGE_S).tolist()
    # Every column becomes Python numbers in one call each (`tolist`), not one `float()`
    # per number: 36 µs a track went mostly into those calls and into testing every
    # sensor's bit of every track.
    probabilities = tracks.estimates.mode_probabilities
    modes = (
        None
        if probabilities is None or not mode_names
        else [dict(zip(mode_names, row, strict=True)) for row in probabilities[rows].tolist()]
    )
    # A track's sensors: the columns that have updated it, packed 8 to a byte as the key
    # of one lookup per track (most tracks share a handful of sensor sets).
    seen_by = np.packbits(tracks.seen_by()[rows], axis=1)
    sensors_of: dict[bytes, tuple[str, ...]] = {}
    prefix = sector or "trk"
    messages = []
    for index, (row, number, packed, confirmed, quality) in enumerate(
        zip(
            rows.tolist(),
            tracks.track_number[rows].tolist(),
            seen_by,
            tracks.confirmed[rows].tolist(),
            np.clip(tracks.quality[rows], 0.0, 1.0).tolist(),
            strict=True,
        )
    ):
        key = packed.tobytes()
        sensors = sensors_of.get(key)
        if sensors is None:
            columns = np.flatnonzero(np.unpackbits(packed)).tolist()
            sensors = sensors_of[key] = tuple(
                sensor_names[column] for column in columns if column < len(sensor_names)
            )
        messages.append(
            Track(
                track_id=f"{prefix}-{number}",
                track_number=number,
                time=time,
                status=TrackStatus.CONFIRMED if confirmed else TrackStatus.TENTATIVE,
                position=GeoPoint(
                    lat_deg=latitudes[index], lon_deg=longitudes[index], height_m=heights[index]
                ),
                sector=sector,
                enu_position_m=positions[index],
                enu_velocity_mps=velocities[index],
                covariance=tuple(map(tuple, covariances[index])),
                quality=quality,
                sensors=sensors,
                icao24=tracks.icao24[row],
                callsign=tracks.callsign[row],
                on_ground=tracks.on_ground[row] if fresh_ground[index] else None,
                mode_probabilities=None if modes is None else modes[index],
                releasability=releasability if labels is None else labels[row],
            )
        )
    return messages


def conflict_event(
    conflict: IdentityConflict, frame: LocalFrame, sector: str, releasability: str
) -> Event:
    """An `IdentityConflict` as the Event the picture and assessment see."""
    latitude, longitude, height = frame.enu_to_geodetic(np.array([conflict.positions[0]]))
    first, second = conflict.track_numbers
    kind, _, value = conflict.identity.partition(":")
    prefix = sector or "trk"
    return Event(
        event_id=f"{prefix}-identity-conflict-{first}-{second}",
        time=datetime.fromtimestamp(conflict.time, tz=UTC),
        # The source names the bus subject the event travels on (a token: no "/" or "+").
        source_id=as_token(f"fusion-{prefix}"),
        kind=EventKind.OBSERVATION,
        severity=6,
        summary=(
            f"{kind.upper()} {value} reported at two places {conflict.distance_m / 1000:.1f} km "
            f"apart (tracks {first} and {second}): spoofing or a duplicated address"
        ),
        position=GeoPoint(
            lat_deg=float(latitude[0]), lon_deg=float(longitude[0]), height_m=float(height[0])
        ),
        subject_id=conflict.identity,
        attributes={
            "anomaly": "identity_conflict",
            "identity": conflict.identity,
            "tracks": f"{prefix}-{first},{prefix}-{second}",
            "distance_m": f"{conflict.distance_m:.0f}",
        },
        releasability=releasability,
    )


@dataclass
class TrackingStage:
    """``step(time, messages) -> list[Track]`` over the decoded messages of one window.

    Non-kinematic messages are ignored; rejected inputs become `DeadLetter`s, collected
    in ``dead_letters`` (take them with `take_dead_letters`).
    """

    frame: LocalFrame
    """The sector's East-North-Up frame: every track lives in it."""
    sector: str = ""
    tracker: MultiTargetTracker = field(default_factory=default_tracker)
    confirmed_only: bool = False
    """Publish confirmed tracks only (tentative ones stay inside the tracker)."""
    releasability: str = "NATO"
    """The stage's own label: no track is released wider than this."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    """Identity conflicts found, as Events (take them with `take_events`)."""
    _converter: MessageConverter = field(init=False, repr=False)

    def __post_init__(self) -> None:
        Label.parse(self.releasability)  # a misconfigured label fails here, not per track
        self._converter = MessageConverter(
            self.frame, labels=self.tracker.labels, ceiling=self.releasability
        )

    @property
    def converter(self) -> MessageConverter:
        """What turns this stage's inputs into scans (its radars' rotation clocks)."""
        return self._converter

    def step(self, time: datetime, messages: Sequence[object]) -> list[Track]:
        if time.utcoffset() is None:
            raise ValueError("TrackingStage.step needs a timezone-aware time")
        scans, rejected = self._converter.convert(messages)
        batch = self.step_scans(time, scans)
        self._record(rejected + self.tracker.take_rejections(), messages, time)
        self.events.extend(self.identity_conflict_events(batch))
        return self.track_messages(batch, time) + self.ended_messages(time)

    def step_scans(
        self, time: datetime, scans: Sequence[SensorScan], converter: MessageConverter | None = None
    ) -> TrackBatch:
        """The tracker stepped to ``time`` on ``scans``, once each radar's rotation that
        ``converter`` (the stage's own by default) has learnt is declared: every way into
        the tracker (messages, plot columns of a window or of a capture) steps it so."""
        for sensor_id, clock in (converter or self._converter).rotation_clocks.items():
            if clock.period_s is not None:
                self.tracker.declare_revisit(sensor_id, clock.period_s)
        return self.tracker.step(time.timestamp(), scans)

    def identity_conflict_events(self, batch: TrackBatch) -> list[Event]:
        """The identity conflicts the last step found, as Events on its tracks ``batch``."""
        labelling = self.tracker.track_labels
        events = []
        for conflict in self.tracker.take_identity_conflicts():
            numbers = set(conflict.track_numbers)
            rows = np.flatnonzero([int(n) in numbers for n in batch.track_number])
            # The event says where two tracks are: it is no wider than either.
            texts = labelling.texts(labelling.current(batch.take(rows)), self.releasability)
            label = most_restrictive(texts, self.releasability)
            events.append(conflict_event(conflict, self.frame, self.sector, label))
        return events

    def track_messages(self, batch: TrackBatch, time: datetime) -> list[Track]:
        """The Track messages of a window's tracks ``batch``, labelled as their inputs."""
        labelling = self.tracker.track_labels
        return tracks_to_messages(
            batch,
            self.frame,
            time,
            sector=self.sector,
            sensor_names=sorted(self.tracker.sensors, key=self.tracker.sensors.__getitem__),
            mode_names=self.tracker.predictor.mode_names,
            confirmed_only=self.confirmed_only,
            releasability=self.releasability,
            labels=labelling.texts(labelling.current(batch), self.releasability),
        )

    def ended_messages(self, time: datetime) -> list[Track]:
        """The tracks the last step ended (`MultiTargetTracker.ended`), each published
        once more as deleted: the picture, the assessment (its alerts), c2 and the
        effector guards let them go. Without it a track that ended stayed on every
        reader as it was last shown."""
        return self.deleted_messages(self.tracker.ended, time)

    def deleted_messages(self, batch: TrackBatch, time: datetime) -> list[Track]:
        """`track_messages` of ``batch`` (tracks that ended), each as deleted."""
        if batch.size == 0:
            return []
        return [
            msgspec.structs.replace(track, status=TrackStatus.DELETED)
            for track in self.track_messages(batch, time)
        ]

    def take_dead_letters(self) -> list[DeadLetter]:
        letters, self.dead_letters = self.dead_letters, []
        return letters

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def _record(
        self, rejections: list[Rejection], messages: Sequence[object], time: datetime
    ) -> None:
        if not rejections:
            return
        by_id: dict[str, object] = {}
        for message in messages:
            identifier = getattr(message, "detection_id", None) or getattr(
                message, "report_id", None
            )
            if identifier is not None:
                by_id[str(identifier)] = message
        for rejection in rejections:
            original = by_id.get(rejection.measurement_id)
            self.dead_letters.append(
                rejection_dead_letter(rejection, time, original, self.releasability)
            )


def rejection_dead_letter(
    rejection: Rejection, time: datetime, original: object | None, ceiling: str
) -> DeadLetter:
    """The dead letter of a measurement the tracker refused: the message it came from (if
    known) as JSON, labelled no wider than that message nor the stage's ``ceiling``."""
    raw = b""
    label = ceiling
    if original is not None:
        # Detections and reports were checked against the label pattern when built.
        label = most_restrictive([str(getattr(original, "releasability", "NATO"))], ceiling)
        try:
            raw = to_json(original)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raw = repr(original).encode()
    return DeadLetter(
        time=time.astimezone(UTC),
        source=f"fusion/{rejection.sensor_id}",
        reason=rejection.reason,
        raw=raw,
        releasability=label,
    )
