"""Classifier bench (not in make test): held-out simulated seeds and real recorded aircraft.

    .venv/bin/python bench/classify.py [--per-class N] [--ground-flag]

Prints, on randomized histories drawn from seeds training never uses: macro-F1, expected
calibration error (ECE), per-class recall, how many are answered ``unknown`` (out of
distribution, or top probability below 0.5) and the confusion matrix. Then the same on
the real recorded aircraft in tests/golden/adsb (`tests/assess/real_adsb.py`: pyModeS's
406B90 through the tracker at its recorded rate and as a 10 s fringe feed, openap's
A319 in 10-minute windows) and pyreadsb's 737 MAX 8 trace (tests/golden/readsb_trace),
all airliners; then with the real light aircraft of the
FLARM day at Salon-de-Provence (tow planes, powered aircraft, a drop plane; rs1090's
data, `tests/ingest/real_flarm.py`) as a 10 s feed through the tracker, and what the
gliders (no hotzone class) are called, over all of them, the aircraft held out from the
simulator's design (`DEVELOPMENT_AIRCRAFT` were looked at) and without the drop plane
(whose address is a Citation CJ2 light jet's). No real helicopter trajectories were found
outside the `traffic` package's samples, which are reserved as the reviewers'
independent check and never read here. Targets (issue 15): macro-F1 >= 0.85 and
ECE <= 0.05 on real trajectories.

Last, calibrations fitted on a real calibration split (the development aircraft and
KLM1302, rs1090's capture) measured on the held-out real aircraft, by leave-one-aircraft-
out over all of them and on the simulated seed (`tests/assess/real_calibration.py`), and
what answering ``unknown`` on short histories would do.

``--ground-flag`` prints only what the feed's own ground flag (`Track.on_ground`) does to
a real airliner's histories: KLM1302's arrival at Amsterdam (rs1090's capture; airborne
positions and the surface positions that follow the landing) as a BaseStation feed through
the tracker, every 5 minutes and at the track's end, read with the flags and with them
stripped (as before the flag existed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.assess.real_adsb import (
    KLM1302_TOUCHDOWN_S,
    histories_every,
    klm1302_sbs_lines,
    openap_a319_windows,
    pymodes_histories,
    tracked,
)
from tests.assess.real_calibration import abstention_table, study, study_table
from tests.assess.test_real_flarm_classes import DEVELOPMENT_AIRCRAFT, readsb_trace_windows
from tests.ingest.real_flarm import FLARM_CLASS, flarm_histories

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.features import KinematicHistory, batch_features
from hotzone.assess.training import Evaluation, build_dataset, confusion_table, evaluate
from hotzone.geo import LocalFrame
from hotzone.sim.training_data import HELD_OUT_SEED_BASE
from hotzone.types import TargetClass


def _print(title: str, result: Evaluation) -> None:
    print(f"{title}: {result.samples} histories")
    print(
        f"  macro-F1 {result.macro_f1:.3f} over the classes present, "
        f"ECE {result.expected_calibration_error:.3f}"
    )
    print(
        f"  answered unknown {result.abstention_rate:.1%} "
        f"(out of distribution {result.out_of_distribution_rate:.1%})"
    )
    print(
        "  recall: " + ", ".join(f"{k} {v:.2f}" for k, v in (result.per_class_recall or {}).items())
    )


def ground_flag(model: TreeEnsembleClassifier) -> None:
    """KLM1302's arrival read with and without the feed's ground flag (module text)."""
    lines = klm1302_sbs_lines(KLM1302_TOUCHDOWN_S - 1200.0, KLM1302_TOUCHDOWN_S + 600.0)
    tracks = tracked(lines, LocalFrame(52.3, 4.75, 0.0))
    flagged = sum(1 for track in tracks if track.on_ground)
    print(f"KLM1302 at Amsterdam: {len(tracks)} track states, {flagged} flagged on the ground")
    stripped = [msgspec.structs.replace(track, on_ground=None) for track in tracks]
    for title, chosen in (("flag stripped", stripped), ("with the flag", tracks)):
        taken = histories_every(chosen, 300.0)
        answers = model.classify(batch_features([history for _, _, history in taken]))
        print(f"  {title}:")
        for (_, when, history), answer in zip(taken, answers, strict=True):
            top = sorted(answer.probabilities.items(), key=lambda item: -item[1])[:3]
            print(
                f"    {when - KLM1302_TOUCHDOWN_S:+6.0f} s after touchdown: {history.size:3d} "
                f"states -> {answer.target_class:10s} "
                + ", ".join(f"{name} {p:.2f}" for name, p in top)
            )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED_BASE + 2024)
    parser.add_argument(
        "--ground-flag",
        action="store_true",
        help="only KLM1302's arrival with and without the feed's ground flag",
    )
    args = parser.parse_args()
    model = TreeEnsembleClassifier.load()
    if args.ground_flag:
        ground_flag(model)
        return 0
    features, labels = build_dataset(args.per_class, args.seed)
    result = evaluate(model, features, labels)
    _print(f"simulated, unseen seed {args.seed}", result)
    print(confusion_table(result))

    real: list[tuple[str, KinematicHistory]] = []
    for every in (0.0, 10.0):
        for history in pymodes_histories(every).values():
            real.append((f"406B90 via tracker, a position every {every:.0f} s", history))
    real += [(f"A319 window {i}", w) for i, w in enumerate(openap_a319_windows())]
    real += [(f"B38M ac134a window {i}", w) for i, w in enumerate(readsb_trace_windows())]
    matrix = batch_features([history for _, history in real])
    for (name, _), answer in zip(real, model.classify(matrix), strict=True):
        print(
            f"  {name:42s} -> {answer.target_class:10s} p={answer.confidence:.3f} "
            f"novelty {answer.novelty:.2f}"
        )
    real_result = evaluate(model, matrix, [TargetClass.AIRLINER] * len(real))
    _print("real recorded aircraft (all airliners)", real_result)
    flights = flarm_histories(min_interval_s=10.0)
    answers = model.classify(batch_features([f.history for f in flights]))
    called: dict[str, dict[str, int]] = {}
    for flight, answer in zip(flights, answers, strict=True):
        kind = called.setdefault(flight.aircraft_type, {})
        kind[str(answer.target_class)] = kind.get(str(answer.target_class), 0) + 1
    for kind, count in called.items():
        print(f"  FLARM {kind:<10} -> {count}")
    powered = [f for f in flights if FLARM_CLASS[f.aircraft_type] is not None]
    for title, chosen in (
        ("real airliners + real light aircraft (FLARM, 10 s feed)", powered),
        (
            "the same, held-out aircraft only (not "
            + ", ".join(sorted(DEVELOPMENT_AIRCRAFT))
            + ")",
            [f for f in powered if f.address not in DEVELOPMENT_AIRCRAFT],
        ),
        (
            "the same, without the drop plane",
            [f for f in powered if f.aircraft_type != "DropPlane"],
        ),
    ):
        labels = [FLARM_CLASS[f.aircraft_type] or TargetClass.UNKNOWN for f in chosen]
        both = batch_features([history for _, history in real] + [f.history for f in chosen])
        _print(title, evaluate(model, both, [TargetClass.AIRLINER] * len(real) + labels))
    print("  macro-F1 over airliner/light/helicopter: no real helicopter data")
    print("\ncalibration on real data, split by aircraft (docs/assess.md):")
    print(study_table(study(model, simulated_per_class=args.per_class)))
    print("\nanswering unknown on short histories:")
    print(abstention_table(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
