"""Which pipeline stages a run has, in data-flow order, and how each meets the bus.

Each stage is a pure step from its own layer (`TrackingStage` in fusion, `AssessmentStage`
in assess, `ResponseStage` in c2, ...). `BusStage` gives it what the runtime needs: a name,
the subjects it reads and the message types it takes. A simulated run adds the simulated
operators and the effect model, which closes the loop back into the simulator.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hotzone.assess.context import (
    AssessmentContext,
    BorderSpec,
    DefendedAssetSpec,
    InfrastructureSpec,
)
from hotzone.assess.stage import AssessmentStage
from hotzone.c2.config import C2ConfigError, C2Spec, load_c2_spec
from hotzone.c2.keys import OperatorKey, OperatorRegistry
from hotzone.c2.stage import ResponseStage
from hotzone.fusion.stage import TrackingStage
from hotzone.geo import geodesic_distance_m
from hotzone.sim.operator import SimulatedOperator
from hotzone.sim.scenario import Scenario
from hotzone.types import (
    Alert,
    AnyMessage,
    Decision,
    Detection,
    EffectClass,
    Event,
    EventKind,
    OperatorRole,
    Proposal,
    Report,
    TaskOrder,
    Track,
    TruthState,
)
from hotzone.types.messages import Assessment

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
    last_outputs: Counter[str] = field(default_factory=Counter)
    """Output counts by type of the latest step, for live summaries."""

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, self.input_types)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        outputs = list(self.run_step(time, inputs))
        if self.collect_extra is not None:
            outputs.extend(self.collect_extra())
        self.last_outputs = Counter(type(output).__name__ for output in outputs)
        return outputs


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
    # The alliance defends its own members; the states across the eastern border are the
    # ones a crossing from which makes a track suspect.
    hostile = tuple(sorted(countries & HOSTILE_STATES))
    return AssessmentContext(
        home_countries=tuple(sorted(countries - set(hostile))),
        hostile_countries=hostile,
        assets=assets,
        borders=borders,
        infrastructure=lines,
    )


HOSTILE_STATES = frozenset({"BY", "RU"})


def tracking_stage(scenario: Scenario, sectors: Sequence[str] = ()) -> BusStage:
    """The tracker of a node owning ``sectors`` (default: the whole scenario).

    Its tracks are named after the sectors it owns, so the nodes that share a nation's
    sectors never publish the same track id; they live in the first owned sector's frame.
    """
    frames = scenario.sector_frames()
    unknown = [sector for sector in sectors if sector not in frames]
    if unknown:
        raise ValueError(
            f"scenario {scenario.name} has no sector {', '.join(unknown)} "
            f"(sectors: {', '.join(frames)})"
        )
    owned = list(sectors) or [scenario.sectors[0].name]
    stage = TrackingStage(
        frame=frames[owned[0]] if sectors else scenario.frame,
        sector="+".join(owned),
        confirmed_only=True,
        releasability=scenario.releasability,
    )
    return BusStage(
        name="fusion",
        input_subjects=("det.>",),
        input_types=(Detection, Report),
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
    spec: C2Spec, registry: OperatorRegistry, scenario: Scenario
) -> tuple[BusStage, ResponseStage]:
    sensors = frozenset(sensor.id for sensor in scenario.sensors)
    stage = ResponseStage(
        spec, registry, simulated_sensors=sensors, releasability=scenario.releasability
    )
    bus_stage = BusStage(
        name="c2",
        input_subjects=("trk.>", "assessment", "c2.decision"),
        input_types=(Track, Assessment, Decision),
        run_step=stage.step,
    )
    return bus_stage, stage


@dataclass
class SimulatedOperatorsStage:
    """The people at the console in a simulated run: they decide on every proposal."""

    operators: list[SimulatedOperator]

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> list[AnyMessage]:
        proposals = [message for message in inputs if isinstance(message, Proposal)]
        decisions: list[AnyMessage] = []
        for operator in self.operators:
            operator.observe(proposals)
            decisions.extend(operator.decide(time))
        return decisions


# Probability that an effect stops its target, by effect class (a deliberately simple
# effect model for simulated runs; real outcomes come from battle damage assessment).
PROBABILITY_OF_EFFECT = {EffectClass.KINETIC: 0.85, EffectClass.NON_KINETIC: 0.6}
ENGAGEMENT_RADIUS_M = 3_000.0


@dataclass
class EffectModelStage:
    """Turns task orders into outcomes in the simulator: stopped targets leave the run.

    The order names a track; the target it acts on is the live truth object nearest to the
    proposal's aim point when the effect window opens. ``removals`` is the simulator's
    mapping of stopped targets, so the sensors stop seeing them.
    """

    removals: dict[str, float]
    seed: int = 1
    outcomes: list[Event] = field(default_factory=list)
    _proposals: dict[str, Proposal] = field(default_factory=dict)
    _pending: list[tuple[datetime, TaskOrder, Proposal]] = field(default_factory=list)
    _truth: dict[str, TruthState] = field(default_factory=dict)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> list[AnyMessage]:
        events: list[AnyMessage] = []
        for message in inputs:
            if isinstance(message, Alert) and message.kind == "abort":
                # A global abort stops every order that has not taken effect yet.
                events.extend(self._cancel(time, f"cancelled by abort: {message.summary}"))
            elif isinstance(message, TruthState):
                self._truth[message.target_id] = message
            elif isinstance(message, Proposal):
                self._proposals[message.content_hash] = message
            elif isinstance(message, TaskOrder):
                proposal = self._proposals.get(message.proposal_hash)
                if proposal is not None and proposal.effect_class in PROBABILITY_OF_EFFECT:
                    self._pending.append((proposal.effect_window_start, message, proposal))
        due = [item for item in self._pending if item[0] <= time]
        self._pending = [item for item in self._pending if item[0] > time]
        for effect_time, order, proposal in due:
            event = self._resolve(effect_time, order, proposal)
            self.outcomes.append(event)
            events.append(event)
        return events

    def _cancel(self, time: datetime, reason: str) -> list[Event]:
        cancelled = [
            self._outcome(time, order, "cancelled", reason, "none", float("nan"))
            for _, order, _ in self._pending
        ]
        self._pending = []
        self.outcomes.extend(cancelled)
        return cancelled

    def _resolve(self, effect_time: datetime, order: TaskOrder, proposal: Proposal) -> Event:
        aim = proposal.target_position
        live = [truth for target_id, truth in self._truth.items() if target_id not in self.removals]
        nearest: TruthState | None = None
        miss_distance = float("inf")
        if live:
            distances = geodesic_distance_m(
                [aim.lat_deg] * len(live),
                [aim.lon_deg] * len(live),
                [t.position.lat_deg for t in live],
                [t.position.lon_deg for t in live],
            )
            index = int(distances.argmin())
            nearest, miss_distance = live[index], float(distances[index])
        stopped = (
            nearest is not None
            and miss_distance <= ENGAGEMENT_RADIUS_M
            and self._rng.random() < PROBABILITY_OF_EFFECT[proposal.effect_class]
        )
        if stopped and nearest is not None:
            self.removals[nearest.target_id] = effect_time.timestamp()
        outcome = "stopped" if stopped else "missed"
        target = nearest.target_id if nearest is not None else "none"
        summary = f"{order.effector_id} {order.action} on {order.track_id}: {outcome}"
        return self._outcome(effect_time, order, outcome, summary, target, miss_distance)

    @staticmethod
    def _outcome(
        time: datetime,
        order: TaskOrder,
        outcome: str,
        summary: str,
        target: str,
        miss_distance: float,
    ) -> Event:
        return Event(
            event_id=f"effect-{order.order_id}",
            time=time,
            source_id="effect-model",
            kind=EventKind.OBSERVATION,
            severity=6 if outcome == "stopped" else 4,
            summary=summary,
            subject_id=order.track_id,
            attributes={
                "outcome": outcome,
                "order_id": order.order_id,
                "effector_id": order.effector_id,
                "truth_target": target,
                "miss_distance_m": f"{miss_distance:.0f}",
            },
            releasability=order.releasability,
        )


def simulated_operators(seed: int) -> list[SimulatedOperator]:
    """An operator and a commander, so kinetic effects meet the two-person rule."""
    return [
        SimulatedOperator("sim.operator", OperatorRole.OPERATOR, reaction_time_s=20.0, seed=seed),
        SimulatedOperator(
            "sim.commander", OperatorRole.COMMANDER, reaction_time_s=35.0, seed=seed + 1
        ),
    ]


@dataclass
class RunStages:
    """The stages of one run, and the parts a report needs to read afterwards."""

    stages: list[BusStage]
    response: ResponseStage | None = None
    effects: EffectModelStage | None = None
    removals: dict[str, float] = field(default_factory=dict)
    operators: list[SimulatedOperator] = field(default_factory=list)


def build_stages(
    scenario: Scenario, seed: int = 1, simulated: bool = True, sectors: Sequence[str] = ()
) -> RunStages:
    """The stages for a run of ``scenario`` (or of the ``sectors`` one node owns), lowest first.

    Scenarios with response data (effectors and rules of engagement) get the c2 stage;
    simulated runs of them also get simulated operators and the effect model.
    """
    run = RunStages(stages=[tracking_stage(scenario, sectors), assessment_stage(scenario)])
    try:
        spec = load_c2_spec(scenario.name)
    except C2ConfigError:
        return run
    run.operators = simulated_operators(seed) if simulated else []
    registry = OperatorRegistry(
        OperatorKey(
            operator_id=operator.operator_id,
            role=operator.role,
            public_key=operator.public_key_b64,
            simulation=True,
        )
        for operator in run.operators
    )
    bus_stage, run.response = response_stage(spec, registry, scenario)
    run.stages.append(bus_stage)
    if simulated:
        people = SimulatedOperatorsStage(run.operators)
        run.stages.append(BusStage("operators", ("c2.proposal",), (Proposal,), people.step))
        run.effects = EffectModelStage(run.removals, seed=seed)
        run.stages.append(
            BusStage(
                "effects",
                ("truth", "c2.proposal", "c2.order", "alert"),
                (TruthState, Proposal, TaskOrder, Alert),
                run.effects.step,
            )
        )
    return run
