"""``hotzone export --to stix``: decoded EVE alerts out as a valid STIX bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_string

from hotzone.cli import main

GOLDEN_EVE = Path(__file__).parents[1] / "golden" / "eve" / "alerts.eve.json"


def test_eve_to_stix_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    assert main(["decode", "eve", str(GOLDEN_EVE)]) == 0
    events.write_text(capsys.readouterr().out)
    bundle = tmp_path / "bundle.json"
    assert main(["export", "--to", "stix", str(events), "-o", str(bundle)]) == 0
    text = bundle.read_text()
    assert validate_string(text, ValidationOptions(version="2.1")).is_valid
    sightings = [o for o in json.loads(text)["objects"] if o["type"] == "sighting"]
    assert len(sightings) == 3


def test_export_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert main(["export", "--to", "stix", str(bad)]) == 2
    assert "bad.jsonl" in capsys.readouterr().err
