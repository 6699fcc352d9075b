"""Calibration on real data, split by aircraft (issue 15, item 4; docs/assess.md,
"Calibration on real data"): the study of `tests/assess/real_calibration.py`, printed with
``-s``, and the new real airliner it calibrates with (KLM1302, rs1090's capture)."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.features import batch_features
from hotzone.types import TargetClass

from .real_adsb import REAL_AIRCRAFT, klm1302_windows
from .real_calibration import (
    CALIBRATION_AIRCRAFT,
    PAIR,
    Scores,
    abstention_table,
    calibrations,
    real_set,
    study,
    study_table,
)
from .test_real_flarm_classes import DEVELOPMENT_AIRCRAFT

MEASURED_AIRLINERS = frozenset({"406b90", "3946e9", "ac134a"})
"""The real airliners `test_real_flarm_classes` measures with (held out here too)."""


def test_the_pair_calibration_moves_probability_within_the_pair_only() -> None:
    model = TreeEnsembleClassifier.load()
    rng = np.random.default_rng(3)
    scores = Scores(rng.normal(0.0, 4.0, (50, len(model.classes))), np.full(50, 600.0))
    by_name = {c.name: c for c in calibrations(model)}
    pair = by_name["light/helicopter pair"].apply
    own = by_name["shipped"].apply(scores, model.temperature)
    softened = pair(scores, 2.0)
    inside = [model.classes.index(c) for c in PAIR]
    outside = [i for i in range(len(model.classes)) if i not in inside]
    np.testing.assert_allclose(pair(scores, 1.0), own, atol=1e-12)
    np.testing.assert_allclose(softened[:, outside], own[:, outside], atol=1e-12)
    np.testing.assert_allclose(softened[:, inside].sum(axis=1), own[:, inside].sum(axis=1))
    # Softer within the pair: the larger of the two loses, the smaller gains.
    larger = np.argmax(own[:, inside], axis=1)
    rows = np.arange(50)
    assert np.all(softened[:, inside][rows, larger] <= own[:, inside][rows, larger] + 1e-12)
    # The young-track factor applies to short histories only.
    young = by_name["young tracks (< 60 s)"].apply
    np.testing.assert_allclose(young(scores, 3.0), own, atol=1e-12)
    short = Scores(scores.raw, np.full(50, 20.0))
    assert np.max(young(short, 3.0).max(axis=1) - own.max(axis=1)) < 0.0


def test_klm1302_is_a_whole_flight_read_as_an_airliner_in_the_air() -> None:
    windows = klm1302_windows()
    assert "486257 (rs1090, KLM1302)" in REAL_AIRCRAFT
    # Gate to gate in 10-minute windows: climb from Toulouse, cruise at FL340, descent.
    assert len(windows) == 9
    heights = [float(np.mean(w.height_m)) for w in windows]
    assert max(heights) > 10_000.0 and heights[0] < 5_000.0 and heights[-1] < 1_000.0
    # A position at most every 10 s (the fringe feed), not the capture's 0.5 s.
    assert all(float(np.min(np.diff(w.times_s))) >= 10.0 for w in windows)
    answers = TreeEnsembleClassifier.load().classify(batch_features(windows))
    above = [a for a, h in zip(answers, heights, strict=True) if h > 2_000.0]
    assert len(above) >= 7
    assert all(a.target_class == TargetClass.AIRLINER for a in above)


@pytest.mark.slow(120)
def test_calibrations_fitted_on_real_aircraft_are_measured_on_others() -> None:
    real = real_set()
    aircraft = set(real.aircraft)
    held_out = aircraft - CALIBRATION_AIRCRAFT
    # The split is by aircraft, and the held-out ones are those measured before: the FLARM
    # aircraft nobody looked at while the simulator was changed and the real airliners.
    calibrated_airliners = CALIBRATION_AIRCRAFT - DEVELOPMENT_AIRCRAFT
    assert calibrated_airliners == {"486257"}
    assert not CALIBRATION_AIRCRAFT & MEASURED_AIRLINERS
    assert held_out == MEASURED_AIRLINERS | {"dde43a", "dd8937", "394f3c"}

    result = study()
    print("\n" + study_table(result))
    print("\nunknown for short histories (item 2):\n" + abstention_table())
    rows = {row.name: row for row in result.rows}
    shipped = rows["shipped"]
    target_met = [
        row.name
        for row in result.rows
        if row.held_out.macro_f1 >= 0.85 and row.held_out.expected_calibration_error <= 0.05
    ]
    print(f"issue-15 target (macro-F1 >= 0.85, ECE <= 0.05) held out: met by {target_met}")

    # 45 and 65 since the ground phase is taken out of the history: three histories that
    # were mostly on the ground (median speed < 15 m/s) now fly (44 and 63 before).
    assert result.held_out_histories == 45 and result.calibration_histories == 65
    # The measure, each track's last assessment: 10 light aircraft, 3 airliners.
    assert result.held_out_last_histories == 13
    model = TreeEnsembleClassifier.load()
    assert shipped.value == model.temperature
    for row in result.rows:
        # Leave-one-aircraft-out: each of the ten aircraft calibrated by a fit on the others.
        assert set(row.leave_one_out_values) == aircraft and len(aircraft) == 10
        assert row.leave_one_out.samples == len(real.labels)
        # A calibration rescales probabilities: it may not turn right answers wrong.
        assert row.held_out.macro_f1 >= shipped.held_out.macro_f1 - 0.02
        low, high = row.held_out_ece_interval
        assert low <= high
    # What the docs report, with a margin (measured: 0.075 held out, 0.020 simulated; the
    # all-real temperature of 2.2 softens the right airliners: 0.177 held out).
    assert shipped.held_out.expected_calibration_error <= 0.12
    assert shipped.simulated.expected_calibration_error <= 0.03
    assert rows["temperature"].value > 2.0
    assert (
        rows["temperature"].held_out.expected_calibration_error
        > shipped.held_out.expected_calibration_error
    )
