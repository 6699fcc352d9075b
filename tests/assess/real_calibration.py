"""Calibration of the classifier on real data, split by aircraft (issue 15, item 4).

The shipped model's temperature is fitted on simulated histories; on real aircraft its
answers are over-confident (docs/assess.md, "Real light aircraft"). This module fits
calibrations on a real *calibration split* and measures them where nothing was fitted:

- calibration split (`CALIBRATION_AIRCRAFT`): the FLARM light aircraft looked at while the
  simulator was changed (`DEVELOPMENT_AIRCRAFT`: a tow plane, a powered aircraft, the drop
  plane) and KLM1302 (an airliner, tests/golden/adsb_klm1302), never used to measure;
- held out: the other FLARM light aircraft (two tow planes, a powered aircraft) and the
  real airliners measured before (406B90 as a 10 s feed, openap's A319, pyreadsb's 737
  MAX 8): the same held-out set as `test_real_flarm_classes`;
- leave-one-aircraft-out over all ten real aircraft: each aircraft's histories calibrated
  by a fit on the nine others;
- simulated histories of an unseen seed (the bench's), so a calibration that helps on real
  data is seen to keep or spoil the simulated one.

Calibrations compared (all keep the trees; they change the probabilities only):

- ``shipped``: the model's own temperature (fitted on simulated histories);
- ``temperature``: one temperature fitted on the real calibration split;
- ``light/helicopter pair``: the light-aircraft and helicopter probabilities re-tempered
  between themselves (their sum kept), the temperature fitted on the real calibration
  split: the real misreadings are light aircraft called helicopters, and a temperature
  over all classes also softens the airliners, which are right;
- ``pair, real + simulated``: the same fitted on the real calibration split together with
  simulated calibration histories (another unseen seed), so that simulated helicopters
  (there are no real ones) weigh in;
- ``young tracks``: a temperature for histories shorter than `YOUNG_TRACK_S`, fitted on
  the real calibration split with the simulated calibration histories.

There is no real helicopter: the pair calibration is fitted on light aircraft only, so it
can only soften helicopter answers; on a real helicopter it is untested.

The `traffic` package's samples are reserved and never read here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from hotzone.assess.classifier import TreeEnsembleClassifier, softmax
from hotzone.assess.features import FEATURE_NAMES, KinematicHistory, batch_features
from hotzone.assess.training import Evaluation, build_dataset, evaluate_probabilities
from hotzone.sim.training_data import HELD_OUT_SEED_BASE
from hotzone.types import TargetClass
from hotzone.types.arrays import FloatArray

from ..ingest.real_flarm import FLARM_CLASS, WINDOW_S, flarm_histories
from .real_adsb import klm1302_windows, openap_a319_windows, pymodes_histories
from .test_real_flarm_classes import DEVELOPMENT_AIRCRAFT, readsb_trace_windows

CALIBRATION_AIRCRAFT = DEVELOPMENT_AIRCRAFT | {"486257"}
"""The real aircraft calibrations may be fitted on; every other one is held out."""
SIMULATED_TEST_SEED = HELD_OUT_SEED_BASE + 2024
"""`bench/classify.py`'s unseen seed: simulated figures are measured on it."""
SIMULATED_CALIBRATION_SEED = HELD_OUT_SEED_BASE + 7
"""Another unseen seed, for the simulated histories some calibrations are fitted with."""
YOUNG_TRACK_S = 60.0
DROP_PLANE = "3e4712"
PAIR = (TargetClass.LIGHT_AIRCRAFT, TargetClass.HELICOPTER)


@dataclass(frozen=True)
class RealSet:
    """Real histories with their class and the aircraft they come from."""

    features: FloatArray
    labels: tuple[TargetClass, ...]
    aircraft: tuple[str, ...]

    def rows(self, chosen: NDArray[np.bool_]) -> RealSet:
        return RealSet(
            self.features[chosen],
            tuple(label for label, keep in zip(self.labels, chosen, strict=True) if keep),
            tuple(name for name, keep in zip(self.aircraft, chosen, strict=True) if keep),
        )

    def of(self, names: frozenset[str] | set[str], inside: bool = True) -> RealSet:
        return self.rows(np.array([(name in names) == inside for name in self.aircraft]))


@functools.cache
def real_set(last_only: bool = False) -> RealSet:
    """Every real history of a hotzone class: the FLARM light aircraft as a 10 s feed
    through the tracker (`flarm_histories`), 406B90 as a 10 s feed, the A319's, the 737 MAX
    8's and KLM1302's 10-minute windows. Gliders (no hotzone class) are left out. With
    ``last_only``, each track's last history only (its last assessment: the issue's
    measure) and each windowed flight's last window."""
    histories: list[KinematicHistory] = []
    labels: list[TargetClass] = []
    aircraft: list[str] = []
    every_s = float("inf") if last_only else WINDOW_S
    for flight in flarm_histories(min_interval_s=10.0, every_s=every_s):
        target = FLARM_CLASS[flight.aircraft_type]
        if target is None:
            continue
        histories.append(flight.history)
        labels.append(target)
        aircraft.append(flight.address)
    for name, every_window in (
        ("406b90", list(pymodes_histories(10.0).values())),
        ("3946e9", openap_a319_windows()),
        ("ac134a", readsb_trace_windows()),
        ("486257", klm1302_windows()),
    ):
        windows = every_window[-1:] if last_only else every_window
        histories += windows
        labels += [TargetClass.AIRLINER] * len(windows)
        aircraft += [name] * len(windows)
    return RealSet(batch_features(histories), tuple(labels), tuple(aircraft))


@functools.cache
def simulated_set(seed: int, per_class: int) -> tuple[FloatArray, tuple[TargetClass, ...]]:
    features, labels = build_dataset(per_class, seed)
    return features, tuple(labels)


# ---------------------------------------------------------------------- calibrations


@dataclass(frozen=True)
class Scores:
    """What a calibration sees of a set of histories: the trees' summed scores and the
    history durations."""

    raw: FloatArray
    duration_s: FloatArray

    @classmethod
    def of(cls, model: TreeEnsembleClassifier, features: FloatArray) -> Scores:
        return cls(
            model.raw_scores(features), features[:, FEATURE_NAMES.index("duration_s")].copy()
        )

    def join(self, other: Scores) -> Scores:
        return Scores(
            np.vstack([self.raw, other.raw]), np.concatenate([self.duration_s, other.duration_s])
        )


Apply = Callable[[Scores, float], FloatArray]
"""A calibration family: the probabilities of ``Scores`` with parameter ``value``."""


def _tempered(model: TreeEnsembleClassifier) -> Apply:
    return lambda scores, value: softmax(scores.raw / value)


def _pair_tempered(model: TreeEnsembleClassifier) -> Apply:
    pair = [model.classes.index(c) for c in PAIR]

    def apply(scores: Scores, value: float) -> FloatArray:
        probabilities = softmax(scores.raw / model.temperature)
        mass = probabilities[:, pair].sum(axis=1, keepdims=True)
        result = probabilities.copy()
        result[:, pair] = softmax(scores.raw[:, pair] / (model.temperature * value)) * mass
        return result

    return apply


def _young_tempered(model: TreeEnsembleClassifier) -> Apply:
    def apply(scores: Scores, value: float) -> FloatArray:
        factor = np.where(scores.duration_s < YOUNG_TRACK_S, value, 1.0)
        return softmax(scores.raw / (model.temperature * factor[:, None]))

    return apply


def fit(apply: Apply, scores: Scores, targets: NDArray[np.int64]) -> float:
    """The parameter of ``apply`` minimising the negative log-likelihood of ``targets``."""

    def loss(log_value: float) -> float:
        probabilities = apply(scores, float(np.exp(log_value)))
        chosen = probabilities[np.arange(len(targets)), targets]
        return float(-np.mean(np.log(np.clip(chosen, 1e-12, 1.0))))

    result = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


@dataclass(frozen=True)
class Calibration:
    name: str
    apply: Apply
    with_simulated: bool
    """Fitted on the real calibration split together with simulated calibration
    histories."""
    fitted: bool = True
    """False: the model's own temperature, nothing fitted."""


def calibrations(model: TreeEnsembleClassifier) -> list[Calibration]:
    return [
        Calibration("shipped", _tempered(model), False, fitted=False),
        Calibration("temperature", _tempered(model), False),
        Calibration("light/helicopter pair", _pair_tempered(model), False),
        Calibration("pair, real + simulated", _pair_tempered(model), True),
        Calibration(f"young tracks (< {YOUNG_TRACK_S:.0f} s)", _young_tempered(model), True),
    ]


# ------------------------------------------------------------------------ the study


@dataclass(frozen=True)
class StudyRow:
    name: str
    value: float
    """The fitted parameter (temperature or factor) on the calibration split."""
    held_out: Evaluation
    held_out_ece_interval: tuple[float, float]
    """5-95 % of the held-out ECE over resamplings of the held-out aircraft."""
    leave_one_out: Evaluation
    leave_one_out_values: dict[str, float]
    held_out_last: Evaluation
    """Held out, each track's last assessment only."""
    leave_one_out_without_drop_plane: Evaluation
    """The same without the drop plane, whose label is in doubt (its address is a
    Citation CJ2 light jet's: docs/assess.md)."""
    simulated: Evaluation


@dataclass(frozen=True)
class Study:
    rows: list[StudyRow]
    calibration_aircraft: tuple[str, ...]
    held_out_aircraft: tuple[str, ...]
    calibration_histories: int
    held_out_histories: int
    held_out_last_histories: int


def _targets(model: TreeEnsembleClassifier, labels: tuple[TargetClass, ...]) -> NDArray[np.int64]:
    return np.array([model.classes.index(label) for label in labels], dtype=np.int64)


def fit_on(
    model: TreeEnsembleClassifier,
    calibration: Calibration,
    real: RealSet,
    simulated: tuple[FloatArray, tuple[TargetClass, ...]] | None,
) -> float:
    """``calibration``'s parameter fitted on ``real`` (and ``simulated`` when it takes
    simulated histories); the model's temperature if it fits nothing."""
    if not calibration.fitted:
        return model.temperature
    scores, targets = Scores.of(model, real.features), _targets(model, real.labels)
    if calibration.with_simulated and simulated is not None:
        scores = scores.join(Scores.of(model, simulated[0]))
        targets = np.concatenate([targets, _targets(model, simulated[1])])
    return fit(calibration.apply, scores, targets)


def aircraft_bootstrap_ece(
    probabilities: FloatArray,
    real: RealSet,
    classes: tuple[TargetClass, ...],
    resamples: int = 400,
    seed: int = 0,
) -> tuple[float, float]:
    """5 % and 95 % quantiles of the ECE when the aircraft are drawn again with
    replacement (each with all its histories): how much the figure owes to which few
    aircraft there are."""
    rng = np.random.default_rng(seed)
    names = sorted(set(real.aircraft))
    rows_of = {name: np.flatnonzero(np.array(real.aircraft) == name) for name in names}
    errors = []
    for _ in range(resamples):
        drawn = np.concatenate(
            [rows_of[names[i]] for i in rng.integers(len(names), size=len(names))]
        )
        errors.append(
            evaluate_probabilities(
                probabilities[drawn], [real.labels[i] for i in drawn], classes
            ).expected_calibration_error
        )
    low, high = np.quantile(errors, [0.05, 0.95])
    return float(low), float(high)


def study(
    model: TreeEnsembleClassifier | None = None,
    simulated_per_class: int = 150,
    calibration_per_class: int = 100,
) -> Study:
    model = model or TreeEnsembleClassifier.load()
    real = real_set()
    calibration_set = real.of(CALIBRATION_AIRCRAFT)
    held = real.of(CALIBRATION_AIRCRAFT, inside=False)
    held_last = real_set(last_only=True).of(CALIBRATION_AIRCRAFT, inside=False)
    simulated_calibration = simulated_set(SIMULATED_CALIBRATION_SEED, calibration_per_class)
    test_features, test_labels = simulated_set(SIMULATED_TEST_SEED, simulated_per_class)
    rows = []
    for calibration in calibrations(model):
        value = fit_on(model, calibration, calibration_set, simulated_calibration)
        held_probabilities = calibration.apply(Scores.of(model, held.features), value)
        leave_one_out = np.zeros((len(real.labels), len(model.classes)))
        values: dict[str, float] = {}
        for name in sorted(set(real.aircraft)):
            others = real.of({name}, inside=False)
            values[name] = fit_on(model, calibration, others, simulated_calibration)
            mine = np.array([a == name for a in real.aircraft])
            leave_one_out[mine] = calibration.apply(
                Scores.of(model, real.features[mine]), values[name]
            )
        kept = np.array([a != DROP_PLANE for a in real.aircraft])
        rows.append(
            StudyRow(
                calibration.name,
                value,
                evaluate_probabilities(held_probabilities, held.labels, model.classes),
                aircraft_bootstrap_ece(held_probabilities, held, model.classes),
                evaluate_probabilities(leave_one_out, real.labels, model.classes),
                values,
                evaluate_probabilities(
                    calibration.apply(Scores.of(model, held_last.features), value),
                    held_last.labels,
                    model.classes,
                ),
                evaluate_probabilities(leave_one_out[kept], real.rows(kept).labels, model.classes),
                evaluate_probabilities(
                    calibration.apply(Scores.of(model, test_features), value),
                    test_labels,
                    model.classes,
                ),
            )
        )
    return Study(
        rows,
        tuple(sorted(set(calibration_set.aircraft))),
        tuple(sorted(set(held.aircraft))),
        len(calibration_set.labels),
        len(held.labels),
        len(held_last.labels),
    )


@dataclass(frozen=True)
class Abstention:
    """Answering ``unknown`` on histories shorter than ``shorter_than_s`` (on top of the
    model's rules: out of distribution, top probability below 0.5)."""

    shorter_than_s: float
    unknown: float
    """Share answered unknown, all rules."""
    right_when_answered: float
    """Accuracy of the answers still given."""
    newly_unknown: int
    right_among_newly_unknown: float
    confidence_among_newly_unknown: float


def abstention_by_duration(
    model: TreeEnsembleClassifier,
    features: FloatArray,
    labels: tuple[TargetClass, ...],
    thresholds_s: tuple[float, ...] = (0.0, 30.0, 45.0, 60.0, 90.0),
) -> list[Abstention]:
    """Item (2) of the calibration work: would "too short to say" help?"""
    probabilities = model.predict_proba(features)
    predicted = np.argmax(probabilities, axis=1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    right = predicted == _targets(model, labels)
    novel = (
        np.zeros(len(labels), dtype=bool)
        if model.novelty is None
        else model.novelty.scores(features) > 1.0
    )
    already = novel | (confidence < 0.5)
    duration = features[:, FEATURE_NAMES.index("duration_s")]
    result = []
    for threshold in thresholds_s:
        newly = (duration < threshold) & ~already
        answered = ~(already | newly)
        result.append(
            Abstention(
                threshold,
                float(1.0 - answered.mean()),
                float(right[answered].mean()) if answered.any() else float("nan"),
                int(newly.sum()),
                float(right[newly].mean()) if newly.any() else float("nan"),
                float(confidence[newly].mean()) if newly.any() else float("nan"),
            )
        )
    return result


def abstention_table(model: TreeEnsembleClassifier | None = None) -> str:
    model = model or TreeEnsembleClassifier.load()
    real = real_set()
    held = real.of(CALIBRATION_AIRCRAFT, inside=False)
    simulated = simulated_set(SIMULATED_TEST_SEED, 150)
    columns = [
        abstention_by_duration(model, real.features, real.labels),
        abstention_by_duration(model, held.features, held.labels),
        abstention_by_duration(model, *simulated),
    ]
    lines = [
        "| unknown below | all real: unknown, right when answered, newly unknown (right, "
        "confidence) | held-out real: unknown, right when answered | simulated: unknown, "
        "right when answered, newly unknown (right, confidence) |",
        "| --- | --- | --- | --- |",
    ]
    for every, held_row, simulated_row in zip(*columns, strict=True):
        lines.append(
            f"| {every.shorter_than_s:.0f} s | {every.unknown:.1%}, "
            f"{every.right_when_answered:.3f}, {every.newly_unknown} "
            f"({every.right_among_newly_unknown:.2f}, "
            f"{every.confidence_among_newly_unknown:.2f}) | {held_row.unknown:.1%}, "
            f"{held_row.right_when_answered:.3f} | {simulated_row.unknown:.1%}, "
            f"{simulated_row.right_when_answered:.3f}, {simulated_row.newly_unknown} "
            f"({simulated_row.right_among_newly_unknown:.2f}, "
            f"{simulated_row.confidence_among_newly_unknown:.2f}) |"
        )
    return "\n".join(lines)


def study_table(result: Study) -> str:
    """The study as a Markdown table (docs/assess.md, "Calibration on real data")."""

    def recall(evaluation: Evaluation) -> str:
        figures = evaluation.per_class_recall or {}
        return " / ".join(
            f"{figures.get(str(c), float('nan')):.2f}"
            for c in (TargetClass.AIRLINER, TargetClass.LIGHT_AIRCRAFT)
        )

    lines = [
        f"calibration split: {', '.join(result.calibration_aircraft)} "
        f"({result.calibration_histories} histories); held out: "
        f"{', '.join(result.held_out_aircraft)} ({result.held_out_histories} histories, "
        f"{result.held_out_last_histories} last assessments)",
        "",
        "| calibration | fitted | held out: macro-F1, ECE (5-95 % over aircraft) | "
        "held out: recall airliner / light | held out, last assessments: macro-F1, ECE | "
        "all real, leave one aircraft out: macro-F1, ECE "
        "(without the drop plane) | simulated (unseen seed): macro-F1, ECE |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result.rows:
        lines.append(
            f"| {row.name} | {row.value:.3f} | {row.held_out.macro_f1:.3f}, "
            f"**{row.held_out.expected_calibration_error:.3f}** "
            f"({row.held_out_ece_interval[0]:.3f}-{row.held_out_ece_interval[1]:.3f}) | "
            f"{recall(row.held_out)} | {row.held_out_last.macro_f1:.3f}, "
            f"{row.held_out_last.expected_calibration_error:.3f} | "
            f"{row.leave_one_out.macro_f1:.3f}, "
            f"{row.leave_one_out.expected_calibration_error:.3f} "
            f"({row.leave_one_out_without_drop_plane.macro_f1:.3f}, "
            f"{row.leave_one_out_without_drop_plane.expected_calibration_error:.3f}) | "
            f"{row.simulated.macro_f1:.3f}, {row.simulated.expected_calibration_error:.3f} |"
        )
    return "\n".join(lines)


__all__ = [
    "CALIBRATION_AIRCRAFT",
    "Abstention",
    "Calibration",
    "RealSet",
    "Scores",
    "Study",
    "abstention_by_duration",
    "abstention_table",
    "calibrations",
    "fit_on",
    "real_set",
    "study",
    "study_table",
]
