"""``hotzone train``: simulate randomized histories, train and calibrate the classifier.

The histories come from `hotzone.sim.training_data` (how each class is drawn and seen),
the features and the fit from `hotzone.assess.training`. Everything is seeded, so the
same seed rebuilds the same model.

The model is written as JSON (`hotzone.assess.classifier`) with a model card beside it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotzone.commands.common import CommandError, Number, OutputFile, SubParsers

if TYPE_CHECKING:
    from hotzone.assess.training import Evaluation

DEFAULT_SEED = 20250314
DEFAULT_PER_CLASS = 700
QUICK_PER_CLASS = 120
# The upper end (seeds held out for testing) is checked in run(), where numpy may load.
TRAINING_SEED = Number(0, integer=True)
PER_CLASS = Number(10, 1_000_000, integer=True)


# --------------------------------------------------------------------------- command


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="simulate randomized scenarios and train the track classifier",
        description=(
            "Simulate randomized targets of every class, train a gradient-boosted classifier, "
            "calibrate it and write the model (JSON) and its model card."
        ),
    )
    parser.add_argument(
        "--out", type=OutputFile(), default=None, help="model file (default: the shipped one)"
    )
    parser.add_argument("--seed", type=TRAINING_SEED, default=DEFAULT_SEED, help="training seed")
    parser.add_argument(
        "--per-class", type=PER_CLASS, default=DEFAULT_PER_CLASS, help="histories per class"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_PER_CLASS} per class, fewer trees"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from importlib import resources

    from hotzone.assess.classifier import (
        SHIPPED_MODEL_FILE,
        SHIPPED_MODEL_PACKAGE,
        TreeEnsembleClassifier,
    )
    from hotzone.assess.training import (
        TrainingConfig,
        build_dataset,
        evaluate,
        fit_classifier,
    )
    from hotzone.sim.training_data import HELD_OUT_SEED_BASE

    if args.seed < 0 or args.seed >= HELD_OUT_SEED_BASE:
        raise CommandError(
            f"--seed must be in [0, {HELD_OUT_SEED_BASE}) (higher seeds are held out)"
        )
    per_class = QUICK_PER_CLASS if args.quick else args.per_class
    if per_class < 10:
        raise CommandError(f"--per-class must be at least 10, got {per_class}")
    out = args.out or Path(str(resources.files(SHIPPED_MODEL_PACKAGE) / SHIPPED_MODEL_FILE))
    features, labels = build_dataset(
        per_class, args.seed, lambda line: print(f"  simulated {line}")
    )
    config = TrainingConfig(max_iterations=60 if args.quick else 150, seed=args.seed)
    document = fit_classifier(features, labels, config)
    test_features, test_labels = build_dataset(
        max(40, per_class // 4), HELD_OUT_SEED_BASE + args.seed
    )
    evaluation = evaluate(TreeEnsembleClassifier(document), test_features, test_labels)
    document["version"] = f"seed{args.seed}-n{len(labels)}"
    document["card"] = model_card(config, per_class, len(labels), evaluation)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    card_path = out.with_name(out.stem + "_card.md")
    card_path.write_text(model_card_markdown(document["card"], evaluation), encoding="utf-8")
    out.with_name(out.stem + "_calibration.svg").write_text(
        calibration_svg(evaluation), encoding="utf-8"
    )
    print(
        f"model {out}: {len(labels)} training histories, macro-F1 {evaluation.macro_f1:.3f}, "
        f"ECE {evaluation.expected_calibration_error:.3f} on {evaluation.samples} held-out"
    )
    return 0


def model_card(config: Any, per_class: int, size: int, evaluation: Evaluation) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "training_config": asdict(config),
        "histories_per_class": per_class,
        "training_size": size,
        "held_out_size": evaluation.samples,
        "accuracy": round(evaluation.accuracy, 4),
        "macro_f1": round(evaluation.macro_f1, 4),
        "ece": round(evaluation.expected_calibration_error, 4),
        "per_class_f1": evaluation.per_class_f1,
        "out_of_distribution_rate": round(evaluation.out_of_distribution_rate, 4),
        "abstention_rate": round(evaluation.abstention_rate, 4),
        "confusion": evaluation.confusion,
        "calibration_curve": evaluation.calibration_curve,
    }


def model_card_markdown(card: dict[str, Any], evaluation: Evaluation) -> str:
    from hotzone.assess.training import confusion_table

    lines = [
        "# Model card: hotzone track classifier",
        "",
        "Gradient-boosted trees (scikit-learn HistGradientBoostingClassifier), exported to JSON,",
        "temperature-scaled. Trained on simulated randomized track histories (`hotzone train`).",
        "Intended use: decision support for operators; never the sole basis of a use of force.",
        "",
        f"- training config: {card['training_config']}",
        f"- training histories: {card['training_size']} ({card['histories_per_class']} per class)",
        f"- held-out histories (unseen seeds): {card['held_out_size']}",
        f"- accuracy {card['accuracy']}, macro-F1 {card['macro_f1']}, ECE {card['ece']}",
        f"- answered unknown: {card['abstention_rate']:.1%} (out of distribution "
        f"{card['out_of_distribution_rate']:.1%}, the rest below 0.5 top probability)",
        "",
        "## Per-class F1",
        "",
        *[f"- {name}: {value}" for name, value in card["per_class_f1"].items()],
        "",
        "## Confusion matrix (rows true, columns predicted)",
        "",
        "```",
        confusion_table(evaluation),
        "```",
        "",
        "## Calibration curve (mean confidence, accuracy, count)",
        "",
        *[f"- {c:.3f} -> {a:.3f} ({n})" for c, a, n in card["calibration_curve"]],
        "",
        "![calibration](classifier_calibration.svg)",
        "",
        "## Limits",
        "",
        "Trained on simulation: real sensor artefacts (multipath, split tracks) are absent.",
        "Checked on real recorded airliners and real light aircraft (a FLARM day at a glider",
        'field; docs/assess.md, "Real light aircraft"); no real helicopter trajectories',
        "outside the reserved `traffic` samples were found.",
        "Classes that look alike in kinematics (small UAV and birds, slow light aircraft and",
        "helicopters) lean on RCS; without RCS they are the least certain.",
        "",
    ]
    return "\n".join(lines)


def calibration_svg(evaluation: Evaluation) -> str:
    """A reliability diagram: accuracy against confidence per bin, with the diagonal."""
    size, margin = 300, 30
    scale = size - 2 * margin

    def point(x: float, y: float) -> str:
        return f"{margin + x * scale:.1f},{size - margin - y * scale:.1f}"

    curve = " ".join(point(c, a) for c, a, _ in evaluation.calibration_curve)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">'
        f'<rect width="{size}" height="{size}" fill="white"/>'
        f'<polyline points="{point(0, 0)} {point(1, 1)}" stroke="grey" fill="none" '
        'stroke-dasharray="4"/>'
        f'<polyline points="{curve}" stroke="blue" fill="none" stroke-width="2"/>'
        f'<text x="{margin}" y="{size - 8}" font-size="11">confidence</text>'
        f'<text x="4" y="{margin - 10}" font-size="11">accuracy (ECE '
        f"{evaluation.expected_calibration_error:.3f})</text></svg>"
    )
