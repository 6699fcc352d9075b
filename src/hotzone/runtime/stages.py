"""Which pipeline stages a run has, in data-flow order, and how each meets the bus.

Each stage is a pure step from its own layer (`TrackingStage` in fusion, `AssessmentStage`
in assess, `ResponseStage` in c2, ...). `BusStage` gives it what the runtime needs: a name,
the subjects it reads and the message types it takes. A simulation adds the simulated
operators and the effect model (`hotzone.sim.effects`), which close the loop back into the
simulator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hotzone.assess.context import (
    AssessmentContext,
    BorderSpec,
    DefendedAssetSpec,
    InfrastructureSpec,
)
from hotzone.assess.stage import AssessmentStage
from hotzone.c2.authority import RegistrySource
from hotzone.c2.config import C2Spec, c2_config_path, load_c2_spec
from hotzone.c2.keys import OperatorKey, OperatorRegistry, RegistryFile
from hotzone.c2.stage import ResponseStage
from hotzone.c2.trust import (
    NodeKey,
    gateway_key_for,
    node_key_for,
    operators_path,
    trusted_gateway_keys,
    trusted_node_keys,
)
from hotzone.c2.webauthn import RelyingParty
from hotzone.fusion.allied import AlliedTrackFusion
from hotzone.fusion.stage import TrackingStage
from hotzone.runtime.effectors.config import load_gateway_spec, shipped_gateway_path
from hotzone.runtime.sector_tracking import checked_sector_frames
from hotzone.runtime.windows import ReplaySummary, TrackingWindows
from hotzone.sim.effects import EffectModelStage, SimulatedOperatorsStage, simulated_operators
from hotzone.sim.operator import SimulatedOperator
from hotzone.sim.scenario import Scenario
from hotzone.types import (
    Alert,
    AnyMessage,
    C2State,
    Decision,
    Detection,
    Event,
    Proposal,
    Report,
    RunMode,
    TaskOrder,
    Track,
    TruthState,
)
from hotzone.types.messages import Assessment

EFFECTOR_INTERFACES = ("sapient", "mavlink", "cot")
"""The effector gateways whose lifecycle events c2 puts on the audit record."""

PureStep = Callable[[datetime, Sequence[AnyMessage]], Sequence[AnyMessage]]


@dataclass
class BusStage:
    """A pure step with what the runtime needs to feed it from the bus."""

    name: str
    input_subjects: tuple[str, ...]
    input_types: tuple[type, ...]
    run_step: PureStep
    collect_extra: Callable[[], Sequence[AnyMessage]] | None = None
    """Outputs a step keeps aside (e.g. the tracker's dead letters), taken after it."""
    run_finish: Callable[[datetime], Sequence[AnyMessage]] | None = None
    """What the stage publishes when the run ends (c2's final audit checkpoint)."""
    last_outputs: Counter[str] = field(default_factory=Counter)
    """Output counts by type of the latest step, for live summaries."""
    windows: ReplaySummary | None = None
    """A tracking stage's windows: how many, and how many reports in them were measured
    before the window stepped before (out of sequence: the tracker rewinds and replays)."""

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, self.input_types)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        outputs = list(self.run_step(time, inputs))
        if self.collect_extra is not None:
            outputs.extend(self.collect_extra())
        self.last_outputs = Counter(type(output).__name__ for output in outputs)
        return outputs

    def finish(self, time: datetime) -> Sequence[AnyMessage]:
        return list(self.run_finish(time)) if self.run_finish is not None else []


def assessment_context(scenario: Scenario) -> AssessmentContext:
    """The scenario facts the assessment stage needs: assets, borders, cables, countries."""
    assets = tuple(
        DefendedAssetSpec(
            asset.name,
            asset.position.lat_deg,
            asset.position.lon_deg,
            float(asset.radius),
            float(asset.position.altitude),
            asset.kind,
        )
        for asset in scenario.defended_assets
    )
    borders = tuple(
        BorderSpec(border.name, (border.countries[0], border.countries[1]), tuple(border.points))
        for border in scenario.borders
    )
    lines = tuple(
        InfrastructureSpec(line.name, line.kind, tuple(line.points))
        for line in scenario.infrastructure
    )
    countries = {country for border in borders for country in border.countries}
    # Which states are hostile is the scenario's policy (its ``hostile_states``), not a
    # constant of the code: the alliance defends its own members on every other side.
    hostile = tuple(sorted(set(scenario.hostile_states)))
    return AssessmentContext(
        home_countries=tuple(sorted(countries - set(hostile))),
        hostile_countries=hostile,
        assets=assets,
        borders=borders,
        infrastructure=lines,
    )


def tracking_stage(
    scenario: Scenario,
    sectors: Sequence[str] = (),
    hold_s: float = 0.0,
    window_s: float = 1.0,
) -> BusStage:
    """The tracker of a node owning ``sectors`` (default: the whole scenario).

    Its tracks live in the first owned sector's frame and are named after that sector
    (``Track.sector``, their subject ``hz.{N}.trk.{sector}`` and id prefix): each sector
    has one tracking node, so nodes that share a nation's sectors never publish the same
    track id.

    It steps through `TrackingWindows.step_window`, the windows of every other command:
    with ``hold_s`` each clock tick (every ``window_s``) steps the tracker ``hold_s``
    before the tick, and what was measured after that waits for the next tick, so a
    report delivered up to ``hold_s`` after its measurement is not out of sequence (no
    rewind and replay of the tracker). `BusStage.windows` counts what was.
    """
    frames = checked_sector_frames(scenario, sectors)
    owned = list(sectors) or [scenario.sectors[0].name]
    stage = TrackingStage(
        frame=frames[owned[0]] if sectors else scenario.frame,
        sector=owned[0],
        confirmed_only=True,
        releasability=scenario.releasability,
    )
    summary = ReplaySummary()
    windows = TrackingWindows(stage, window_s, summary, hold_s)

    def step(time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        return windows.step_window(time.timestamp(), inputs)

    def extra() -> list[AnyMessage]:
        # Identity conflicts (spoofing) are Events of the source fusion-{sector}: they
        # travel on its det subject, which this stage reads for Detections and Reports
        # only and the assessment for Tracks and Reports, and the run records them.
        refused: list[AnyMessage] = [*summary.dead_letters]
        summary.dead_letters.clear()
        return [*refused, *stage.take_events()]

    return BusStage(
        name="fusion",
        input_subjects=("det.>",),
        input_types=(Detection, Report),
        run_step=step,
        collect_extra=extra,
        windows=summary,
    )


def alliance_stage(scenario: Scenario, nation: str) -> BusStage:
    """The node's allied picture merged: its own tracks and its allies' copies of the same
    objects fused into one alliance track each (`AlliedTrackFusion`), published on
    ``hz.{nation}.alliance.trk``, where no stage of the node takes them as its own tracks
    and the exporter, which shares only ``trk.>``, never sends them back out."""
    stage = AlliedTrackFusion(
        nation=nation,
        common_frame=scenario.frame,
        sector_frames=scenario.sector_frames(),
        releasability=scenario.releasability,
    )
    return BusStage(
        name="alliance",
        input_subjects=("trk.>", "ally.*.trk.>"),
        input_types=(Track,),
        run_step=stage.step,
        collect_extra=stage.take_dead_letters,
    )


def assessment_stage(scenario: Scenario) -> BusStage:
    stage = AssessmentStage(
        context=assessment_context(scenario), releasability=scenario.releasability
    )
    return BusStage(
        name="assess",
        input_subjects=("trk.>", "det.>"),
        input_types=(Track, Report, Event),
        run_step=stage.step,
    )


def response_stage(
    spec: C2Spec,
    registry: RegistrySource,
    scenario: Scenario,
    *,
    mode: RunMode,
    nation: str,
    node_key: NodeKey,
    relying_party: RelyingParty | None = None,
    trusted_gateways: Mapping[str, bytes] | None = None,
    gateway_effectors: Collection[str] = (),
    delivery_timeout_s: float = 30.0,
) -> tuple[BusStage, ResponseStage]:
    stage = ResponseStage(
        spec,
        registry,
        mode=mode,
        nation=nation,
        node_key=node_key,
        relying_party=relying_party,
        releasability=scenario.releasability,
        trusted_gateways=trusted_gateways,
        gateway_effectors=gateway_effectors,
        delivery_timeout_s=delivery_timeout_s,
    )
    bus_stage = BusStage(
        name="c2",
        input_subjects=(
            "trk.>",
            "assessment",
            "c2.decision",
            "c2.order",
            "alert",
            # What the effector gateways report on orders (docs/effectors.md).
            *(f"det.*.effectors-{interface}" for interface in EFFECTOR_INTERFACES),
        ),
        input_types=(Track, Assessment, Decision, TaskOrder, Alert, Event),
        run_step=stage.step,
        run_finish=stage.finish,
    )
    return bus_stage, stage


@dataclass
class RunStages:
    """The stages of one run, and the parts a report needs to read afterwards."""

    stages: list[BusStage]
    mode: RunMode = RunMode.LIVE
    response: ResponseStage | None = None
    #: Why a run has no response stage ("" when it has one), for the page and summary.
    response_note: str = ""
    effects: EffectModelStage | None = None
    removals: dict[str, float] = field(default_factory=dict)
    operators: list[SimulatedOperator] = field(default_factory=list)
    #: The c2 node keys whose orders this run's consumers act on and show, by key id.
    trusted_issuers: dict[str, bytes] = field(default_factory=dict)
    #: How long before each clock tick the tracking stage steps (`tracking_stage`).
    tracking_hold_s: float = 0.0


def build_stages(
    scenario: Scenario,
    seed: int = 1,
    mode: RunMode = RunMode.LIVE,
    sectors: Sequence[str] = (),
    *,
    nation: str = "PL",
    home: Path | None = None,
    relying_party: RelyingParty | None = None,
    allied: bool = False,
    gateway_effectors: Sequence[str] = (),
    tracking_hold_s: float = 0.0,
) -> RunStages:
    """The stages for a run of ``scenario`` (or of the ``sectors`` one node owns), lowest first.

    ``mode`` is the command's choice, never inferred from the inputs. Scenarios with
    response data (effectors and rules of engagement) get the c2 stage; only a
    `RunMode.SIMULATION` gets simulated operators (whose keys are the only ones its c2
    accepts); a simulation and an exercise (simulated world, real people) get the effect
    model. Other runs accept the operators enrolled in the nation's
    configuration (``home``, see `hotzone.c2.trust`), whose private keys they never hold.
    A node with allies (``allied``, the nation's owner) merges their copies with its own
    tracks (`alliance_stage`).
    ``gateway_effectors``: simulated effectors an effector gateway carries orders to (an
    exercise's, `hotzone.runtime.effectors.exercise`): the effect model waits for their
    gateway's word instead of deciding at the effect window. ``tracking_hold_s``: the
    tracking stage's hold (`tracking_stage`).
    """
    run = RunStages(
        stages=[tracking_stage(scenario, sectors, tracking_hold_s), assessment_stage(scenario)],
        mode=mode,
        tracking_hold_s=tracking_hold_s,
    )
    if allied:
        run.stages.append(alliance_stage(scenario, nation))
    c2_path = c2_config_path(scenario)
    if c2_path is None:
        run.response_note = f"no response stage: no c2 config for {scenario.name}"
        return run
    spec = load_c2_spec(c2_path)  # a malformed file is an error, never silence
    node_key = node_key_for(nation, home)
    run.trusted_issuers = {**trusted_node_keys(home), node_key.key_id: node_key.public_raw}
    registry: RegistrySource
    if mode is RunMode.SIMULATION:
        run.operators = simulated_operators(seed)
        registry = OperatorRegistry(
            OperatorKey(
                operator_id=operator.operator_id,
                role=operator.role,
                nation=nation,
                public_key=operator.public_key_b64,
                simulation=True,
            )
            for operator in run.operators
        )
    else:
        registry = RegistryFile(operators_path(home)).current
    gateway_keys = trusted_gateway_keys(home) | _own_gateway_key(nation, home)
    bus_stage, run.response = response_stage(
        spec,
        registry,
        scenario,
        mode=mode,
        nation=nation,
        node_key=node_key,
        relying_party=relying_party,
        # The gateways' lifecycle steps are believed only when signed by a gateway key
        # of this installation (docs/effectors.md); a live run expects its gateway file's
        # effectors to be reported on (`no_gateway` otherwise).
        trusted_gateways=gateway_keys,
        gateway_effectors=(
            gateway_effectors if mode is not RunMode.LIVE else _gateway_file_effectors(scenario)
        ),
    )
    run.stages.append(bus_stage)
    if mode is RunMode.SIMULATION:
        people = SimulatedOperatorsStage(run.operators)
        run.stages.append(BusStage("operators", ("c2.proposal",), (Proposal,), people.step))
    if mode in (RunMode.SIMULATION, RunMode.EXERCISE):
        # The world is simulated: orders take effect in it (the effect model verifies them).
        run.effects = EffectModelStage(
            run.removals,
            seed=seed,
            trusted_issuers=run.trusted_issuers,
            gateway_effectors=frozenset(gateway_effectors),
            # It believes the same gateway steps c2 believes (a forged `effect_observed`
            # on the bus stops no simulated drone).
            trusted_gateways=gateway_keys,
        )
        run.stages.append(effects_stage(run.effects))
    return run


def _own_gateway_key(nation: str, home: Path | None) -> dict[str, bytes]:
    key = gateway_key_for(nation, home)
    return {key.key_id: key.public_raw}


def _gateway_file_effectors(scenario: Scenario) -> frozenset[str]:
    """The effectors the scenario's shipped gateway file reaches (none without one)."""
    if not shipped_gateway_path(scenario.name).is_file():
        return frozenset()
    return frozenset(load_gateway_spec(scenario.name).effectors)


def effects_stage(effects: EffectModelStage) -> BusStage:
    """The effect model on the bus: truth, proposals, orders, c2 state, and what the
    effector gateways report of the orders they carry."""
    return BusStage(
        "effects",
        (
            "truth",
            "c2.proposal",
            "c2.order",
            "c2.state",
            *(f"det.*.effectors-{interface}" for interface in EFFECTOR_INTERFACES),
        ),
        (TruthState, Proposal, TaskOrder, C2State, Event),
        effects.step,
    )
