"""How often each source is expected to update each track, learnt as the tracks go.

Track management works in time, not in tracker windows: a rotating radar updates its
tracks once per rotation (4-12 s), an ADS-B feed every 0.5-30 s depending on the receiver
and the aircraft, an AIS vessel every 2 s to 3 min depending on its speed. What counts is
how many of the updates a source was *expected* to make were not made, whatever the
window the tracker is stepped with.

**What is learnt.** For each track n and sensor column s (`TrackBatch.sensor_seen`,
`TrackBatch.revisit_s`):

* ``revisit_s[n, s]``, the interval at which s updates n. For a cooperative source
  (ADS-B, AIS: objects report at their own rates), once n is confirmed and has had two
  updates by s, it follows the intervals of that object by exponential smoothing
  (``smoothing``), within [``min_revisit_s``, ``max_revisit_s``]. Otherwise (a radar sees
  everything once a look, so a long interval is a miss) it is the sensor's typical
  interval, or ``default_revisit_s`` for a sensor not learnt yet.
* A rotating radar's typical interval is its rotation period, measured from its plots
  azimuths and times (`declare`). Any other sensor's typical interval is the lower
  quartile (``sensor_quantile``) of its recent
  intervals between two updates of one track, over all its tracks. A rotating radar sees
  an object once per rotation, so those intervals are whole numbers of rotations and
  their lower quartile is the rotation; a cooperative feed's is its usual fast rate. A
  median would let tentative tracks fed by clutter (updated a few rotations apart) teach
  the sensor a slow revisit, and that slow revisit keep more of them alive.
* A sensor's clock is the time of its latest measurement: while a sensor sends nothing
  (a radar off the air, a feed cut), no update of its tracks is overdue, for up to
  ``sensor_silence_s``; after that its clock runs on that far behind the tracker's.

**Overdue.** ``overdue[n]`` = min over the sensors s that have updated n (those that
measure positions, when any has: a bearing does not place the track's object) of
(clock of s - ``sensor_seen[n, s]``) / ``revisit_s[n, s]``: how many expected revisits
have passed since the last update, by the source that expects the track the least
overdue. It is 0 just after an update and about 1 when the next update is due. A track no
sensor column has updated (one started from crossing bearings) counts from its last
update with ``default_revisit_s``.

**Missed looks.** ``missed_looks[n]`` = sum over the sensors that were following n when
some sensor last placed it (each had updated n within ``follow_revisits`` of its revisits
before) of the revisits each has let pass since then. For a track one sensor follows it is
``overdue``; for a track a 1 s gap filler and two radars follow, it grows by 1.45 a second
where ``overdue`` grows by the slowest radar's 0.2.

The deleter decides from both (`hotzone.fusion.deletion.RevisitDeleter`), the initiator
from ``overdue`` (`hotzone.fusion.initiation.RevisitInitiator`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from hotzone.fusion.estimates import TrackBatch
from hotzone.types.arrays import BoolArray, FloatArray, IntArray


@dataclass(frozen=True)
class RevisitMemory:
    """What a `RevisitModel` knew at one moment (every sensor's clock, declared and learnt
    revisit, which sensors are cooperative and positional): an out-of-sequence replay goes
    back to it, so that the replayed windows learn their intervals once, against the
    clocks they had the first time. A few numbers per sensor."""

    sensor_clock: dict[int, float]
    declared: dict[int, float]
    cooperative: frozenset[int]
    positional: frozenset[int]
    sensor_intervals: dict[int, tuple[float, ...]]
    sensor_revisit: dict[int, float]


@dataclass
class RevisitModel:
    """Learns each source's revisit per track and says how overdue each track is."""

    default_revisit_s: float = 12.0
    """Expected interval of a sensor not learnt yet: the slowest usual radar rotation, so
    that the first tentative tracks of a new sensor live until its second look."""
    min_revisit_s: float = 0.5
    max_revisit_s: float = 600.0
    smoothing: float = 0.3
    """Weight of the newest interval in a track's learnt revisit."""
    sensor_samples: int = 256
    """Recent intervals kept per sensor for its typical revisit."""
    sensor_quantile: float = 0.25
    sensor_silence_s: float = 30.0
    """A sensor that has sent nothing for this long is no longer given the benefit of the
    doubt: its clock runs on, ``sensor_silence_s`` behind, so the tracks only it updates
    age even when nothing else is in its view."""

    follow_revisits: float = 1.5
    """A sensor that had updated a track within this many of its revisits before the
    track's last update was following it: its missed looks since count (`missed_looks`)."""

    max_interval_looks: float = 4.0
    """Looks counted at most for one interval between two updates by one sensor: a longer
    gap is the object out of that sensor's view (another kept the track), not misses."""

    sensor_clock: dict[int, float] = field(init=False, default_factory=dict)
    _declared: dict[int, float] = field(init=False, default_factory=dict)
    cooperative: set[int] = field(init=False, default_factory=set)
    """Sensor columns whose measurements carry identities (ADS-B, AIS, CoT, ...)."""
    positional: set[int] = field(init=False, default_factory=set)
    """Sensor columns that measure positions (not only bearings)."""
    _sensor_intervals: dict[int, deque[float]] = field(init=False, default_factory=dict)
    _sensor_revisit: dict[int, float] = field(init=False, default_factory=dict)
    """The learnt typical interval of each sensor whose samples have not changed since
    it was last asked for (`sensor_revisit`)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.min_revisit_s <= self.default_revisit_s <= self.max_revisit_s:
            raise ValueError(
                "need 0 < min_revisit_s <= default_revisit_s <= max_revisit_s, got "
                f"{self.min_revisit_s}, {self.default_revisit_s}, {self.max_revisit_s}"
            )
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {self.smoothing}")

    def remember(self) -> RevisitMemory:
        """What this model knows now, to go back to (`restore`)."""
        return RevisitMemory(
            sensor_clock=dict(self.sensor_clock),
            declared=dict(self._declared),
            cooperative=frozenset(self.cooperative),
            positional=frozenset(self.positional),
            sensor_intervals={
                column: tuple(samples) for column, samples in self._sensor_intervals.items()
            },
            sensor_revisit=dict(self._sensor_revisit),
        )

    def restore(self, memory: RevisitMemory) -> None:
        """Know exactly what this model knew when it made ``memory``."""
        self.sensor_clock = dict(memory.sensor_clock)
        self.use_declared(memory.declared)
        self.cooperative = set(memory.cooperative)
        self.positional = set(memory.positional)
        self._sensor_intervals = {
            column: deque(samples, maxlen=self.sensor_samples)
            for column, samples in memory.sensor_intervals.items()
        }
        self._sensor_revisit = dict(memory.sensor_revisit)

    @property
    def declared_periods(self) -> dict[int, float]:
        """The declared periods by sensor column (a copy)."""
        return dict(self._declared)

    def use_declared(self, declared: dict[int, float]) -> None:
        """Declared periods as they were at another time (a replayed window's)."""
        self._declared = dict(declared)

    def sensor_revisit(self, column: int) -> float:
        """The typical interval of one sensor's updates of one track: its declared period,
        else the learnt one, else the default."""
        declared = self._declared.get(column)
        if declared is not None:
            return declared
        learnt = self._sensor_revisit.get(column)
        if learnt is None:
            samples = self._sensor_intervals.get(column)
            if not samples:
                return self.default_revisit_s
            # Learnt when first asked for after new samples, not at every update: a
            # declared sensor (a radar) is never asked, and its quantile never needed.
            learnt = float(
                np.clip(
                    np.quantile(samples, self.sensor_quantile),
                    self.min_revisit_s,
                    self.max_revisit_s,
                )
            )
            self._sensor_revisit[column] = learnt
        return learnt

    def declare(self, column: int, period_s: float) -> None:
        """Sensor ``column`` looks at everything once every ``period_s`` (a radar's
        rotation, measured from its plots: `hotzone.fusion.conversion.RotationClock`)."""
        if np.isfinite(period_s) and period_s > 0:
            self._declared[column] = float(
                np.clip(period_s, self.min_revisit_s, self.max_revisit_s)
            )

    def declared(self, column: int) -> bool:
        """Whether sensor ``column`` has a declared revisit (its learnt one then unused)."""
        return column in self._declared

    def heard(self, column: int, latest_time: float) -> None:
        """Sensor ``column`` sent measurements up to ``latest_time``."""
        if latest_time > self.sensor_clock.get(column, -np.inf):
            self.sensor_clock[column] = latest_time

    def updated(
        self,
        tracks: TrackBatch,
        column: int,
        rows: IntArray,
        times: FloatArray,
        learn: bool = True,
    ) -> TrackBatch:
        """Sensor ``column`` updated tracks ``rows`` with measurements of ``times``.

        Confirmed tracks learn their own revisit; tentative ones keep the sensor's.

        Learns the intervals and stamps the tracks; returns the batch (columns grown as
        needed; the timing arrays are replaced, never changed in place)."""
        if len(rows) == 0:
            return tracks
        tracks = tracks.with_sensor_columns(column + 1)
        seen = tracks.sensor_seen.copy()
        revisit = tracks.revisit_s.copy()
        previous = seen[rows, column]
        interval = times - previous
        # A velocity message right after its position is one report cycle, not a revisit:
        # it stamps the track (``learn`` False) without teaching an interval.
        known = np.isfinite(previous) & (interval > 0) & learn
        if known.any():
            samples = self._sensor_intervals.setdefault(column, deque(maxlen=self.sensor_samples))
            samples.extend(interval[known].tolist())
            self._sensor_revisit.pop(column, None)
        # A track's own revisit starts at its first interval (smoothed from the sensor's
        # typical one); until then it stays unknown and the sensor's current typical
        # interval stands in (`assess`), so tracks started before the sensor was learnt
        # do not keep the default.
        prior = revisit[rows, column]
        prior = np.where(np.isnan(prior), self.sensor_revisit(column), prior)
        learnt = np.clip(
            prior + self.smoothing * (interval - prior), self.min_revisit_s, self.max_revisit_s
        )
        # Only a cooperative object sets its own rate (an AIS vessel reports faster when it
        # moves); a radar sees everything once a look, so a long interval is a miss.
        own = known & tracks.confirmed[rows] & (column in self.cooperative)
        revisit[rows, column] = np.where(own, learnt, revisit[rows, column])
        seen[rows, column] = np.maximum(previous, times)
        if column not in self.cooperative and column in self.positional and known.any():
            # The looks since this sensor's previous update of the track: one detected,
            # the others missed (a cooperative object reports at its own rate: no looks).
            looks = np.clip(np.rint(interval[known] / prior[known]), 1.0, self.max_interval_looks)
            counted_looks = tracks.looks.copy()
            detected = tracks.looks_detected.copy()
            np.add.at(counted_looks, rows[known], looks)
            np.add.at(detected, rows[known], 1.0)
            tracks = replace(tracks, looks=counted_looks, looks_detected=detected)
        return _with_timing(tracks, seen, revisit, tracks.overdue)

    def assess(self, tracks: TrackBatch, time: float) -> TrackBatch:
        """Set ``overdue`` of every track for the step ending at ``time``."""
        if tracks.size == 0:
            return tracks
        columns = tracks.sensor_seen.shape[1]
        clock = np.array(
            [
                max(self.sensor_clock.get(column, -np.inf), time - self.sensor_silence_s)
                for column in range(columns)
            ],
            dtype=float,
        )
        seen = tracks.sensor_seen
        with np.errstate(invalid="ignore"):
            elapsed = np.maximum(clock[None, :] - seen, 0.0)
        revisit = np.where(
            np.isnan(tracks.revisit_s),
            np.array([self.sensor_revisit(c) for c in range(columns)])[None, :],
            tracks.revisit_s,
        )
        ratio = np.where(np.isfinite(seen), elapsed / revisit, np.inf)
        # A bearing says an object lies somewhere on a line, not that this track's object
        # is where the track is: a track that some sensor has placed counts by those.
        placing = np.array([c in self.positional for c in range(columns)], dtype=np.bool_)
        if placing.any():
            placed: BoolArray = np.asarray(np.isfinite(seen[:, placing]).any(axis=1))
            ratio = np.where(placed[:, None] & ~placing[None, :], np.inf, ratio)
        overdue = ratio.min(axis=1) if columns else np.full(tracks.size, np.inf)
        # The sensors following the track when some sensor last placed it (each had updated
        # it within its last ``follow_revisits`` looks): the looks each has made since then
        # add up, so an object several sensors were seeing that has gone ends after about
        # as many missed looks as one sensor's would, not after the slowest one's.
        counted = np.isfinite(ratio)
        with np.errstate(invalid="ignore"):
            latest = np.where(counted, seen, -np.inf).max(axis=1, initial=-np.inf)
            before = np.maximum(latest[:, None] - seen, 0.0) / revisit
            since = np.maximum(clock[None, :] - np.maximum(seen, latest[:, None]), 0.0) / revisit
        following = counted & (before <= self.follow_revisits)
        missed_looks = np.where(following, since, 0.0).sum(axis=1)
        missed_looks = np.where(following.any(axis=1), missed_looks, overdue)
        sensed = np.array(
            [c not in self.cooperative and c in self.positional for c in range(columns)],
            dtype=np.bool_,
        )
        if sensed.any():
            sensed_overdue = ratio[:, sensed].min(axis=1)
            sensed_time = seen[:, sensed].max(axis=1)
        else:
            sensed_overdue = np.full(tracks.size, np.inf)
            sensed_time = np.full(tracks.size, -np.inf)
        unseen = ~np.isfinite(overdue)
        if unseen.any():
            coast = np.maximum(time - tracks.last_update_time[unseen], 0.0)
            overdue[unseen] = coast / self.default_revisit_s
            missed_looks[unseen] = overdue[unseen]
        return replace(
            _with_timing(tracks, tracks.sensor_seen, tracks.revisit_s, overdue),
            missed_looks=missed_looks,
            sensed_overdue=sensed_overdue,
            sensed_time=sensed_time,
        )


def _with_timing(
    tracks: TrackBatch, seen: FloatArray, revisit: FloatArray, overdue: FloatArray
) -> TrackBatch:
    return replace(tracks, sensor_seen=seen, revisit_s=revisit, overdue=overdue)
