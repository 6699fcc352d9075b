"""Initiators: start tentative tracks and decide when they are confirmed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hotzone.fusion.estimates import TrackBatch
from hotzone.types.arrays import BoolArray, FloatArray


def popcount(values: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Set bits per 64-bit word."""
    bytes_view = values.astype(np.uint64).view(np.uint8).reshape(-1, 8)
    counts: NDArray[np.int64] = np.unpackbits(bytes_view, axis=1).sum(axis=1).astype(np.int64)
    return counts


class Initiator(ABC):
    """One abstract base for every initiator; the role's verb is ``initiate``."""

    @abstractmethod
    def initiate(
        self,
        positions: FloatArray,
        position_covariances: FloatArray,
        state_size: int,
        spatial_dims: int,
    ) -> tuple[FloatArray, FloatArray]:
        """First (K, d) states and (K, d, d) covariances of tracks started at measured
        positions; ``positions`` may have fewer components than ``spatial_dims``."""

    @abstractmethod
    def confirms(self, tracks: TrackBatch, returning: BoolArray | None = None) -> BoolArray:
        """Which of ``tracks`` are confirmed by what they have had so far.

        ``returning``: the tracks whose cooperative identity had a confirmed track before
        and has no other track now (`hotzone.fusion.track_manager.TrackManager`): an
        object known to be there coming back, not a report of an unknown address."""


@dataclass(frozen=True)
class MOfNInitiator(Initiator):
    """A single-point start (position measured, velocity unknown) confirmed by M of N.

    The prior on the unmeasured components is Stone Soup's ``MultiMeasurementInitiator``
    prior: zero mean with a broad standard deviation.
    """

    confirm_hits: int = 3
    """M: updates (including the first) needed within the window."""
    window: int = 5
    """N: steps the count looks back over (at most 64)."""
    velocity_sigma_mps: float = 200.0
    height_m: float = 0.0
    """Height prior where the measurement has none (2-D position, bearings)."""
    height_sigma_m: float = 1000.0
    extra_sigma: float = 0.1
    """Standard deviation of extra states such as an IMM turn rate (rad/s)."""

    def __post_init__(self) -> None:
        if not 1 <= self.confirm_hits <= self.window <= 64:
            raise ValueError(f"need 1 <= M <= N <= 64, got M={self.confirm_hits}, N={self.window}")

    def initiate(
        self,
        positions: FloatArray,
        position_covariances: FloatArray,
        state_size: int,
        spatial_dims: int,
    ) -> tuple[FloatArray, FloatArray]:
        count, measured = positions.shape
        state = np.zeros((count, state_size))
        covariance = np.zeros((count, state_size, state_size))
        state[:, :measured] = positions
        covariance[:, :measured, :measured] = position_covariances
        for axis in range(measured, spatial_dims):
            state[:, axis] = self.height_m
            covariance[:, axis, axis] = self.height_sigma_m**2
        for axis in range(spatial_dims, 2 * spatial_dims):
            covariance[:, axis, axis] = self.velocity_sigma_mps**2
        for axis in range(2 * spatial_dims, state_size):
            covariance[:, axis, axis] = self.extra_sigma**2
        return state, covariance

    def confirms(self, tracks: TrackBatch, returning: BoolArray | None = None) -> BoolArray:
        """M hits within the last N tracker windows (``hit_history``, bit 0 latest);
        ``returning`` is not used (a window-counted track earns its confirmation)."""
        mask = np.uint64((1 << self.window) - 1) if self.window < 64 else np.uint64(2**64 - 1)
        result: BoolArray = popcount(tracks.hit_history & mask) >= self.confirm_hits
        return result


@dataclass(frozen=True)
class RevisitInitiator(MOfNInitiator):
    """M of N in time: ``confirm_hits`` updates with never more than N expected revisits
    between two of them, whatever the tracker's window.

    The N is the deleter's: a tentative track that misses that many expected updates
    (`hotzone.fusion.deletion.RevisitDeleter.tentative_revisits`) has ended, so a
    tentative track still alive with M updates has had them close enough. A track with a
    cooperative identity needs ``identity_confirm_hits``: two reports of one address that
    agree in position are not clutter. A *returning* identity (one that had a confirmed
    track before, none now: an aircraft back in the receiver's view after more than the
    identity hold) needs ``returning_identity_confirm_hits``: its address is known to be
    a real transponder's, not a decoding error, and a feed of one report every 10-30 s
    would otherwise hide it for that long (a real FLARM day: 36 s of a 331 s visit).
    Without identity, the updates must also fit the track (``max_mean_innovation``).
    ``window`` is unused.
    """

    identity_confirm_hits: int = 2
    returning_identity_confirm_hits: int = 1
    max_mean_innovation: float = 2.7
    """A track without identity is confirmed only while its updates' mean normalised
    innovation squared per measured component stays at most this: a target's is about 1
    (with two updates, 6 components, 2.7 keeps 98.7 % of targets), clutter caught in the
    wide gate of a young track's unknown velocity lands far out in it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.identity_confirm_hits, self.returning_identity_confirm_hits) < 1:
            raise ValueError(
                "identity_confirm_hits and returning_identity_confirm_hits must be >= 1, got "
                f"{self.identity_confirm_hits}, {self.returning_identity_confirm_hits}"
            )

    def confirms(self, tracks: TrackBatch, returning: BoolArray | None = None) -> BoolArray:
        cooperative = tracks.identity != None  # noqa: E711 (elementwise on an object array)
        needed = np.where(cooperative, self.identity_confirm_hits, self.confirm_hits)
        if returning is not None:
            needed = np.where(cooperative & returning, self.returning_identity_confirm_hits, needed)
        count = np.maximum(tracks.innovation_count, 1)
        consistent = tracks.innovation_sum / count <= self.max_mean_innovation
        result: BoolArray = (tracks.hits >= needed) & (cooperative | consistent)
        return result
