"""Live tracking of a feed: ``hotzone ingest FORMAT ... --track``.

An integrator points a sensor feed (ASTERIX, SAPIENT, SBS, ...) at ``hotzone ingest`` and
wants to see fused tracks, not only decoded plots. `LiveTrackingService` reads the
detections and reports the source publishes on ``hz.{nation}.det.>``, steps the tracking
stage in windows of their delivery time (`hotzone.runtime.windows`, as ``hotzone track``
does: the data's own clock, so a capture replayed from a file and a live feed are tracked
alike) and publishes the tracks
on ``hz.{nation}.trk.{sector}``, where the recorder stores them beside the detections.

Windows follow reception times (``received_at``) in a live feed, and the messages' own
times for a recording read from a file (``by_message_time``). The sector frame is
``origin`` when given, else placed at the first detection's sensor
(or the first report's position). `stop` lets it take in what is already published, then
close the last window.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hotzone.bus import Bus
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import decode_or_dead_letter
from hotzone.runtime.windows import (
    ReplaySummary,
    TrackingSettings,
    TrackingWindows,
    timed_as_recorded,
    tracking_windows,
)
from hotzone.types import DeadLetter, Detection, Report, Track, TrackStatus, to_json

#: How long `run` waits for a message before it looks whether it was asked to stop.
POLL_S = 0.1


@dataclass(frozen=True)
class LiveTrackingSettings:
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    #: A recording read from a file: its reception time is when the file was read, which
    #: says nothing; replay it by the times the messages carry (as ``hotzone track`` does).
    by_message_time: bool = False


@dataclass
class LiveTrackingCounters:
    track_messages: int = 0
    confirmed: set[int] = field(default_factory=set)
    dead_letters: int = 0


class LiveTrackingService:
    def __init__(self, bus: Bus, nation: str, settings: LiveTrackingSettings | None = None):
        self.bus = bus
        self.nation = nation
        self.settings = settings or LiveTrackingSettings()
        if not self.settings.tracking.window_s > 0:
            raise ValueError(f"window must be positive, got {self.settings.tracking.window_s} s")
        self.summary = ReplaySummary()
        self.counters = LiveTrackingCounters()
        self._windows: TrackingWindows | None = None
        self._stopping = asyncio.Event()
        self._dead_letters_published = 0

    def stop(self) -> None:
        """Finish: what is already published is still tracked, then the last window."""
        self._stopping.set()

    async def run(self, ready: asyncio.Event | None = None) -> None:
        subscription = await self.bus.subscribe(f"hz.{self.nation}.det.>", 65536)
        if ready is not None:
            ready.set()
        try:
            while True:
                bus_message = await subscription.next(timeout_s=POLL_S)
                if bus_message is None:
                    if self._stopping.is_set():
                        break
                    continue
                message = decode_or_dead_letter(bus_message, "live-tracking")
                if isinstance(message, DeadLetter):
                    self.counters.dead_letters += 1
                    continue
                if isinstance(message, Detection | Report):
                    if self.settings.by_message_time:
                        message = timed_as_recorded(message)
                    for tracks in self._windows_for(message).push(message):
                        await self._publish(tracks)
            if self._windows is not None and (last := self._windows.finish()) is not None:
                await self._publish(last)
        finally:
            await subscription.unsubscribe()

    def _windows_for(self, first: Detection | Report) -> TrackingWindows:
        if self._windows is None:
            # The frame, when not given, is placed at the first message's sensor.
            self._windows = tracking_windows(self.settings.tracking, [first], self.summary)
        return self._windows

    async def _publish(self, tracks: list[Track]) -> None:
        # What the tracker refused (e.g. later than the lag) goes to the dead letters.
        for letter in self.summary.dead_letters[self._dead_letters_published :]:
            await self.bus.publish(subject_for(letter, self.nation), to_json(letter))
            self.counters.dead_letters += 1
        self._dead_letters_published = len(self.summary.dead_letters)
        # A window's tracks of one subject (sector) as one bus batch, each its own message
        # to the readers.
        by_subject: dict[str, list[tuple[str, bytes]]] = {}
        for track in tracks:
            by_subject.setdefault(subject_for(track, self.nation), []).append(("", to_json(track)))
            self.counters.track_messages += 1
            if track.status == TrackStatus.CONFIRMED:
                self.counters.confirmed.add(track.track_number)
        for track_subject, items in by_subject.items():
            await self.bus.publish_batch(track_subject, items)
