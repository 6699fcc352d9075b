"""The classifier on real light aircraft (issue 15, item 4): the FLARM day at
Salon-de-Provence (`tests/ingest/real_flarm.py`, `tests/golden/flarm_lfmy/SOURCE.md`),
whose devices declare their aircraft type, together with the real airliners of
`tests/assess/real_adsb.py` and a Boeing 737 MAX 8's readsb trace
(`tests/golden/readsb_trace`, pyreadsb's test data).

The recording goes through hotzone as a 10 s SBS feed and the default tracker; every
track's 10-minute history is taken every 10 minutes of its life and at its end (its last
assessment), when the track flies (median speed >= 15 m/s). Tow planes, powered aircraft
and the drop plane are light aircraft; gliders have no hotzone class and are reported
apart. No real helicopter is available outside the reserved `traffic` samples, so
macro-F1 is over the classes present (airliner, light aircraft).

Printed with ``-s``: macro-F1, ECE, per-class recall and what each FLARM type is called,
over all the real light aircraft and over the held-out ones only. Issue 15's targets
(macro-F1 >= 0.85, ECE <= 0.05) are not met on all of them (docs/assess.md, "Real light
aircraft"); the bounds asserted are today's figures with a margin, so a regression fails.

Split by aircraft: the simulator's light-aircraft kinematics were widened from published
figures (`hotzone.sim.training_data`), and one design choice (take-offs and landings with
their ground roll, taxi and holding) was made after reading why the FLARM tow planes were
misread. From then on only the `DEVELOPMENT_AIRCRAFT` (one of each powered FLARM type)
were looked at; the others (`dde43a`, `dd8937`, `394f3c`) are reported apart as held out.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.features import FEATURE_NAMES, KinematicHistory, batch_features
from hotzone.assess.training import Evaluation, evaluate
from hotzone.types import TargetClass

from ..ingest.real_flarm import FLARM_CLASS, LabelledHistory, flarm_histories
from .real_adsb import openap_a319_windows, pymodes_histories, windowed_histories

READSB_TRACE = (
    Path(__file__).resolve().parents[1] / "golden" / "readsb_trace" / "trace_full_ac134a.json"
)


DEVELOPMENT_AIRCRAFT = frozenset({"dde1f4", "3854dd", "3e4712"})
"""The FLARM light aircraft looked at while the simulator was changed (a tow plane, a
powered aircraft, the drop plane); the rest are held out."""


def readsb_trace_windows(window_s: float = 600.0) -> list[KinematicHistory]:
    """The 737 MAX 8's airborne trace points in consecutive 10-minute windows (at least
    3 points each), read directly as openap's A319 is."""
    document = json.loads(READSB_TRACE.read_text())
    points = [p for p in document["trace"] if isinstance(p[3], int | float) and p[4]]
    times = document["timestamp"] + np.array([p[0] for p in points], dtype=np.float64)
    lat = np.array([p[1] for p in points])
    lon = np.array([p[2] for p in points])
    return windowed_histories(
        times,
        lat,
        lon,
        np.array([p[3] for p in points], dtype=np.float64),
        np.array([p[4] for p in points], dtype=np.float64),
        np.array([p[5] or 0.0 for p in points], dtype=np.float64),
        np.array([p[7] or 0.0 for p in points], dtype=np.float64),
        window_s,
    )


@pytest.mark.slow(36)
def test_real_light_aircraft_and_airliners_measured_with_the_shipped_classifier() -> None:
    model = TreeEnsembleClassifier.load()
    flights = flarm_histories(min_interval_s=10.0)
    light_flights = [f for f in flights if FLARM_CLASS[f.aircraft_type] is not None]
    airliners = [
        *pymodes_histories(10.0).values(),
        *openap_a319_windows(),
        *readsb_trace_windows(),
    ]

    def measured(chosen: list[LabelledHistory]) -> Evaluation:
        labels = [FLARM_CLASS[f.aircraft_type] or TargetClass.UNKNOWN for f in chosen]
        matrix = batch_features([f.history for f in chosen] + airliners)
        return evaluate(model, matrix, [*labels, *[TargetClass.AIRLINER] * len(airliners)])

    result = measured(light_flights)
    held_out = [f for f in light_flights if f.address not in DEVELOPMENT_AIRCRAFT]
    held_result = measured(held_out)
    light_matrix = batch_features([f.history for f in light_flights])
    light = model.classify(light_matrix)

    called: dict[str, Counter[str]] = {}
    for flight, answer in zip(
        flights, model.classify(batch_features([f.history for f in flights])), strict=True
    ):
        called.setdefault(flight.aircraft_type, Counter())[str(answer.target_class)] += 1
    intervals = light_matrix[:, FEATURE_NAMES.index("report_interval_median_s")]
    print(
        f"\nreal histories: {len(light)} light aircraft (FLARM tow planes, powered "
        f"aircraft, drop plane) + {len(airliners)} airliners; report interval (median of "
        f"the histories) {float(np.median(intervals)):.1f} s"
    )
    for title, figures in (("all", result), (f"held-out aircraft ({len(held_out)})", held_result)):
        print(
            f"  {title}: macro-F1 {figures.macro_f1:.3f} (classes present), ECE "
            f"{figures.expected_calibration_error:.3f}, recall {figures.per_class_recall}, "
            f"unknown {figures.abstention_rate:.1%} (out of distribution "
            f"{figures.out_of_distribution_rate:.1%})"
        )
    for kind, count in called.items():
        print(f"  FLARM {kind:<10} -> {dict(count.most_common())}")
    target = result.macro_f1 >= 0.85 and result.expected_calibration_error <= 0.05
    print(f"  issue-15 target (macro-F1 >= 0.85, ECE <= 0.05): {'met' if target else 'NOT met'}")

    # The measurement: enough real light-aircraft flight, of every powered FLARM type.
    assert len(light) >= 50 and len(held_out) >= 10
    assert {f.aircraft_type for f in flights} >= {"Towplane", "Aircraft", "DropPlane", "Glider"}
    # The history holds the feed's reports (one position every >= 10 s), not the
    # tracker's 1 s windows (it read 1.0 s before).
    assert 9.5 <= float(np.median(intervals)) <= 15.0
    # Real light aircraft are in the training distribution by the novelty rule (so their
    # misreading is the trees', not the abstention's): at most a tenth out.
    assert sum(a.out_of_distribution for a in light) <= 0.1 * len(light)
    # Today's figures with a margin (measured: light-aircraft recall 0.56, held out 0.71;
    # macro-F1 0.747, held out 0.917; ECE 0.216; before this change 0.20, 0.630, 0.430).
    recall = result.per_class_recall or {}
    assert recall.get("airliner", 0.0) >= 0.9
    assert recall.get("light_aircraft", 0.0) >= 0.5
    assert (held_result.per_class_recall or {}).get("light_aircraft", 0.0) >= 0.5
    assert result.macro_f1 >= 0.7 and held_result.macro_f1 >= 0.8
    assert result.expected_calibration_error <= 0.25
