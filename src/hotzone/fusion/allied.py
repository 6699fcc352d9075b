"""A nation's allied picture merged: its own tracks and its allies' copies, one per object.

Every node receives its allies' tracks (``hz.{N}.ally.{origin}.trk.…``, named
``PL:suwalki-1`` by the runtime, `hotzone.types.allied`) beside its own. Where an ally and
the nation track the same object, `AlliedTrackFusion` fuses them into one *alliance track*
with `AllianceFusionStage` (association by Mahalanobis distance, covariance intersection,
stable alliance numbers) and names its contributions (``LT:suwalki-1``, ``PL:suwalki-1``).

What comes out, and what does not:

* An alliance track only for an object more than one nation tracks: a track seen by one
  nation alone (own or allied) stays as it is, under its own name.
* Its label is the meet of its contributions' labels and of the stage's own label, so it
  is releasable only where every contribution is (`hotzone.types.labels`); tracks with no
  nation in common are never fused. Each contribution keeps its own label where it is.
* When an alliance track stops being one (a nation drops its track, the contributions part)
  it is published once more as ``deleted``, so a picture stops showing it.
* Alliance tracks are never an input again (a track with contributions is ignored): the
  node's fused tracks are its own view, not a source.

Nations run on their own clocks, and a replay may run ahead of an ally: an update whose
time is later than the step's waits until the node's clock reaches it (at most
``max_waiting`` per national track), so tracks are compared at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import numpy as np

from hotzone.fusion.track_to_track import (
    AllianceFusionStage,
    WeightRule,
    fast_weight,
    padded_state,
)
from hotzone.geo import LocalFrame
from hotzone.types import DeadLetter, Track, TrackStatus, to_json
from hotzone.types.allied import contribution, split_origin
from hotzone.types.labels import Label, LabelConflict

NationalKey = tuple[str, str]  # (nation, national track id)


@dataclass
class AlliedTrackFusion:
    """``step(time, tracks) -> alliance tracks``: own tracks and allied copies of one window
    in (allied ones named ``ORIGIN:id``), alliance tracks of objects several nations track
    out (sector ``alliance``, `Track.contributions` set)."""

    nation: str
    """The node's nation: a track without an ``ORIGIN:`` prefix is its own."""
    common_frame: LocalFrame
    """The frame alliance tracks are fused and reported in (the scenario's)."""
    sector_frames: Mapping[str, LocalFrame] = field(default_factory=dict)
    releasability: str = "NATO"
    """The stage's own label: no alliance track is labelled wider than this."""
    weight_rule: WeightRule = fast_weight
    """The closed-form CI weight: a node fuses every object every second, and the optimal
    weight (a bisection of ~50 solves per fusion) made the stage 1.2-1.5x as costly
    (`bench/alliance.py`); both are consistent."""
    max_track_age_s: float = 30.0
    """An ally's track not updated for this long (by the node's clock) leaves. Copies
    arrive late (the sharing path, an ally's clock behind the node's) and are predicted to
    the step's time with the uncertainty that adds."""
    report_gap_s: float = 3.0
    """A national track leaves when its nation has reported newer tracks for this long
    without it: a tracker reports every confirmed track at every step, so one missing from
    its reports has ended. Judged on each nation's own clock, so neither a busy tracker of
    the node's own nor an ally whose copies arrive late loses its tracks."""
    max_waiting: int = 600
    """Updates of one national track kept waiting for the node's clock (the oldest go)."""
    max_ahead_s: float = 600.0
    """A track dated further ahead of the node's clock is refused (a dead letter), so
    nothing waits for ever."""
    fusion: AllianceFusionStage = field(init=False)
    rejected: list[str] = field(default_factory=list)
    """Why an alliance track was not published (a label conflict), the latest lines."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    """National tracks refused (a covariance that is not one), taken with
    `take_dead_letters`."""
    _waiting: dict[NationalKey, list[Track]] = field(default_factory=dict)
    _current: dict[NationalKey, Track] = field(default_factory=dict)
    _shown: dict[int, Track] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ceiling = Label.parse(self.releasability)  # misconfigured: fail here
        self.fusion = AllianceFusionStage(
            common_frame=self.common_frame,
            sector_frames=self.sector_frames,
            weight_rule=self.weight_rule,
            max_track_age_s=self.max_track_age_s,
        )

    def step(self, time: datetime, inputs: Sequence[object]) -> list[Track]:
        for message in inputs:
            if isinstance(message, Track) and not message.contributions:
                self._take(message, time)
        self._release_due(time)
        reported: dict[str, datetime] = {}
        for (nation, _), track in self._current.items():
            if nation not in reported or reported[nation] < track.time:
                reported[nation] = track.time
        for key, track in self._current.items():
            if (reported[key[0]] - track.time).total_seconds() > self.report_gap_s:
                # Ended: the stage lets a deleted track go from its alliance track.
                self._current[key] = msgspec.structs.replace(track, status=TrackStatus.DELETED)
        national = [(nation, track) for (nation, _), track in sorted(self._current.items())]
        fused = self.fusion.step(time, national)
        for key, track in list(self._current.items()):
            # The stage has let these go (deleted, or too old): so does the node.
            age_s = (time - track.time).total_seconds()
            if track.status == TrackStatus.DELETED or age_s > self.max_track_age_s:
                del self._current[key]
        return self._published(time, fused)

    def take_dead_letters(self) -> list[DeadLetter]:
        letters, self.dead_letters = self.dead_letters, []
        return letters

    def _take(self, track: Track, time: datetime) -> None:
        fault = _fault(track)
        ahead_s = (track.time - time).total_seconds()
        if fault is None and ahead_s > self.max_ahead_s:
            fault = f"dated {ahead_s:.0f} s ahead of the node's clock"
        if fault is not None:
            # Bad input (an ally's, or a broken own track) is refused with the reason,
            # never fused and never a failed step.
            self.dead_letters.append(
                DeadLetter(
                    time=track.time,
                    source="alliance",
                    reason=f"track {track.track_id}: {fault}",
                    raw=to_json(track),
                    releasability=track.releasability,
                )
            )
            return
        origin, national_id = split_origin(track.track_id)
        if origin is not None:
            track = msgspec.structs.replace(track, track_id=national_id)
        self._waiting.setdefault((origin or self.nation, national_id), []).append(track)

    def _release_due(self, time: datetime) -> None:
        for key, queue in list(self._waiting.items()):
            queue.sort(key=lambda track: track.time)
            due = [track for track in queue if track.time <= time]
            later = queue[len(due) :]
            if due:
                current = self._current.get(key)
                if current is None or current.time <= due[-1].time:
                    self._current[key] = due[-1]
            if later:
                self._waiting[key] = later[-self.max_waiting :]
            else:
                del self._waiting[key]

    def _published(self, time: datetime, fused: list[Track]) -> list[Track]:
        outputs = []
        for track in fused:
            members = self.fusion.members(track.track_number)
            if len({nation for nation, _ in members}) < 2:
                continue  # one nation's track: shown as it is
            try:
                label = self._ceiling.meet(Label.parse(track.releasability)).text
            except LabelConflict as error:
                self.rejected = [*self.rejected[-99:], f"{track.track_id}: {error}"]
                continue
            alliance = msgspec.structs.replace(
                track,
                contributions=tuple(contribution(nation, ident) for nation, ident in members),
                releasability=label,
            )
            self._shown[track.track_number] = alliance
            outputs.append(alliance)
        published = {track.track_number for track in outputs}
        for number in [number for number in self._shown if number not in published]:
            last = self._shown.pop(number)
            outputs.append(msgspec.structs.replace(last, time=time, status=TrackStatus.DELETED))
        return outputs


def _fault(track: Track) -> str | None:
    """Why a national track cannot be fused (its covariance), or None."""
    try:
        mean, covariance = padded_state(track)
    except ValueError as error:
        return str(error)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(covariance))):
        return "state or covariance is not finite"
    if np.linalg.eigvalsh((covariance + covariance.T) / 2.0).min() <= 0.0:
        return "covariance is not positive definite"
    return None
