"""The ``hotzone`` command: help everywhere, schema output, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hotzone.cli import SUBCOMMANDS, build_parser, main


def _subcommand_names() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(actions[0].choices)  # type: ignore[union-attr,arg-type]


def test_every_subcommand_module_registers_its_commands() -> None:
    import argparse

    for module in SUBCOMMANDS:
        parser = argparse.ArgumentParser()
        module.add_parser(parser.add_subparsers())
        names = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
        assert names, f"{module.__name__} registers no subcommand"
        assert set(names) <= set(_subcommand_names())


@pytest.mark.parametrize("name", _subcommand_names())
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"hotzone {name}" in out
    assert "usage" in out


def test_schema_prints_json_schema_of_a_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "detection"]) == 0
    schema = json.loads(capsys.readouterr().out)
    properties = schema["$defs"]["Detection"]["properties"]
    assert {"time", "sensor_id", "values", "covariance", "releasability"} <= set(properties)


def test_schema_of_unknown_type_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "tank"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "unknown message type 'tank'" in err


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hotzone.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("hotzone ")
