"""A nation node: the pipeline of one nation (or of some of its sectors) on NatsBus.

``hotzone node`` runs this. A node with ``replay`` simulates its scenario and publishes the
detections and the clock. Sector nodes scale a nation out (`tests/federation/
test_scale_out.py`; throughput by number of processes in `bench/federation.py`):

* the nation's **owner** (a node started without sectors, or with ``owner``, or
  ``owner_only``) runs everything that must exist once per nation: assessment, c2 and
  its audit chain, the share exporter and importer, the recorder of the whole nation's
  log, and the tracking of every detection that no other node's sectors claim (its own
  sectors', those without a sector, those of a sector the scenario does not name); with
  ``owner_only`` it tracks no sector of the scenario (sector nodes track them all), only
  those detections of none; with ``no_tracking`` it tracks nothing at all;
* a **sector node** (sectors, not owner) only tracks its sectors: its consumers read only
  those sectors' detections, its tracks and the clock (`sector_filters`), so the server
  hands each detection to exactly one tracking process. With ``unclaimed`` it also tracks
  the detections of no scenario sector, for an owner with ``no_tracking``: its consumers
  then read every detection, and the owner's process none. One node per nation does: it
  holds the lease's key ``unclaimed`` (`hotzone.runtime.owner_lease`), and an owner with
  ``no_tracking`` warns while no node holds it (`watch_unclaimed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import nats.errors
import nats.js.api
import nats.js.errors

from hotzone.bus import NatsBus
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.bus.nats import nation_log_stream
from hotzone.runtime.c2_offline import restore_from_store
from hotzone.runtime.federation import (
    ShareExporter,
    ShareImporter,
    SourceWatchdog,
    federation_streams,
    import_stream,
)
from hotzone.runtime.federation_servers import check_nation
from hotzone.runtime.metrics import PipelineMetrics
from hotzone.runtime.owner_lease import (
    OWNER_KEY,
    UNCLAIMED_KEY,
    OwnerLease,
    OwnerLeaseLostError,
    lease_holder,
)
from hotzone.runtime.pipeline import Pipeline, PipelineProgress
from hotzone.runtime.sector_tracking import UNCLAIMED, SectorTracking, sector_tracking
from hotzone.runtime.services import (
    SHUTDOWN,
    AllyRecorder,
    DecodedMessages,
    Stage,
    StageService,
    taken_tags,
)
from hotzone.runtime.stages import build_stages
from hotzone.runtime.watermarks import NO_SECTOR, TickGate, tracking_producer
from hotzone.sim.scenario import Scenario, load_scenario
from hotzone.sim.simulator import simulate
from hotzone.store import open_store
from hotzone.types import AnyMessage
from hotzone.types.subjects import clock_subject, validate_pattern

_log = logging.getLogger(__name__)
TRACKING_STAGE = "fusion"
"""The one stage a sector node runs (`hotzone.runtime.sector_tracking`)."""
ASSESSMENT_STAGE = "assess"
RESPONSE_STAGE = "c2"
SCENARIO_TRACKER = "fusion-scenario"
"""The producer name of an owner's one tracker for the whole scenario."""
PRODUCER_ABSENT_AFTER_S = 10.0
"""How long the owner's assessment and c2 wait for a tracker's marker of a tick before
going on without it (a sector node not running): `hotzone.runtime.watermarks`."""


def sector_filters(nation: str, sectors: Sequence[str], unclaimed: bool = False) -> list[str]:
    """The subjects a node owning ``sectors`` reads: their detections, tracks, the clock;
    ``unclaimed`` (it also tracks the detections of no scenario sector, whose sector no
    pattern can name): every detection, and the tracks of none."""
    filters = []
    if unclaimed:
        filters.append(f"hz.{nation}.det.>")
    for sector in sectors:
        if not unclaimed:
            filters.append(f"hz.{nation}.det.{sector}.>")
        filters.append(f"hz.{nation}.trk.{sector}")
    if unclaimed:
        filters.append(f"hz.{nation}.trk.{NO_SECTOR}")
    filters.append(f"hz.{nation}.clock")
    for pattern in filters:
        validate_pattern(pattern)
    return filters


@dataclass
class NodeOptions:
    nation: str
    servers: list[str]
    scenario: str
    #: An SQLite file, or a ``postgresql://`` URL (`hotzone.store.open_store`).
    store_path: Path | str
    sectors: tuple[str, ...] = ()
    domain: str | None = None
    alliance: tuple[str, ...] = ()
    replay: bool = True
    seed: int = 1
    duration_s: float | None = None
    speed: float = math.inf
    replicas: int = 1
    #: How long the first connection to NATS may take before the node gives up.
    connect_deadline_s: float = 30.0
    #: The nation's NATS credentials (``.creds``) and the CA of the servers' TLS.
    credentials: Path | None = None
    tls_ca: Path | None = None
    #: With ``sectors``: this node is also the nation's owner (assessment, c2, audit,
    #: sharing, and the detections no sector node claims). A node without sectors always is.
    owner: bool = False
    #: Without ``sectors``: one tracker per sector (`hotzone.runtime.sector_tracking`),
    #: as when sector nodes share the sectors, instead of one for the whole scenario.
    track_by_sector: bool = False
    #: Without ``sectors``: the nation's owner tracking no sector of the scenario (sector
    #: nodes track every one), only the detections of none; the rest of its work as any
    #: owner's. Its process is then free for the assessment, the work that cannot be split.
    owner_only: bool = False
    #: Without ``sectors``: the nation's owner tracking nothing, not even the detections of
    #: no scenario sector (a sector node with ``unclaimed`` tracks them): its process runs
    #: the assessment, c2 and audit only, and its consumers read no detection.
    no_tracking: bool = False
    #: With ``sectors`` (a sector node): it also tracks the detections of no scenario
    #: sector, for an owner with ``no_tracking``. One node per nation tracks them.
    unclaimed: bool = False
    #: How long the owner's stages wait for a tracker's marker of a tick (wall seconds).
    producer_absent_after_s: float = PRODUCER_ABSENT_AFTER_S

    @property
    def owns_nation(self) -> bool:
        return self.owner or self.owner_only or self.no_tracking or not self.sectors


def check_roles(options: NodeOptions) -> None:
    """Refuse what a sector node cannot do: sharing is the owner's (one exporter per
    nation, or every copy would be released twice); and an owner told both to track no
    sector and to track some."""
    if options.owner_only and options.sectors:
        raise ValueError(
            "--owner-only tracks no sector of the scenario: leave out --sectors "
            "(the sector nodes track them), or use --sectors … --owner"
        )
    if options.owner_only and options.track_by_sector:
        raise ValueError(
            "--owner-only tracks no sector of the scenario: --track-by-sector has nothing "
            "to track by sector"
        )
    if options.no_tracking and (
        options.sectors or options.owner_only or options.track_by_sector or options.owner
    ):
        raise ValueError(
            "--no-tracking is an owner tracking nothing: leave out --sectors, --owner, "
            "--owner-only and --track-by-sector (sector nodes track every sector, one of them "
            "with --unclaimed the detections of none)"
        )
    if options.unclaimed and (options.owns_nation or not options.sectors):
        raise ValueError(
            "--unclaimed is a sector node's (with --sectors, without --owner): the nation's "
            "owner tracks the detections of no sector itself unless it runs with --no-tracking"
        )
    if not options.owns_nation and options.alliance:
        raise ValueError(
            "a sector node does not share: --alliance goes to the nation's owner node "
            "(the one without --sectors, or with --owner)"
        )


def node_role(options: NodeOptions) -> str:
    """What a node does in its nation, in words (its report line says it)."""
    if options.unclaimed:
        return f"sector node: tracks {', '.join(options.sectors)} and detections of no sector"
    if not options.owns_nation:
        return f"sector node: tracks {', '.join(options.sectors)}"
    if options.no_tracking:
        tracks = "nothing (sector nodes track every sector and the detections of none)"
    elif options.owner_only:
        tracks = "no sector, only detections of none (sector nodes track every sector)"
    elif options.sectors:
        tracks = f"{', '.join(options.sectors)} and detections of no other sector"
    else:
        tracks = "every sector"
    return f"owner: assessment, c2, audit; tracks {tracks}"


def node_stages(
    stages: Sequence[Stage],
    scenario: Scenario,
    sectors: Sequence[str],
    owner: bool,
    by_sector: bool = False,
    owner_only: bool = False,
    no_tracking: bool = False,
    unclaimed: bool = False,
) -> list[Stage]:
    """The stages of one node: every stage for the owner, the tracking stage alone for a
    sector node. A node of some ``sectors`` (or ``by_sector``, all the scenario's) tracks
    with one tracker per sector, and the owner with one more for whatever no sector
    claims: no sector, or one the scenario does not name (a live source may say
    anything), so no detection goes untracked (`hotzone.runtime.sector_tracking`). An
    owner of every sector otherwise keeps ``stages``' tracker for the whole scenario (a
    target seen by sensors of two sectors stays one track). An ``owner_only`` owner
    tracks no sector, only with that tracker of none; a ``no_tracking`` owner has no
    tracking stage, and a sector node with ``unclaimed`` has that tracker of none."""
    if no_tracking:
        return [stage for stage in stages if stage.name != TRACKING_STAGE]
    if owner_only:
        return [
            sector_tracking(scenario, [], unclaimed=True) if stage.name == TRACKING_STAGE else stage
            for stage in stages
        ]
    if not sectors and not by_sector:
        return list(stages)
    tracked = list(sectors) or [sector.name for sector in scenario.sectors]
    chosen: list[Stage] = []
    for stage in stages:
        if stage.name == TRACKING_STAGE:
            chosen.append(sector_tracking(scenario, tracked, unclaimed=owner or unclaimed))
        elif owner:
            chosen.append(stage)
    return chosen


def watch_producers(
    services: Sequence[StageService],
    scenario: Scenario,
    absent_after_s: float = PRODUCER_ABSENT_AFTER_S,
) -> None:
    """Per-producer watermarks on a node's services (`hotzone.runtime.watermarks`): its
    trackers mark each tick done, one marker per sector; the owner's assessment steps a
    tick once every sector's tracker (and the owner's tracker of no sector) has, its c2
    once the assessment has. The owner's outputs are then the same whichever
    nodes track which sectors, and however late a sector node's tracks arrive."""
    trackers = [tracking_producer(sector.name) for sector in scenario.sectors]
    trackers.append(tracking_producer(UNCLAIMED))
    tracking = [service for service in services if service.stage.name == TRACKING_STAGE]
    if tracking and not isinstance(tracking[0].stage, SectorTracking):
        # An owner with one tracker for the whole scenario: no sector node shares it.
        trackers = [SCENARIO_TRACKER]
    for service in services:
        stage = service.stage
        if isinstance(stage, SectorTracking):
            service.marks = stage.producers
        elif stage.name == TRACKING_STAGE:
            service.marks = (SCENARIO_TRACKER,)
        elif stage.name == ASSESSMENT_STAGE:
            service.marks = (ASSESSMENT_STAGE,)
            service.gate = TickGate(
                frozenset(trackers), frozenset({TRACKING_STAGE}), absent_after_s
            )
        elif stage.name == RESPONSE_STAGE:
            # The assessment marks tick k done after it has read every tracker's marker
            # of k (or found the tracker absent), so the log holds the tracks of k before
            # that marker: c2 waits for the assessment alone, and the trackers' absence
            # is decided once, by the assessment. The assessment runs in this process: c2
            # never goes on without it (it may itself be waiting for an absent tracker).
            service.gate = TickGate(
                frozenset({ASSESSMENT_STAGE}),
                frozenset({TRACKING_STAGE, ASSESSMENT_STAGE}),
                math.inf,
            )


def share_decoded(services: Sequence[StageService]) -> None:
    """A node's stage services decode each message of a type several of them take once
    between them (`DecodedMessages`: the owner's assessment and c2 take the same tracks);
    a lone service keeps nothing. A stage that does not say its input types is taken to
    take every type."""
    takers: Counter[bytes] = Counter()
    every = {str(kind.__struct_config__.tag).encode() for kind in get_args(AnyMessage)}
    for service in services:
        takers.update(taken_tags(service.stage) or every)
    shared = frozenset(tag for tag, count in takers.items() if count > 1)
    if shared:
        decoded = DecodedMessages(shared)
        for service in services:
            service.decoded = decoded


def producer_timeouts(services: Sequence[StageService]) -> dict[str, int]:
    """Ticks a node's stages stepped without a producer's marker, by producer (the most
    of any stage: each waiting stage counts its own)."""
    timeouts: dict[str, int] = {}
    for service in services:
        if service.gate is not None:
            for producer, count in service.gate.timeouts.items():
                timeouts[producer] = max(timeouts.get(producer, 0), count)
    return timeouts


@dataclass
class NodeReport:
    nation: str
    progress: PipelineProgress
    role: str = ""
    #: Detections and reports this node's tracking stage took.
    tracked: int = 0
    #: Ticks the owner's stages stepped without a tracker's marker, by tracker (absent).
    producer_timeouts: dict[str, int] = field(default_factory=dict)
    shared_out: dict[str, int] = field(default_factory=dict)
    received_from: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    #: An owner with ``no_tracking``: no node held the ``unclaimed`` key when it ended
    #: (the detections of no scenario sector went untracked, `watch_unclaimed`).
    unclaimed_untracked: bool = False


UNCLAIMED_ABSENT = (
    # Not "PL: ...": that is how a node's summary line starts.
    "no node tracks the detections of no scenario sector in %s (no sector, or one the "
    "scenario does not name): this owner runs with --no-tracking, so start one sector "
    "node with --unclaimed"
)


@dataclass
class UnclaimedWatch:
    """What an owner with ``no_tracking`` found of the node tracking the detections of no
    scenario sector: the checks that found none, and whether one holds the key now."""

    absent: int = 0
    held: bool = False


async def watch_unclaimed(bus: NatsBus, nation: str, wait_s: float, watch: UnclaimedWatch) -> None:
    """Every ``wait_s`` (the owner's watermark wait, `PRODUCER_ABSENT_AFTER_S`), until one
    holds it: whether a sector node holds ``nation``'s ``unclaimed`` key
    (`hotzone.runtime.owner_lease`). Warned once when none does (the owner's assessment
    would otherwise only find `fusion-none` absent), and said again when one appears."""
    while not watch.held:
        await asyncio.sleep(wait_s)
        try:
            holder = await lease_holder(bus, nation, UNCLAIMED_KEY)
        except (nats.errors.Error, TimeoutError) as error:
            _log.warning(
                "the node tracking detections of no sector in %s not checked: %s", nation, error
            )
            continue
        if holder is None:
            if not watch.absent:
                _log.warning(UNCLAIMED_ABSENT, nation)
            watch.absent += 1
        else:
            watch.held = True
            if watch.absent:
                _log.warning(
                    "the detections of no scenario sector in %s are tracked now by %s",
                    nation,
                    holder.decode(errors="replace"),
                )


async def run_node(
    options: NodeOptions,
    on_progress: Callable[[PipelineProgress], None] | None = None,
    stages: Sequence[Stage] | None = None,
    linger_s: float = 0.0,
    before_close: Callable[[], Awaitable[object]] | None = None,
    metrics: PipelineMetrics | None = None,
) -> NodeReport:
    """Run one node to the end of its replay (or, without replay, until the clock says
    shutdown). Sharing goes on for ``linger_s`` afterwards, and until ``before_close``
    returns (e.g. a barrier all nodes reach), so allies catch up before it stops.
    ``metrics`` (``--metrics-port``) is told of the pipeline's stages and recorder.

    An owner ousted from its lease (it stalled while another node took the nation over)
    stops at once, publishing nothing more, acknowledging nothing, sharing nothing more:
    `OwnerLeaseLostError` (``hotzone node`` says it in one line, exit code 2)."""
    task = asyncio.current_task()
    leases: list[OwnerLease] = []
    try:
        return await _run_node(
            options, on_progress, stages, linger_s, before_close, metrics, leases
        )
    except asyncio.CancelledError:
        lost = [lease for lease in leases if lease.lost.is_set()]
        if not lost or task is None:
            raise
        task.uncancel()  # cancelled by the lease (`OwnerLease.on_lost`), not by a caller
        raise OwnerLeaseLostError(lost[0].ousted()) from None


async def _run_node(
    options: NodeOptions,
    on_progress: Callable[[PipelineProgress], None] | None,
    stages: Sequence[Stage] | None,
    linger_s: float,
    before_close: Callable[[], Awaitable[object]] | None,
    metrics: PipelineMetrics | None,
    leases: list[OwnerLease],
) -> NodeReport:
    nation = check_nation(options.nation)
    check_roles(options)
    owner = options.owns_nation
    loaded = load_scenario(options.scenario)
    # A node is never a simulation (RunMode.LIVE): only enrolled people decide.
    built = build_stages(
        loaded,
        seed=options.seed,
        sectors=options.sectors,
        nation=nation,
        # The owner merges its allies' copies (only the owner shares, `check_roles`).
        allied=bool(options.alliance),
    )
    run_stages: list[Stage] = (
        list(stages)
        if stages is not None
        else node_stages(
            built.stages,
            loaded,
            options.sectors,
            owner,
            by_sector=options.track_by_sector,
            owner_only=options.owner_only,
            no_tracking=options.no_tracking,
            unclaimed=options.unclaimed,
        )
    )
    streams = federation_streams(nation, options.replicas)
    if not options.alliance:
        streams = streams[:-1]  # no hub: no import stream
    identity = run_identity(options)
    # Durable consumers named after the nation and the sectors: a node killed and started
    # again with the same command goes on where it stopped. Sharing's are the nation
    # owner's whatever sectors it tracks (there is one owner, and a new name would start
    # the importer again from the first copy its stream holds) and kept across runs (what
    # allies send between two runs is admitted by the next); the pipeline's are the run's
    # (its command's) and removed when the run ends.
    consumers = f"{nation}-{'-'.join(options.sectors) or _owner_consumers(options)}"
    run_consumers = f"{consumers}-{identity}"
    bus = await NatsBus.connect(
        options.servers,
        streams,
        domain=options.domain,
        durable_prefix=f"{nation}-owner-share",
        # A sector node reads its sectors and the clock only; the owner reads the nation.
        read_filters=None if owner else sector_filters(nation, options.sectors, options.unclaimed),
        name=f"hotzone-node-{nation}",
        # A node without replay publishes only what its stages make from their inputs:
        # confirmed once per input instead of once each (a replay's inputs and clock
        # ticks must stay in order, so a replaying node confirms every publish).
        pipeline_publishes=not options.replay,
        connect_deadline_s=options.connect_deadline_s,
        user_credentials=options.credentials,
        tls_ca=options.tls_ca,
    )
    # One owner per nation: a second one (same nation, no --sectors) is refused here,
    # before it reads or publishes anything; and one sector node with --unclaimed.
    lease = OwnerLease(
        bus,
        nation,
        node_role(options),
        replicas=options.replicas,
        key=UNCLAIMED_KEY if options.unclaimed else OWNER_KEY,
    )
    if owner or options.unclaimed:
        try:
            await lease.acquire()
        except BaseException:
            await bus.close()
            raise
        # The owner reads and publishes only while it surely holds the lease, and stops as
        # soon as it finds another node holding it (`run_node` says why).
        leases.append(lease)
        bus.guard = lease
        lease.on_lost = _stopper(asyncio.current_task())
    store = open_store(options.store_path)
    if built.response is not None and stages is None and owner:
        restore_from_store(built.response, store)  # a restarted node's c2 goes on
    stop = asyncio.Event()
    stop_recording = asyncio.Event()
    sharing: list[ShareExporter | ShareImporter] = []
    share_tasks = []
    recording_tasks = []
    unclaimed = UnclaimedWatch()
    watching: asyncio.Task[None] | None = None
    skips: tuple[str, ...] = ()
    if options.alliance:
        # Allied copies (and allies' audit checkpoints, the witnesses) keep arriving after
        # this node's own run: they are recorded until the importer has finished. Its
        # consumer exists before the importer's, so it records every copy admitted.
        allies = AllyRecorder(bus, store, nation)
        ready = asyncio.Event()
        recording_tasks.append(asyncio.create_task(allies.run(ready, stop_recording)))
        await until_ready(recording_tasks[-1], ready)
        skips = (allies.pattern,)
        sharing = [ShareExporter(bus, nation, options.alliance), ShareImporter(bus, nation)]
        for service in sharing:
            ready = asyncio.Event()
            share_tasks.append(asyncio.create_task(service.run(ready, stop)))
            await until_ready(share_tasks[-1], ready)
        # The import stream's source resumes within seconds of a partition healing.
        watchdog = SourceWatchdog(bus, import_stream(nation).name)
        recording_tasks.append(asyncio.create_task(watchdog.run(stop_recording)))
    progress = PipelineProgress(finished=True)
    bus.durable_prefix = run_consumers
    if owner:
        # The owner's stages and recorder, made for the first time, read what was published
        # since the nation's last run ended: a sector node's tracks, published before the
        # owner started, are assessed and recorded too (a sector node's own stages start at
        # the log's end, and its reads are narrowed to its sectors).
        log = nation_log_stream(nation)
        bus.durable_starts[log] = await owner_start(bus, nation)
    try:
        if options.no_tracking:
            watching = asyncio.create_task(
                watch_unclaimed(bus, nation, options.producer_absent_after_s, unclaimed)
            )
        pipeline = Pipeline(
            bus, store, run_stages, nation=nation, on_progress=on_progress, recorder_skips=skips
        )
        share_decoded(pipeline.services)
        for stage_service in pipeline.services:
            # c2 goes on from its store (its audit chain, restore_from_store above); the
            # other stages rebuild their state from what they handled before a restart.
            stage_service.rebuild_from_log = stage_service.stage.name != "c2"
        if stages is None:
            watch_producers(pipeline.services, loaded, options.producer_absent_after_s)
        if metrics is not None:
            metrics.watch_pipeline(pipeline)
        if options.replay:
            pipeline.run_id, pipeline.resume_after = await replay_position(
                bus, nation, f"{nation}-{identity}"
            )
        if not options.replay:
            progress = await _serve(pipeline)
        else:
            messages = simulate(
                loaded,
                seed=options.seed,
                duration_s=options.duration_s,
                removals=built.removals,
            )
            pipeline.speed = options.speed
            progress = await pipeline.run(messages)
        # The run is over (its shutdown handled): nothing of its consumers to resume.
        await bus.delete_durables(run_consumers)
        if before_close is not None:
            await before_close()
        if linger_s > 0:
            await asyncio.sleep(linger_s)
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        if lease.lost.is_set():
            # Ousted: the new owner handles what this one had not acknowledged.
            for task in (*share_tasks, *recording_tasks):
                task.cancel()
            await asyncio.gather(*share_tasks, *recording_tasks, return_exceptions=True)
            await lease.release()
            await bus.close(acknowledge=False)
            store.close()
        else:
            # Sharing ends only when the exporter has released and the importer admitted
            # everything there is (each reads until nothing is left), then the allied
            # copies the importer admitted are recorded.
            stop.set()
            await asyncio.gather(*share_tasks, return_exceptions=True)
            stop_recording.set()
            await asyncio.gather(*recording_tasks, return_exceptions=True)
            await lease.release()
            await bus.close()
            store.close()
    report = NodeReport(
        nation=nation,
        progress=progress,
        role=node_role(options),
        producer_timeouts=producer_timeouts(pipeline.services),
        unclaimed_untracked=unclaimed.absent > 0 and not unclaimed.held,
    )
    for stage_service in pipeline.services:
        if stage_service.stage.name == TRACKING_STAGE:
            received = stage_service.counters.received
            report.tracked = received["Detection"] + received["Report"]
    for service in sharing:
        if isinstance(service, ShareExporter):
            report.shared_out = dict(service.counters.by_recipient)
        else:
            report.received_from = dict(service.counters.by_recipient)
            report.refused = service.counters.refused
    return report


async def until_ready(service: asyncio.Task[None], ready: asyncio.Event) -> None:
    """Wait until a service started as ``service`` sets ``ready``; a service that fails
    before that (its consumers refused, its log unreadable) raises its error here, so the
    node ends with it instead of waiting for ever."""
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({service, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if ready.is_set():
        return
    waiting.cancel()
    error = service.exception()
    raise error if error is not None else RuntimeError("a service ended before it was ready")


def _stopper(node_task: asyncio.Task[object] | None) -> Callable[[], None]:
    """What an ousted owner's lease calls: cancel the node's task, unless that task is
    the one that found out (it raises `OwnerLeaseLostError` itself)."""

    def stop() -> None:
        if node_task is not None and asyncio.current_task() is not node_task:
            node_task.cancel()

    return stop


def run_identity(options: NodeOptions) -> str:
    """A short hash of what decides a node's output (same command, same run): names its
    durable consumers and the message ids of its replay."""
    decisive = (
        options.nation,
        options.scenario,
        options.sectors,
        options.owns_nation,
        options.alliance,
        options.replay,
        options.seed,
        options.duration_s,
        # Only when set, so the default's consumers keep the names they had.
        *(("track-by-sector",) if options.track_by_sector else ()),
        *(("owner-only",) if options.owner_only else ()),
        *(("no-tracking",) if options.no_tracking else ()),
        *(("unclaimed",) if options.unclaimed else ()),
    )
    return hashlib.sha256(repr(decisive).encode()).hexdigest()[:10]


def _owner_consumers(options: NodeOptions) -> str:
    if options.no_tracking:
        return "untracked"
    return "none" if options.owner_only else "all"


async def owner_start(bus: NatsBus, nation: str) -> int:
    """Where the consumers of a nation owner's run start in the nation's log when they are
    made for the first time (a restarted run resumes its own): after the last shutdown
    tick the log holds, where the nation's previous run ended (everything before it was
    that run's, and a stage would stop at it), or at the log's first message when it holds
    none (no run has ended in the log's retention, 2 days)."""
    stream, clock = nation_log_stream(nation), clock_subject(nation)
    try:
        last = await bus.jetstream.get_last_msg(stream, clock)
    except nats.js.errors.NotFoundError:
        return 1  # no tick at all: from the first message (`NatsBus.durable_starts`)
    last_tick = last.seq or 0
    if (last.headers or {}).get("kind") == SHUTDOWN:
        return last_tick + 1
    # The last tick is a run's that goes on or was killed: find the last shutdown before
    # it, reading the clock's headers only (ticks are one a second of the scenario).
    jetstream = bus.jetstream
    config = nats.js.api.ConsumerConfig(
        deliver_policy=nats.js.api.DeliverPolicy.ALL,
        ack_policy=nats.js.api.AckPolicy.NONE,
        filter_subject=clock,
        headers_only=True,
        inactive_threshold=60.0,
        mem_storage=True,
    )
    info = await jetstream.add_consumer(stream, config)
    pull = await jetstream.pull_subscribe_bind(consumer=info.name, stream=stream)
    start = 1
    try:
        while True:
            batch = await pull.fetch(batch=4096, timeout=5.0)
            for message in batch:
                sequence = message.metadata.sequence.stream
                if (message.headers or {}).get("kind") == SHUTDOWN:
                    start = sequence + 1
                if sequence >= last_tick:
                    return start
    finally:
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error, TimeoutError):
            await pull.unsubscribe()
            await jetstream.delete_consumer(stream, info.name)


async def replay_position(bus: NatsBus, nation: str, command: str) -> tuple[str, int]:
    """The run id of ``command``'s replay (``{command}-g{n}``: a run that ended is
    followed by a new one) and how many of its messages the log holds up to its last
    clock tick, 0 for a run that starts now. The detections published after that tick are
    sent again on resuming, with the same ids, and dropped by the duplicate window."""
    try:
        last = await bus.jetstream.get_last_msg(nation_log_stream(nation), clock_subject(nation))
    except nats.js.errors.NotFoundError:
        return f"{command}-g1", 0
    headers = last.headers or {}
    run, _, index = headers.get(MESSAGE_ID_HEADER, "").rpartition("-")
    generation = run.removeprefix(f"{command}-g")
    if generation == run or not generation.isdigit() or not index.isdigit():
        return f"{command}-g1", 0  # the last run was another command's
    if headers.get("kind") == SHUTDOWN:
        return f"{command}-g{int(generation) + 1}", 0
    return run, int(index)


async def _serve(pipeline: Pipeline) -> PipelineProgress:
    """Run the stage services and the recorder until a shutdown tick arrives."""
    # The owner's assessment and c2 may step the last ticks after the shutdown tick
    # (waiting for a sector node's markers): the recorder keeps what they publish then.
    stages_done = pipeline.recorder.stages_done = asyncio.Event()

    async def stages() -> None:
        try:
            await asyncio.gather(*(service.run() for service in pipeline.services))
        finally:
            stages_done.set()

    await asyncio.gather(stages(), pipeline.recorder.run())
    pipeline.progress.recorded = pipeline.recorder.recorded
    pipeline.progress.dead_letters = pipeline.recorder.dead_letters
    pipeline.progress.finished = True
    return pipeline.progress
