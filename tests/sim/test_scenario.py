"""Scenario files: shipped ones load; every kind of bad input is one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.sim.scenario import ScenarioError, load_scenario, shipped_scenarios
from hotzone.sim.units import Distance, Speed, parse_quantity
from hotzone.types import TargetClass

SHIPPED = ("suwalki-drones", "baltic-cable", "black-sea-coast")
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_loads_by_name_and_from_the_repository_folder(name: str) -> None:
    by_name = load_scenario(name)
    by_path = load_scenario(REPOSITORY / "scenarios" / f"{name}.yaml")
    assert by_name.name == name
    assert by_name.targets == by_path.targets
    assert by_name.sensors and by_name.targets and by_name.source_path is not None
    assert by_name.start.utcoffset() is not None


def test_shipped_scenarios_are_listed_and_cover_every_simulated_class() -> None:
    assert set(SHIPPED) <= set(shipped_scenarios())
    used = {target.cls for name in SHIPPED for target in load_scenario(name).targets}
    wanted = set(TargetClass) - {TargetClass.CLUTTER, TargetClass.UNKNOWN}
    assert wanted <= used


def test_unit_strings_become_si_values() -> None:
    assert parse_quantity(Speed, "120 kt") == pytest.approx(120 * 1852 / 3600)
    assert parse_quantity(Speed, "250 km/h") == pytest.approx(250 / 3.6)
    assert parse_quantity(Distance, "300 ft") == pytest.approx(91.44)
    assert parse_quantity(Distance, "FL350") == pytest.approx(35_000 * 0.3048)
    assert parse_quantity(Distance, 42) == 42.0


def test_units_in_the_file_reach_the_targets(tiny_scenario_path: Path) -> None:
    scenario = load_scenario(tiny_scenario_path)
    drone, airliner = scenario.targets
    assert drone.speed == pytest.approx(185 / 3.6)
    assert drone.position.altitude == pytest.approx(91.44)
    assert airliner.position.altitude == pytest.approx(10_668.0)
    assert airliner.start == pytest.approx(30.0)


def _break(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


SENSOR = "sensors:\n  - {model: acoustic_array, id: ac-1, lat_deg: 54.0, lon_deg: 23.0}\ntargets:"

BAD_INPUTS = {
    "unknown field": (("step_s: 1", "step_s: 1\nsped: 3"), "$.sped: unknown field 'sped'"),
    "unknown unit": (
        ("speed: 185 km/h", "speed: 185 kg"),
        "$.targets[0].speed: expected a speed",
    ),
    "wrong dimension": (
        ("speed: 185 km/h", "speed: 185 km"),
        "'km' is a distance unit",
    ),
    "latitude 95": (
        ("{lat_deg: 54.0, lon_deg: 23.5", "{lat_deg: 95, lon_deg: 23.5"),
        "$.targets[0].position.lat_deg: expected a value <= 90.0, got 95",
    ),
    "missing sensor model": (
        ("targets:", "sensors:\n  - {id: ac-1, lat_deg: 54.0, lon_deg: 23.0}\ntargets:"),
        "$.sensors[0]: missing required field 'model'",
    ),
    "unknown sensor model": (
        ("targets:", SENSOR.replace("acoustic_array", "death_ray")),
        "$.sensors[0].model: expected one of air_surveillance_radar",
    ),
    "unknown leg type": (
        ("type: straight", "type: teleport"),
        "$.targets[1].route[0].type: expected one of goto",
    ),
    "naive start time": (
        ("2025-03-14T02:00:00Z", "2025-03-14T02:00:00"),
        "$.start: expected a date-time",
    ),
    "bad target class": (
        ("class: airliner", "class: zeppelin"),
        "$.targets[1].class: expected one of airliner",
    ),
    "impossible turn": (
        ("{type: straight, duration: 100 s}", "{type: turn, heading_change_deg: 90}"),
        "$.targets[1].route[0]: expected exactly one of 'turn_rate' and 'radius'",
    ),
    "duplicate target id": (("id: airliner-1", "id: drone-1"), "duplicate id 'drone-1'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_scenario_is_one_line_naming_the_field_and_exit_code_2(
    case: str, tiny_scenario_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (old, new), expected = BAD_INPUTS[case]
    text = _break(tiny_scenario_text, old, new)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["sim", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1, error
    assert str(path) in error
    assert expected in error
    assert not (tmp_path / "out").exists()


def test_error_names_the_line_of_the_bad_field(tiny_scenario_text: str, tmp_path: Path) -> None:
    text = _break(
        tiny_scenario_text, "{lat_deg: 54.0, lon_deg: 23.5", "{lat_deg: 95, lon_deg: 23.5"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "lat_deg: 95" in row)
    with pytest.raises(ScenarioError, match=rf"bad\.yaml:{line}: \$\.targets\[0\]"):
        load_scenario(path)


def test_malformed_yaml_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsectors: [a, b\nstart: 2025-01-01T00:00:00Z\n", encoding="utf-8")
    assert main(["sim", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"{path}:3: invalid YAML" in error


@pytest.mark.parametrize("argument", ["no-such-scenario", "missing/file.yaml"])
def test_missing_file_or_name_is_one_line(
    argument: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", argument, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert argument in error
    if "/" not in argument:
        assert "suwalki-drones" in error  # the shipped names are offered


def test_scenario_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"\$: expected a mapping"):
        load_scenario(path)
