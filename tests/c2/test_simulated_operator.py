"""The simulated operator (sim/) signs decisions that c2 accepts only in runs the command
started as simulations, whatever the sensor ids of the inputs."""

from __future__ import annotations

import msgspec
import pytest

from hotzone.c2.config import load_c2_spec
from hotzone.c2.keys import OperatorKey, OperatorRegistry, verify_signature
from hotzone.c2.stage import ResponseStage
from hotzone.sim.operator import SimulatedOperator
from hotzone.types import AuditRecord, OperatorRole, Proposal, RunMode, TaskOrder, Verdict
from tests.c2.factories import make_assessment, make_track, seconds
from tests.c2.test_stage import START, VELOCITY


def crew(reject_probability: float = 0.0) -> tuple[list[SimulatedOperator], OperatorRegistry]:
    operators = [
        SimulatedOperator("sim-cdr", OperatorRole.COMMANDER, 12.0, reject_probability, seed=1),
        SimulatedOperator("sim-op", OperatorRole.OPERATOR, 20.0, reject_probability, seed=2),
    ]
    registry = OperatorRegistry(
        msgspec.convert(op.registry_entry(), OperatorKey) for op in operators
    )
    return operators, registry


def run(
    sensors: tuple[str, ...],
    reject_probability: float = 0.0,
    mode: RunMode = RunMode.SIMULATION,
    people: tuple[list[SimulatedOperator], OperatorRegistry] | None = None,
) -> list:
    operators, registry = people or crew(reject_probability)
    stage = ResponseStage(load_c2_spec("suwalki-drones"), registry, mode=mode)
    outputs: list = []
    decisions: list = []
    for second in range(40):
        time = seconds(second)
        track = msgspec.structs.replace(
            make_track(position=START, time=time, sensors=sensors), enu_velocity_mps=VELOCITY
        )
        step = stage.step(time, [track, make_assessment(time=time), *decisions])
        outputs += step
        proposals = [m for m in step if isinstance(m, Proposal)]
        decisions = []
        for operator in operators:
            operator.observe(proposals)
            decisions += operator.decide(time)
        outputs += decisions
    return outputs


def test_its_decisions_verify_against_its_registered_simulation_key() -> None:
    people = crew()
    registry = people[1]
    outputs = run(("asr-suwalki",), people=people)
    decisions = [m for m in outputs if type(m).__name__ == "Decision"]
    assert {d.operator_id for d in decisions} == {"sim-cdr", "sim-op"}
    for decision in decisions:
        key = registry.get(decision.key_id)
        assert key is not None and key.simulation
        assert verify_signature(decision, key)


def test_in_a_fully_simulated_run_its_approvals_task_an_effector_after_the_reaction_time() -> None:
    outputs = run(("asr-suwalki",))
    orders = [m for m in outputs if isinstance(m, TaskOrder)]
    assert len(orders) == 1
    proposal = next(m for m in outputs if isinstance(m, Proposal))
    # The slower of the two operators decides 20 s after the proposal.
    assert (orders[0].time - proposal.time).total_seconds() >= 20.0


@pytest.mark.parametrize("mode", [RunMode.LIVE, RunMode.EXERCISE])
def test_outside_a_simulation_its_keys_are_refused_whatever_the_sensor_ids(mode: RunMode) -> None:
    # The tracks carry the scenario's own sensor ids, as a deployment names its sensors:
    # c2 no longer infers "simulated" from them.
    outputs = run(("asr-suwalki",), mode=mode)
    assert not [m for m in outputs if isinstance(m, TaskOrder)]
    refusals = [m for m in outputs if isinstance(m, AuditRecord) and m.kind == "refusal"]
    assert refusals and all("simulation key" in r.payload for r in refusals)


def test_it_rejects_with_its_probability() -> None:
    outputs = run(("asr-suwalki",), reject_probability=1.0)
    decisions = [m for m in outputs if type(m).__name__ == "Decision"]
    assert decisions and all(d.verdict is Verdict.REJECT for d in decisions)
    assert not [m for m in outputs if isinstance(m, TaskOrder)]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="reject_probability"):
        SimulatedOperator("x", OperatorRole.OPERATOR, reject_probability=1.5)
