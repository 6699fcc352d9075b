"""Classifier bench (not in make test): held-out simulated seeds and real flights.

    .venv/bin/python bench/classify.py [--per-class N]

Prints macro-F1, expected calibration error and the confusion matrix on randomized
histories drawn from seeds training never uses, then the three-way accuracy (airliner,
light aircraft, helicopter) on the real recorded flights in tests/golden/trajectories.
Targets (issue 6): macro-F1 >= 0.90, ECE <= 0.05.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.assess.real_flights import FLIGHT_CLASSES, flight_windows

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.features import batch_features
from hotzone.assess.training import build_dataset, confusion_table, evaluate
from hotzone.sim.training_data import HELD_OUT_SEED_BASE
from hotzone.types import TargetClass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED_BASE + 2024)
    args = parser.parse_args()
    model = TreeEnsembleClassifier.load()
    features, labels = build_dataset(args.per_class, args.seed)
    result = evaluate(model, features, labels)
    print(f"simulated, unseen seed {args.seed}: {result.samples} histories")
    print(f"macro-F1 {result.macro_f1:.3f} (target >= 0.90)")
    print(f"ECE {result.expected_calibration_error:.3f} (target <= 0.05)")
    print(confusion_table(result))
    wanted = [TargetClass.AIRLINER, TargetClass.LIGHT_AIRCRAFT, TargetClass.HELICOPTER]
    columns = [model.classes.index(c) for c in wanted]
    right = total = flights = 0
    for name, true_class in FLIGHT_CLASSES.items():
        windows = flight_windows(name)
        probabilities = model.predict_proba(batch_features(windows))[:, columns]
        hits = int(np.sum(np.argmax(probabilities, axis=1) == wanted.index(true_class)))
        vote = wanted[int(np.argmax(probabilities.mean(axis=0)))]
        flights += vote == true_class
        right, total = right + hits, total + len(windows)
        print(f"  {name:18s} {true_class:15s} -> {vote:15s} windows {hits}/{len(windows)}")
    share = right / total
    print(f"real flights: {flights}/{len(FLIGHT_CLASSES)} flights, window accuracy {share:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
