"""The engine: delivery order, per-sensor generators, determinism, files and shipped runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.sim.scenario import Scenario, load_scenario, parse_scenario
from hotzone.sim.simulator import simulate, simulate_to_directory
from hotzone.types import Detection, TruthState, read_jsonl, to_json


@pytest.fixture
def tiny(tiny_scenario_text: str) -> Scenario:
    return parse_scenario(tiny_scenario_text, "tiny.yaml")


def run_bytes(tiny: Scenario, noisy_sensor: type, seed: int, **options: float) -> list[bytes]:
    start = tiny.start_posix
    sensors = [noisy_sensor("slow", 4.0, start, 2.5), noisy_sensor("fast", 1.0, start + 0.5)]
    return [
        to_json(message)
        for message in simulate(tiny, seed, sensors=sensors, **options)  # type: ignore[arg-type]
    ]


def test_messages_come_in_delivery_order_with_sensor_order_breaking_ties(
    tiny: Scenario, noisy_sensor: type
) -> None:
    start = tiny.start_posix
    sensors = [noisy_sensor("late", 2.0, start, 3.0), noisy_sensor("first", 1.0, start + 1.0)]
    messages = [m for m in simulate(tiny, 1, sensors=sensors) if isinstance(m, Detection)]
    keys = [m.received_at.timestamp() for m in messages if m.received_at is not None]
    assert len(keys) == len(messages) > 100
    assert keys == sorted(keys)
    # "late" observes at t and delivers at t + 3 s, the same instant "first" delivers its
    # observation of t + 3 s; the earlier-declared sensor goes first.
    at_11_s = [m for m in messages if m.received_at and m.received_at.timestamp() == start + 11.0]
    tie = [m.sensor_id for m in at_11_s]
    assert tie == sorted(tie, key=["late", "first"].index)
    assert {"late", "first"} == set(tie)


def test_same_seed_same_stream_and_windowing_does_not_matter(
    tiny: Scenario, noisy_sensor: type
) -> None:
    reference = run_bytes(tiny, noisy_sensor, seed=7)
    assert run_bytes(tiny, noisy_sensor, seed=7) == reference
    assert run_bytes(tiny, noisy_sensor, seed=7, window_s=7.0) == reference
    assert run_bytes(tiny, noisy_sensor, seed=8) != reference


def test_adding_a_sensor_leaves_the_others_unchanged(tiny: Scenario, noisy_sensor: type) -> None:
    start = tiny.start_posix

    def output_of(sensor_id: str, sensors: list) -> list[bytes]:
        return [
            to_json(m)
            for m in simulate(tiny, 3, sensors=sensors)
            if isinstance(m, Detection) and m.sensor_id == sensor_id
        ]

    alone = output_of("a", [noisy_sensor("a", 2.0, start)])
    with_another = output_of("a", [noisy_sensor("a", 2.0, start), noisy_sensor("b", 1.0, start)])
    assert alone and alone == with_another


def test_sensors_see_only_targets_that_exist(tiny: Scenario, noisy_sensor: type) -> None:
    sensor = noisy_sensor("a", 10.0, tiny.start_posix)
    list(simulate(tiny, 1, sensors=[sensor]))
    # The airliner appears at 30 s and flies for 100 s; the drone flies the whole run.
    assert sensor.observed_sizes == [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1]


def test_files_are_byte_identical_for_a_seed_and_differ_between_seeds(
    tiny: Scenario, noisy_sensor: type, tmp_path: Path
) -> None:
    def files(seed: int, name: str) -> tuple[bytes, bytes]:
        sensors = [noisy_sensor("a", 2.0, tiny.start_posix, 0.5)]
        out = tmp_path / name
        simulate_to_directory(tiny, out, seed, progress=False, sensors=sensors)
        return (out / "detections.jsonl").read_bytes(), (out / "truth.jsonl").read_bytes()

    first = files(1, "one")
    assert files(1, "again") == first
    other = files(2, "other")
    assert other[0] != first[0]
    assert other[1] == first[1]  # the truth does not depend on the seed
    truth = list(read_jsonl(tmp_path / "one" / "truth.jsonl"))
    assert all(isinstance(state, TruthState) for state in truth)
    # One state per second for the drone (150 s) and the airliner (100 s).
    assert len(truth) == 150 + 100
    airliner = [s for s in truth if s.target_id == "airliner-1"]
    assert airliner[0].transponder_on and airliner[0].icao24 == "48ae01"
    assert airliner[0].time.timestamp() == tiny.start_posix + 30.0


@pytest.mark.parametrize("name", ["suwalki-drones", "baltic-cable", "black-sea-coast"])
def test_shipped_scenarios_simulate_a_short_run(name: str) -> None:
    scenario = load_scenario(name)
    messages = list(simulate(scenario, 1, 30.0))
    assert messages
    assert {type(message).__name__ for message in messages} <= {"Detection", "Report", "Event"}


def test_cli_sim_writes_both_files_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main(["sim", "suwalki-drones", "--out", str(out), "--seed", "1", "--duration", "60"])
    assert code == 0
    assert "suwalki-drones" in capsys.readouterr().out
    detections = list(read_jsonl(out / "detections.jsonl"))
    truth = list(read_jsonl(out / "truth.jsonl"))
    assert detections and truth
    assert (
        max(state.time.timestamp() for state in truth)
        < load_scenario("suwalki-drones").start_posix + 60.0
    )


def test_cli_refuses_a_non_positive_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sim", "suwalki-drones", "--out", str(tmp_path), "--duration", "-5"])
    assert code == 2
    assert "duration" in capsys.readouterr().err
