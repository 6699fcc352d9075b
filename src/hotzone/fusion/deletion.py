"""Deleters: decide which tracks end."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hotzone.fusion.estimates import TrackBatch
from hotzone.types.arrays import BoolArray, FloatArray


class Deleter(ABC):
    """One abstract base for every deleter; the role's verb is ``delete_tracks``."""

    @abstractmethod
    def delete_tracks(self, tracks: TrackBatch, time: float, spatial_dims: int) -> BoolArray:
        """True for each track to end at ``time``."""

    def dormant(self, tracks: TrackBatch, time: float) -> BoolArray:
        """True for each track kept but not shown at ``time`` (none by default)."""
        return np.zeros(tracks.size, dtype=np.bool_)


@dataclass(frozen=True)
class MissesDeleter(Deleter):
    """Ends tracks after consecutive misses, long coasting, or a position too uncertain.

    A miss is a step in which a sensor that has updated the track reported but none of its
    measurements updated it (see `MultiTargetTracker`), so a slow sensor does not count as
    missing in the steps between its scans.
    """

    tentative_max_misses: int = 2
    confirmed_max_misses: int = 3
    max_coast_s: float = float("inf")
    """Confirmed tracks not updated for this long end, whatever the miss count."""
    tentative_max_coast_s: float = float("inf")
    max_position_sigma_m: float = 10_000.0
    """Covariance growth: sqrt of the position variance sum beyond which a track ends."""

    def delete_tracks(self, tracks: TrackBatch, time: float, spatial_dims: int) -> BoolArray:
        dims = spatial_dims
        position_variance = np.trace(tracks.covariance[:, :dims, :dims], axis1=1, axis2=2)
        coast = time - tracks.last_update_time
        confirmed = tracks.confirmed
        too_many_misses = np.where(
            confirmed,
            tracks.misses >= self.confirmed_max_misses,
            tracks.misses >= self.tentative_max_misses,
        )
        too_long = np.where(confirmed, coast > self.max_coast_s, coast > self.tentative_max_coast_s)
        uncertain = ~(position_variance <= self.max_position_sigma_m**2)  # NaN ends too
        result: BoolArray = too_many_misses | too_long | uncertain
        return result


@dataclass(frozen=True)
class RevisitDeleter(Deleter):
    """Ends tracks by elapsed time against their sources' expected revisits.

    ``TrackBatch.overdue`` is the number of expected updates that have not come since the
    last one (learnt per sensor and object, `hotzone.fusion.revisit`): a tentative track
    ends after ``tentative_revisits`` of them, a confirmed one after
    ``confirmed_revisits``. So a track of a radar rotating every 4 s ends about 14 s
    after its last plot, one of a 12 s radar after 42 s, whatever the tracker's window.
    A track several sensors follow also ends once each of them has missed a look
    (``each_sensor_revisits``) and their missed looks together
    (``TrackBatch.missed_looks``) exceed the allowance by ``together_extra_revisits``: an
    object a gap filler and two radars saw ends about 5 s after it has gone, not after 2.5
    looks of the slower radar.

    **A confirmed track's allowance follows its own detection rate.** A radar that sees an
    object at 0.97 per look misses it three times in a row once in 37,000 looks; one that
    sees it at 0.85, once in 300: the same allowance ends the second track while its
    object is still there, and a new track takes the object over (an identity switch),
    every few hundred looks. So a confirmed track's allowance is the number of looks in a
    row its sensors miss with probability at most ``spurious_end_probability`` while the
    object is still there, plus half a look: with the track's observed probability of
    detection p (``TrackBatch.looks_detected`` over ``TrackBatch.looks``, the looks of its
    non-cooperative sensors between their updates of it, with ``prior_looks`` looks at
    ``prior_detection_probability`` added), the least whole m with
    (1 - p)^m <= ``spurious_end_probability``, and the allowance m + 0.5 within
    [``confirmed_revisits``, ``max_confirmed_revisits``]. With the defaults (0.001, 2.5,
    3.5): p >= 0.968 keeps 2.5 looks, a lower p gets 3.5. Only for a track one sensor
    alone has updated: a track several sensors have updated keeps ``confirmed_revisits``
    (and the missed-looks rule below), as those sensors do not all miss an object that
    is still there.

    A confirmed track whose position has grown more uncertain than
    ``max_position_sigma_m`` ends too.

    A track with a cooperative identity (an ICAO address, an MMSI, a uid) lives at least
    ``identity_coast_s`` after its last update, however overdue or uncertain: its reports
    find it by identity, not by a gate, and feeds of such reports have gaps (fringe
    coverage, a vessel at anchor reporting every 3 min) that are not the object leaving.
    While it is kept only by that rule it is `dormant`: not shown, the same track again
    when its object reports.
    Not when a non-cooperative sensor (a radar) that was seeing it within that time has
    missed ``confirmed_revisits`` of its looks: then the object has gone, not fallen
    quiet.
    """

    tentative_revisits: float = 2.5
    confirmed_revisits: float = 3.5
    each_sensor_revisits: float = 1.0
    """A track several sensors follow ends once each has missed this many revisits and all
    their missed revisits (``TrackBatch.missed_looks``) exceed the allowance plus
    ``together_extra_revisits``."""
    together_extra_revisits: float = 1.0
    """One look more than a single sensor's allowance: an object leaving one radar's view
    (a gap filler's cover) is not ended by one miss of the radar still seeing it."""
    spurious_end_probability: float = 0.001
    """The chance, per look, that a confirmed track's allowance ends it while its object
    is still there (missed that many looks in a row at the track's detection rate)."""
    prior_detection_probability: float = 0.9
    prior_looks: float = 10.0
    """The observed detection rate is taken as this many looks at
    ``prior_detection_probability`` plus the track's own looks."""
    max_confirmed_revisits: float = 3.5
    """The most a low detection rate may stretch a confirmed track's allowance to."""
    identity_coast_s: float = 90.0
    identity_shown_revisits: float = 3.5
    """A held cooperative track is shown until this many of its revisits are missed (its
    reports are sparser and more regular than a radar's looks), then dormant."""
    identity_shown_min_s: float = 60.0
    """...and for at least this long after its last report: a cooperative feed loses an
    aircraft for tens of seconds as it turns, flies low or behind terrain (a real FLARM
    day, `tests/ingest/test_real_flarm_sbs.py`: silences of 15-80 s inside visits at
    either rate, one position a second or one every 10 s), which is not the object gone,
    and the issue's fringe feed has gaps of a minute. Showing such a track for 3.5
    revisits alone, or 10 s, left it off the picture in 4.7 % of the windows of the
    FLARM hour at ~1 s (0.6 % with this) and a 79 s silence of a tow plane for 34 s.
    Its quality (1 / revisits overdue) says how stale it is."""
    max_coast_s: float = float("inf")
    """Any track not updated for this long ends."""
    max_position_sigma_m: float = 10_000.0
    """Covariance growth: sqrt of the position variance sum beyond which a confirmed
    track ends."""

    def __post_init__(self) -> None:
        if not (self.tentative_revisits > 0.0 and self.confirmed_revisits > 0.0):
            raise ValueError("revisit allowances must be positive")

    def detection_rate(self, tracks: TrackBatch) -> FloatArray:
        """Each track's observed probability of detection per look, with the prior."""
        prior = self.prior_looks
        rate: FloatArray = (tracks.looks_detected + prior * self.prior_detection_probability) / (
            tracks.looks + prior
        )
        return rate

    def confirmed_allowance(self, tracks: TrackBatch) -> FloatArray:
        """Missed revisits that end each track once confirmed (see the class docstring)."""
        miss = np.clip(1.0 - self.detection_rate(tracks), 1e-9, 1.0 - 1e-9)
        looks = np.ceil(np.log(self.spurious_end_probability) / np.log(miss) - 1e-9)
        allowance: FloatArray = np.clip(
            looks + 0.5,
            self.confirmed_revisits,
            max(self.confirmed_revisits, self.max_confirmed_revisits),
        )
        return allowance

    def delete_tracks(self, tracks: TrackBatch, time: float, spatial_dims: int) -> BoolArray:
        dims = spatial_dims
        position_variance = np.trace(tracks.covariance[:, :dims, :dims], axis1=1, axis2=2)
        coast = time - tracks.last_update_time
        allowance = np.where(tracks.confirmed, self.confirmed_revisits, self.tentative_revisits)
        # A track one sensor alone has updated: its own detection rate says how many looks
        # in a row that sensor may miss while the object is still there.
        alone = tracks.seen_by().sum(axis=1) <= 1
        own_allowance = np.where(
            tracks.confirmed & alone, self.confirmed_allowance(tracks), allowance
        )
        # Every sensor following the track has missed a look, and their missed looks add up
        # to the allowance: the object has gone (several sensors do not all miss it at
        # once), where waiting for the slowest of them would show it 2.5 of its rotations.
        missed = (tracks.overdue > self.each_sensor_revisits) & (
            tracks.missed_looks > allowance + self.together_extra_revisits
        )
        overdue = (tracks.overdue > own_allowance) | missed
        held = self._held(tracks, time)
        # A tentative track is uncertain by nature (its velocity is not known yet): only its
        # missed revisits end it.
        uncertain = ~(position_variance <= self.max_position_sigma_m**2) & tracks.confirmed
        result: BoolArray = (
            ((overdue | uncertain) & ~held)
            | (coast > self.max_coast_s)
            | ~np.isfinite(position_variance)
        )
        return result

    def _held(self, tracks: TrackBatch, time: float) -> BoolArray:
        """Cooperative tracks within the floor that no radar has seen go."""
        coast = time - tracks.last_update_time
        cooperative = tracks.identity != None  # noqa: E711 (elementwise on an object array)
        # Its identity finds a cooperative object's track again, however uncertain the
        # track has grown over a gap: within the floor neither rule ends it, unless a
        # radar that was seeing it within the floor no longer does (the object is gone,
        # not just quiet).
        lost = (tracks.sensed_overdue > self.confirmed_revisits) & (
            time - tracks.sensed_time <= self.identity_coast_s
        )
        result: BoolArray = cooperative & (coast <= self.identity_coast_s) & ~lost
        return result

    def dormant(self, tracks: TrackBatch, time: float) -> BoolArray:
        """A held track past its allowance is kept (its number, its identity) but not
        shown: nothing says where the object is now, and a consumer would take a track on
        the picture for one some sensor still follows. So is a held track that a newer
        track of its identity has superseded (`superseded`)."""
        allowance = np.where(
            tracks.confirmed,
            max(self.confirmed_revisits, self.identity_shown_revisits),
            self.tentative_revisits,
        )
        quiet = time - tracks.last_update_time > self.identity_shown_min_s
        held = self._held(tracks, time)
        result: BoolArray = held & (((tracks.overdue > allowance) & quiet) | superseded(tracks))
        return result


def superseded(tracks: TrackBatch) -> BoolArray:
    """Tracks of an identity whose reports have gone to a confirmed track of it started
    after their own last update: the identity's reports refused them (too far for their
    object: a split of one object's track, or a spoofer) and the newer track follows the
    object now. Two tracks of one identity both still updated (two transponders set to
    one address) supersede neither: both are shown, and flagged
    (`hotzone.fusion.track_manager.IdentityConflict`)."""
    result = np.zeros(tracks.size, dtype=np.bool_)
    rows = np.flatnonzero(tracks.identity != None)  # noqa: E711 (elementwise on an object array)
    identities = tracks.identity[rows].tolist()
    if len(set(identities)) == len(identities):
        return result
    newest: dict[str, float] = {}
    for row, identity in zip(rows.tolist(), identities, strict=True):
        if tracks.confirmed[row]:
            newest[identity] = max(newest.get(identity, -np.inf), float(tracks.first_time[row]))
    for row, identity in zip(rows.tolist(), identities, strict=True):
        result[row] = newest.get(identity, -np.inf) > tracks.last_update_time[row]
    return result
