"""A node's tracking by sector: one tracker per sector it tracks, as a node per sector would.

The sector is the unit a nation's tracking is split by (`hotzone.runtime.node`): each of
a node's sectors has its own tracker, in that sector's frame, its tracks named after it
(``{sector}-{n}`` on ``hz.{N}.trk.{sector}``). Which node hosts a sector then changes no
track: an owner tracking every sector publishes what an owner and sector nodes sharing
them publish together. The nation's owner also tracks the detections of no sector of the
scenario (none given, or one it does not name) with a tracker of their own, in the
scenario's frame, named ``trk-{n}`` on ``hz.{N}.trk.none``.

`hotzone demo` and a single-process pipeline keep one tracker for the whole scenario
(`hotzone.runtime.stages.tracking_stage`): a target crossing sectors stays one track
there, where nodes give it one per sector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hotzone.fusion.stage import TrackingStage
from hotzone.geo import LocalFrame
from hotzone.runtime.watermarks import tracking_producer
from hotzone.runtime.windows import ReplaySummary, TrackingWindows
from hotzone.sim.scenario import Scenario
from hotzone.types import AnyMessage, Detection, Report

UNCLAIMED = ""
"""The key of the tracker of detections of no scenario sector."""


@dataclass
class SectorTracking:
    """The tracking stage of a node: its sectors' trackers (and the owner's of no sector)."""

    trackers: dict[str, TrackingStage]
    """By sector, `UNCLAIMED` for the detections no scenario sector claims."""
    scenario_sectors: frozenset[str]
    name: str = "fusion"
    input_subjects: tuple[str, ...] = ("det.>",)
    input_types: tuple[type, ...] = (Detection, Report)
    """What it takes (of its sectors, or of none: `accepts`)."""
    hold_s: float = 0.0
    """Each sector's windows' hold (`TrackingWindows`, as `tracking_stage`'s)."""
    window_s: float = 1.0
    """The clock's tick period (a hold must be shorter)."""
    steps: int = field(default=0, init=False)
    windows: dict[str, TrackingWindows] = field(init=False, default_factory=dict)
    """By sector: the one way into each tracker every command takes."""

    def __post_init__(self) -> None:
        self.windows = {
            sector: TrackingWindows(tracker, self.window_s, ReplaySummary(), self.hold_s)
            for sector, tracker in self.trackers.items()
        }

    @property
    def producers(self) -> tuple[str, ...]:
        """The watermark producers this stage is (one per tracker)."""
        return tuple(tracking_producer(sector) for sector in sorted(self.trackers))

    def tracker_key(self, sector: str) -> str | None:
        """Which of this stage's trackers takes a detection of ``sector`` (None: another
        node's sector, or no sector and this is not the owner)."""
        if sector in self.trackers:
            return sector
        if sector in self.scenario_sectors or UNCLAIMED not in self.trackers:
            return None
        return UNCLAIMED

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Detection | Report) and (
            self.tracker_key(message.sector) is not None
        )

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        by_sector: dict[str, list[AnyMessage]] = {sector: [] for sector in self.trackers}
        for message in inputs:
            if isinstance(message, Detection | Report):
                key = self.tracker_key(message.sector)
                if key is not None:
                    by_sector[key].append(message)
        outputs: list[AnyMessage] = []
        # Every tracker steps every tick, inputs or not, in a fixed order (by sector), as
        # its own node would: its tracks coast and end on time.
        for sector in sorted(self.trackers):
            windows = self.windows[sector]
            outputs.extend(windows.step_window(time.timestamp(), by_sector[sector]))
            outputs.extend(windows.summary.dead_letters)
            windows.summary.dead_letters.clear()
            outputs.extend(self.trackers[sector].take_events())
        self.steps += 1
        return outputs


def checked_sector_frames(scenario: Scenario, sectors: Sequence[str]) -> dict[str, LocalFrame]:
    """The scenario's sector frames, once every one of ``sectors`` is known to it (a
    node's ``--sectors`` naming another scenario's sector is refused, with the known ones)."""
    frames = scenario.sector_frames()
    unknown = [sector for sector in sectors if sector not in frames]
    if unknown:
        raise ValueError(
            f"scenario {scenario.name} has no sector {', '.join(unknown)} "
            f"(sectors: {', '.join(frames)})"
        )
    return frames


def sector_tracking(scenario: Scenario, sectors: Sequence[str], unclaimed: bool) -> SectorTracking:
    """The tracking stage of a node tracking ``sectors`` (``unclaimed``: and the
    detections of no scenario sector, the owner's)."""
    frames = checked_sector_frames(scenario, sectors)
    trackers = {
        sector: TrackingStage(
            frame=frames[sector],
            sector=sector,
            confirmed_only=True,
            releasability=scenario.releasability,
        )
        for sector in sectors
    }
    if unclaimed:
        trackers[UNCLAIMED] = TrackingStage(
            frame=scenario.frame,
            sector=UNCLAIMED,
            confirmed_only=True,
            releasability=scenario.releasability,
        )
    return SectorTracking(trackers=trackers, scenario_sectors=frozenset(frames))
