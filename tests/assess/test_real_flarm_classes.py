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

Printed with ``-s``: macro-F1, ECE, per-class recall and what each FLARM type is called.
The figures fall far short of the issue's targets (docs/assess.md, "Real light
aircraft"); the assertions check the measurement itself, and what holds today.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.features import KinematicHistory, batch_features
from hotzone.assess.training import evaluate
from hotzone.types import TargetClass

from ..ingest.real_flarm import FLARM_CLASS, flarm_histories
from .real_adsb import openap_a319_windows, pymodes_histories, windowed_histories

READSB_TRACE = (
    Path(__file__).resolve().parents[1] / "golden" / "readsb_trace" / "trace_full_ac134a.json"
)


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


def test_real_light_aircraft_and_airliners_measured_with_the_shipped_classifier() -> None:
    model = TreeEnsembleClassifier.load()
    flights = flarm_histories(min_interval_s=10.0)
    histories: list[KinematicHistory] = []
    labels: list[TargetClass] = []
    for flight in flights:
        label = FLARM_CLASS[flight.aircraft_type]
        if label is not None:
            histories.append(flight.history)
            labels.append(label)
    airliners = [
        *pymodes_histories(10.0).values(),
        *openap_a319_windows(),
        *readsb_trace_windows(),
    ]
    histories += airliners
    labels += [TargetClass.AIRLINER] * len(airliners)
    matrix = batch_features(histories)
    result = evaluate(model, matrix, labels)
    answers = model.classify(matrix)

    called: dict[str, Counter[str]] = {}
    for flight, answer in zip(
        flights, model.classify(batch_features([f.history for f in flights])), strict=True
    ):
        called.setdefault(flight.aircraft_type, Counter())[str(answer.target_class)] += 1
    light = [a for a, label in zip(answers, labels, strict=True) if label == "light_aircraft"]
    print(
        f"\nreal histories: {len(light)} light aircraft (FLARM tow planes, powered "
        f"aircraft, drop plane) + {len(airliners)} airliners"
    )
    print(
        f"  macro-F1 {result.macro_f1:.3f} (classes present), ECE "
        f"{result.expected_calibration_error:.3f}, recall {result.per_class_recall}, "
        f"unknown {result.abstention_rate:.1%} (out of distribution "
        f"{result.out_of_distribution_rate:.1%})"
    )
    for kind, count in called.items():
        print(f"  FLARM {kind:<10} -> {dict(count.most_common())}")
    target = result.macro_f1 >= 0.85 and result.expected_calibration_error <= 0.05
    print(f"  issue-15 target (macro-F1 >= 0.85, ECE <= 0.05): {'met' if target else 'NOT met'}")

    # The measurement: enough real light-aircraft flight, of every powered FLARM type.
    assert len(light) >= 50
    assert {f.aircraft_type for f in flights} >= {"Towplane", "Aircraft", "DropPlane", "Glider"}
    # Real light aircraft are in the training distribution by the novelty rule (so their
    # misreading is the trees', not the abstention's): at most a tenth out.
    assert sum(a.out_of_distribution for a in light) <= 0.1 * len(light)
    # What holds today: the real airliners stay airliners.
    assert (result.per_class_recall or {}).get("airliner", 0.0) >= 0.9
