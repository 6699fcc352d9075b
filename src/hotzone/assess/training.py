"""Fit, calibrate, export and measure the track classifier (used by ``hotzone train``).

scikit-learn is imported only here and only when a model is trained: the run-time
classifier (`hotzone.assess.classifier`) reads the exported JSON with numpy alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from hotzone.assess.classifier import (
    DEFAULT_UNKNOWN_THRESHOLD,
    MODEL_FORMAT,
    NOVELTY_FEATURES,
    NoveltyReference,
    TreeEnsembleClassifier,
    neighbour_distances,
    novelty_columns,
    softmax,
)
from hotzone.assess.features import FEATURE_NAMES, KinematicHistory, batch_features
from hotzone.sim.training_data import class_profiles, simulate_histories
from hotzone.types import TargetClass
from hotzone.types.arrays import FloatArray

CALIBRATION_BINS = 15
NOVELTY_REFERENCE_PER_CLASS = 150
"""Training histories of each class kept in the model as the novelty reference."""
NOVELTY_QUANTILE = 0.98
"""Per class, the share of held-out simulated histories inside the novelty threshold
(the share of a class's own histories called out of distribution is under 1 - this,
as other classes' references may still take them in)."""
NOVELTY_SCALE_FLOOR = 0.5
"""Least spread of a novelty column: most classes fly smoothly, so the robust spread of
acceleration or straightness over the training set is tiny, and an erratic class (clutter)
would then be far even from its own kind, which widens its threshold until it takes in
anything (a level 3,000 km/h track read as clutter-like at 0.05, out of distribution
at 0.5)."""


@dataclass(frozen=True)
class TrainingConfig:
    max_iterations: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    l2_regularization: float = 1.0
    calibration_fraction: float = 0.25
    seed: int = 0


@dataclass(frozen=True)
class Evaluation:
    """How a model does on labelled data."""

    classes: tuple[str, ...]
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    confusion: list[list[int]]
    """rows: true class, columns: predicted class, both in ``classes`` order."""
    expected_calibration_error: float
    calibration_curve: list[tuple[float, float, int]]
    """(mean confidence, accuracy, count) per confidence bin."""
    samples: int
    per_class_recall: dict[str, float] | None = None
    out_of_distribution_rate: float = 0.0
    """Share of samples the novelty rule answers ``unknown``."""
    abstention_rate: float = 0.0
    """Share answered ``unknown`` by either rule (novelty, or top probability < 0.5)."""


def fit_classifier(
    features: FloatArray,
    labels: Sequence[TargetClass],
    config: TrainingConfig = TrainingConfig(),
) -> dict[str, Any]:
    """A model document (see `TreeEnsembleClassifier`) trained on ``features``/``labels``."""
    # Imported here: only training needs scikit-learn.
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]  # noqa: PLC0415

    classes = sorted({TargetClass(label) for label in labels}, key=list(TargetClass).index)
    index_of = {label: i for i, label in enumerate(classes)}
    targets = np.array([index_of[TargetClass(label)] for label in labels], dtype=np.int64)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(targets))
    held = int(len(order) * config.calibration_fraction)
    calibration, fit = order[:held], order[held:]
    model = HistGradientBoostingClassifier(
        max_iter=config.max_iterations,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        l2_regularization=config.l2_regularization,
        early_stopping=False,
        random_state=config.seed,
    )
    model.fit(features[fit], targets[fit])
    document = export_model(model, [str(c) for c in classes])
    ensemble = TreeEnsembleClassifier(document, "freshly trained model")
    scores = ensemble.raw_scores(features[calibration])
    document["temperature"] = fit_temperature(scores, targets[calibration])
    document["novelty"] = fit_novelty(
        features[fit],
        targets[fit],
        features[calibration],
        targets[calibration],
        len(classes),
        rng,
    )
    return document


def fit_novelty(
    fit_features: FloatArray,
    fit_targets: NDArray[np.int64],
    held_features: FloatArray,
    held_targets: NDArray[np.int64],
    class_count: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """The novelty reference (see `NoveltyReference`): standardization from the fitted
    histories, `NOVELTY_REFERENCE_PER_CLASS` of each class as its reference, and per class
    the distance that `NOVELTY_QUANTILE` of its held-out (calibration) histories stay
    under."""
    chosen = novelty_columns(fit_features)
    centre = np.nanmedian(chosen, axis=0)
    q1, q3 = np.nanpercentile(chosen, [25, 75], axis=0)
    # Robust spread, floored (`NOVELTY_SCALE_FLOOR`).
    scale = np.maximum((q3 - q1) / 1.349, NOVELTY_SCALE_FLOOR)
    references: list[list[list[float | None]]] = []
    thresholds: list[float] = []
    held = (novelty_columns(held_features) - centre) / scale
    for k in range(class_count):
        rows = rng.permutation(np.flatnonzero(fit_targets == k))[:NOVELTY_REFERENCE_PER_CLASS]
        reference = np.round((chosen[rows] - centre) / scale, 4)
        references.append([[None if np.isnan(v) else float(v) for v in row] for row in reference])
        distances = neighbour_distances(held[held_targets == k], reference)
        thresholds.append(round(float(np.quantile(distances, NOVELTY_QUANTILE)), 4))
    return {
        "features": list(NOVELTY_FEATURES),
        "centre": [round(float(v), 6) for v in centre],
        "scale": [round(float(v), 6) for v in scale],
        "references": references,
        "thresholds": thresholds,
        "quantile": NOVELTY_QUANTILE,
    }


def export_model(model: Any, class_names: Sequence[str]) -> dict[str, Any]:
    """The JSON-ready document of a fitted ``HistGradientBoostingClassifier``."""
    trees: list[dict[str, Any]] = []
    class_count = len(class_names)
    for iteration in model._predictors:
        for class_index, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"]):
                raise ValueError("categorical splits cannot be exported")
            trees.append(_tree_document(nodes, class_index if class_count > 2 else 1))
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    if class_count == 2:
        # Binary models keep one score: class 1's log-odds against class 0 at zero.
        baseline = np.array([0.0, float(baseline[0])])
    return {
        "format": MODEL_FORMAT,
        "classes": list(class_names),
        "feature_names": list(FEATURE_NAMES),
        "baseline": baseline.tolist(),
        "temperature": 1.0,
        "trees": trees,
    }


def _tree_document(nodes: Any, class_index: int) -> dict[str, Any]:
    count = len(nodes)
    value = np.asarray(nodes["value"], dtype=np.float64).copy()
    weight = np.asarray(nodes["count"], dtype=np.float64)
    is_leaf = np.asarray(nodes["is_leaf"], dtype=bool)
    left = np.asarray(nodes["left"], dtype=np.int64)
    right = np.asarray(nodes["right"], dtype=np.int64)
    # An inner node's value is the sample-weighted mean of its leaves (the expected
    # score before the split): the basis of the per-feature contributions.
    for node in sorted(range(count), key=lambda n: -int(nodes["depth"][n])):
        if not is_leaf[node]:
            total = weight[left[node]] + weight[right[node]]
            value[node] = (
                (value[left[node]] * weight[left[node]] + value[right[node]] * weight[right[node]])
                / total
                if total > 0
                else 0.5 * (value[left[node]] + value[right[node]])
            )
    return {
        "class": class_index,
        "depth": int(np.max(nodes["depth"])),
        "feature": [int(v) for v in nodes["feature_idx"]],
        "threshold": [float(v) if np.isfinite(v) else 0.0 for v in nodes["num_threshold"]],
        "missing_left": [bool(v) for v in nodes["missing_go_to_left"]],
        "left": [int(v) for v in left],
        "right": [int(v) for v in right],
        "is_leaf": [bool(v) for v in is_leaf],
        "value": [round(float(v), 7) for v in value],
    }


def fit_temperature(scores: FloatArray, targets: NDArray[np.int64]) -> float:
    """The temperature minimising the negative log-likelihood of ``targets``."""

    def loss(log_temperature: float) -> float:
        probabilities = softmax(scores / np.exp(log_temperature))
        chosen = probabilities[np.arange(len(targets)), targets]
        return float(-np.mean(np.log(np.clip(chosen, 1e-12, 1.0))))

    result = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
    return round(float(np.exp(result.x)), 6)


def evaluate(
    classifier: TreeEnsembleClassifier, features: FloatArray, labels: Sequence[TargetClass]
) -> Evaluation:
    """Accuracy, macro-F1, confusion matrix and calibration of ``classifier``."""
    reference: NoveltyReference | None = classifier.novelty
    novel = (
        np.zeros(len(labels), dtype=bool) if reference is None else reference.scores(features) > 1.0
    )
    return evaluate_probabilities(
        classifier.predict_proba(features), labels, classifier.classes, novel
    )


def evaluate_probabilities(
    probabilities: FloatArray,
    labels: Sequence[TargetClass],
    classes: Sequence[TargetClass],
    out_of_distribution: NDArray[np.bool_] | None = None,
) -> Evaluation:
    """`evaluate` on given probabilities (columns in ``classes`` order): for calibrations
    other than the model's own (`bench/classify.py`, tests/assess/real_calibration.py).
    ``out_of_distribution`` marks the rows the novelty rule answers ``unknown``."""
    class_names = tuple(str(c) for c in classes)
    index_of = {name: i for i, name in enumerate(class_names)}
    truth = np.array([index_of[str(label)] for label in labels], dtype=np.int64)
    predicted = np.argmax(probabilities, axis=1)
    confusion = np.zeros((len(class_names), len(class_names)), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_class: dict[str, float] = {}
    recall: dict[str, float] = {}
    for i, name in enumerate(class_names):
        true_positive = confusion[i, i]
        support = confusion[i].sum()
        claimed = confusion[:, i].sum()
        if support == 0:
            continue
        precision = true_positive / claimed if claimed else 0.0
        class_recall = float(true_positive / support)
        recall[name] = round(class_recall, 4)
        total = precision + class_recall
        per_class[name] = float(2 * precision * class_recall / total) if total else 0.0
    confidence = probabilities[np.arange(len(truth)), predicted]
    correct = predicted == truth
    curve: list[tuple[float, float, int]] = []
    error = 0.0
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        size = int(inside.sum())
        if size == 0:
            continue
        mean_confidence = float(confidence[inside].mean())
        accuracy = float(correct[inside].mean())
        curve.append((round(mean_confidence, 4), round(accuracy, 4), size))
        error += size / len(truth) * abs(mean_confidence - accuracy)
    novel = (
        np.zeros(len(truth), dtype=bool)
        if out_of_distribution is None
        else np.asarray(out_of_distribution, dtype=bool)
    )
    abstained = novel | (confidence < DEFAULT_UNKNOWN_THRESHOLD)
    return Evaluation(
        classes=class_names,
        accuracy=float(correct.mean()) if len(truth) else float("nan"),
        macro_f1=float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        per_class_f1={name: round(value, 4) for name, value in per_class.items()},
        confusion=confusion.tolist(),
        expected_calibration_error=float(error),
        calibration_curve=curve,
        samples=len(truth),
        per_class_recall=recall,
        out_of_distribution_rate=float(novel.mean()) if len(truth) else 0.0,
        abstention_rate=float(abstained.mean()) if len(truth) else 0.0,
    )


def confusion_table(evaluation: Evaluation) -> str:
    """The confusion matrix as aligned text (rows true, columns predicted)."""
    short = [name[:8] for name in evaluation.classes]
    width = max(8, *(len(s) for s in short))
    lines = [" " * 22 + " ".join(s.rjust(width) for s in short)]
    for name, row in zip(evaluation.classes, evaluation.confusion, strict=True):
        lines.append(name[:21].ljust(22) + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def simulated_kinematic_histories(
    target_class: TargetClass, count: int, rng: np.random.Generator
) -> list[KinematicHistory]:
    """``count`` simulated histories of ``target_class`` as the classifier reads them."""
    return [
        KinematicHistory(
            times_s=simulated.times_s,
            enu_position_m=simulated.enu_position_m,
            enu_velocity_mps=simulated.enu_velocity_mps,
            height_m=simulated.height_m,
            rcs_dbsm=simulated.rcs_dbsm,
            has_icao24=simulated.has_icao24,
            has_callsign=simulated.has_callsign,
            has_mmsi=simulated.has_mmsi,
        )
        for simulated in simulate_histories(target_class, count, rng)
    ]


def build_dataset(
    per_class: int, seed: int, progress: Callable[[str], None] | None = None
) -> tuple[FloatArray, list[TargetClass]]:
    """Features and labels of ``per_class`` simulated histories of every trained class."""
    features: list[FloatArray] = []
    labels: list[TargetClass] = []
    for position, target_class in enumerate(class_profiles()):
        rng = np.random.default_rng([seed, position])
        histories = simulated_kinematic_histories(target_class, per_class, rng)
        features.append(batch_features(histories))
        labels += [target_class] * len(histories)
        if progress is not None:
            progress(f"{target_class}: {len(histories)} histories")
    return np.vstack(features), labels
