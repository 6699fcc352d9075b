"""Stages for nodes that share a nation's sectors: distinct track names, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from hotzone.runtime.stages import assessment_context, build_stages, tracking_stage
from hotzone.sim.scenario import load_scenario
from hotzone.types import (
    Detection,
    GeoPoint,
    MeasurementKind,
    Track,
)

START = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def _plots(second: int) -> list[Detection]:
    return [
        Detection(
            detection_id=f"d{second}",
            time=START + timedelta(seconds=second),
            sensor_id="asr-test",
            kind=MeasurementKind.POSITION,
            values=(54.10 + 0.0004 * second, 23.20, 300.0),
            covariance=((900.0, 0.0, 0.0), (0.0, 900.0, 0.0), (0.0, 0.0, 2500.0)),
            sensor_position=GeoPoint(54.05, 23.10, 180.0),
        )
    ]


def _track_ids(sectors: tuple[str, ...]) -> set[str]:
    stage = tracking_stage(load_scenario("suwalki-drones"), sectors)
    ids: set[str] = set()
    for second in range(8):
        outputs = stage.step(START + timedelta(seconds=second, milliseconds=500), _plots(second))
        ids |= {t.track_id for t in outputs if isinstance(t, Track)}
    return ids


def test_nodes_owning_different_sectors_name_their_tracks_apart() -> None:
    first, second = _track_ids(("suwalki",)), _track_ids(("lazdijai",))
    assert first and second
    assert not first & second


def test_an_unknown_sector_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no sector gdansk"):
        build_stages(load_scenario("suwalki-drones"), sectors=("gdansk",))


def test_hostile_states_are_the_scenarios_policy_not_a_constant() -> None:
    """Which border crossings make a track suspect is read from the scenario file."""
    scenario = load_scenario("suwalki-drones")
    context = assessment_context(scenario)
    assert context.hostile_countries == ("BY", "RU")
    assert set(context.home_countries) == {"LT", "PL"}

    # The same borders under another policy: nobody is hostile, every state is home.
    neutral = msgspec.structs.replace(scenario, hostile_states=[])
    context = assessment_context(neutral)
    assert context.hostile_countries == ()
    assert set(context.home_countries) == {"BY", "LT", "PL", "RU"}
