"""Track classification: a gradient-boosted tree ensemble with calibrated probabilities.

Training (``hotzone train``) fits scikit-learn's ``HistGradientBoostingClassifier`` and
then *exports* it: every tree becomes plain arrays (split feature, threshold, missing
side, children, node value) in a JSON file that ships in the package
(``assess/data/classifier.json``). Run time never unpickles anything and needs no
scikit-learn: `TreeEnsembleClassifier` walks the exported trees in numpy. A JSON model
is also readable and diffable, which an auditor of a weapon-cueing system wants.

Calibration is temperature scaling (Guo et al., 2017): one scalar divides the summed tree
scores before the softmax, fitted on data held out from the trees, so probabilities
match observed frequencies without changing which class ranks first.

Abstention: a tree ensemble answers confidently far outside anything it was trained on
(a track at 3,000 km/h and 100 m gets a class all the same). So the model carries a
novelty reference (`NoveltyReference`): a sample of each class's training histories'
kinematic features. A track farther from the k-th nearest reference history of every
class than all but 2 % of that class's held-out simulated histories are is *out of
distribution* and answered ``unknown`` whatever the trees say; so is a track whose top
calibrated probability is below 0.5 (doubt between classes). Both rules and their
thresholds are in the model file.

Explanations are exact per-feature contributions of the tree paths (Saabas): each split
on the path moves the score of the chosen class from the parent's expected value to the
child's, and that move is credited to the split's feature. The top contributions, with
the feature values, are the reasons given to the operator.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hotzone.assess.features import FEATURE_NAMES, KINEMATIC_FEATURE_NAMES
from hotzone.types import TargetClass
from hotzone.types.arrays import FloatArray, IntArray

MODEL_FORMAT = "hotzone-tree-ensemble/1"
SHIPPED_MODEL_PACKAGE = "hotzone.assess"
SHIPPED_MODEL_FILE = "data/classifier.json"
DEFAULT_UNKNOWN_THRESHOLD = 0.5
"""Below this top probability a track is reported as ``unknown`` (with its probabilities)."""
NOVELTY_FEATURES: tuple[str, ...] = KINEMATIC_FEATURE_NAMES
"""The kinematic features novelty is judged on: what the object does, not which sensor saw
it (no RCS, report interval, duration or identity flags, which vary by sensor)."""
NOVELTY_NEIGHBOUR = 3
"""The novelty score is the distance to this many-th nearest reference history."""


class ModelError(ValueError):
    """A model file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Classification:
    """The classifier's answer for one track."""

    probabilities: dict[str, float]
    """Calibrated probability per class name."""
    target_class: TargetClass
    """The most probable class, or ``unknown`` below the confidence threshold."""
    confidence: float
    explanation: tuple[str, ...]
    """Top contributing features, e.g. ``speed_mean_mps=48.1 (+2.31)``."""
    out_of_distribution: bool = False
    """The features are unlike any simulated history trained on: answered ``unknown``."""
    novelty: float = 0.0
    """Novelty score (`NoveltyReference.scores`): above 1, unlike any class trained on."""


@dataclass(frozen=True)
class NoveltyReference:
    """What training histories look like, for the out-of-distribution rule.

    Features are first put on comparable footing (`novelty_columns`): heights on a log
    scale above 100 m (100 m against 200 m matters, 10 km against 10.1 km does not),
    climb rates, accelerations and height spread on a signed log scale (a ballistic
    missile's 600 m/s dive and a drone's 2 m/s climb are both "some climb"), then
    standardized (``centre``, ``scale``: per-feature median and robust spread of the whole
    training set). ``references[k]`` are training histories of class k so standardized.
    A history's distance to class k is the root-mean-square standardized difference to
    its `NOVELTY_NEIGHBOUR`-th nearest reference of that class, over the features both
    have (NaN = missing); ``thresholds[k]`` is the distance that a fixed share of
    held-out histories of class k stay under. The novelty score is the smallest
    distance over threshold across classes: above 1, the history is like no class.
    """

    centre: FloatArray
    scale: FloatArray
    references: tuple[FloatArray, ...]
    thresholds: FloatArray

    @classmethod
    def from_document(cls, document: dict[str, Any], class_count: int) -> NoveltyReference:
        if list(document["features"]) != list(NOVELTY_FEATURES):
            raise ValueError("novelty reference on other features")
        width = len(NOVELTY_FEATURES)
        centre = np.asarray(document["centre"], dtype=np.float64)
        scale = np.asarray(document["scale"], dtype=np.float64)
        thresholds = np.asarray(document["thresholds"], dtype=np.float64)
        references = tuple(
            np.asarray(
                [[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64
            ).reshape(-1, width)
            for rows in document["references"]
        )
        if centre.shape != (width,) or scale.shape != (width,) or not np.all(scale > 0):
            raise ValueError("novelty centre or scale does not fit its features")
        if len(references) != class_count or thresholds.shape != (class_count,):
            raise ValueError("novelty references or thresholds do not fit the classes")
        if any(len(rows) < NOVELTY_NEIGHBOUR for rows in references):
            raise ValueError("novelty reference too small")
        if not np.all(thresholds > 0.0):
            raise ValueError("novelty thresholds must be positive")
        return cls(centre, scale, references, thresholds)

    @cached_property
    def _all_references(self) -> tuple[NDArray[np.bool_], FloatArray, FloatArray, IntArray]:
        """Every class's reference rows one after the other, as `neighbour_distances` reads
        them (known cells, 0 in the others), the known cells as (columns, rows) 0/1, and
        where each class's rows start."""
        rows = np.concatenate(self.references, axis=0)
        known = np.isfinite(rows)
        starts = np.cumsum([0, *(len(reference) for reference in self.references)])
        return known, np.where(known, rows, 0.0), known.T.astype(np.float64), starts

    def standardized(self, features: FloatArray) -> FloatArray:
        """``features`` (n, FEATURE_NAMES) as standardized novelty columns."""
        result: FloatArray = (novelty_columns(features) - self.centre) / self.scale
        return result

    def class_distances(self, features: FloatArray, chunk: int = 32) -> FloatArray:
        """(n, classes) distance of each row to each class's reference: `neighbour_distances`
        to every class's rows in one pass.

        The same numbers bit for bit (`tests/assess/test_stage_cost.py`): each distance is
        the sum over the same contiguous last axis (a sum numpy makes alike whatever the
        block's other dimensions), and the k-th nearest of a class is one value however
        its rows were ordered by the partition."""
        queries = self.standardized(features)
        known_reference, filled_reference, known_columns, starts = self._all_references
        kth = NOVELTY_NEIGHBOUR - 1
        result = np.zeros((len(queries), len(self.references)))
        for start in range(0, len(queries), chunk):
            known, _, squares = _pair_squares(
                queries[start : start + chunk], known_reference, filled_reference
            )
            # How many columns each pair has in common: small whole numbers, exact as a
            # product of 0/1 matrices whatever its order of sums.
            count = known.astype(np.float64) @ known_columns
            distance = np.where(count > 0, np.sqrt(squares / np.maximum(count, 1.0)), np.inf)
            for index in range(len(self.references)):
                of_class = distance[:, starts[index] : starts[index + 1]]
                nearest = np.partition(of_class, kth, axis=1)[:, kth]
                result[start : start + chunk, index] = np.where(np.isfinite(nearest), nearest, 0.0)
        return result

    def scores(self, features: FloatArray) -> FloatArray:
        """(n,) novelty scores of full feature rows; above 1 is out of distribution."""
        result: FloatArray = np.min(self.class_distances(features) / self.thresholds, axis=1)
        return result


def novelty_columns(features: FloatArray) -> FloatArray:
    """The `NOVELTY_FEATURES` columns of ``features``, on the scales `NoveltyReference`
    compares them on."""
    columns = np.array(features[:, [FEATURE_NAMES.index(name) for name in NOVELTY_FEATURES]])
    for index, name in enumerate(NOVELTY_FEATURES):
        if name in ("height_mean_m", "height_max_m", "height_min_m"):
            columns[:, index] = np.log1p(np.clip(columns[:, index], 0.0, None) / 100.0)
        elif name.startswith(("climb_rate", "acceleration")) or name == "height_std_m":
            columns[:, index] = np.sign(columns[:, index]) * np.log1p(np.abs(columns[:, index]))
    return columns


def _pair_squares(
    block: FloatArray, known_reference: NDArray[np.bool_], filled_reference: FloatArray
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], FloatArray]:
    """For each (query row, reference row) pair: the squared differences summed over the
    columns both have, with the queries' known cells and the columns each pair has."""
    known = np.isfinite(block)
    filled = np.where(known, block, 0.0)
    both = known[:, None, :] & known_reference[None, :, :]
    squared = np.where(both, (filled[:, None, :] - filled_reference[None, :, :]) ** 2, 0.0)
    squares: FloatArray = squared.sum(axis=2)
    return known, both, squares


def neighbour_distances(queries: FloatArray, reference: FloatArray, chunk: int = 256) -> FloatArray:
    """RMS difference of each standardized query row to its `NOVELTY_NEIGHBOUR`-th nearest
    reference row over the columns both have; a row with no column in common with enough
    references scores 0 (nothing to call novel)."""
    result = np.zeros(len(queries))
    kth = NOVELTY_NEIGHBOUR - 1
    known_reference = np.isfinite(reference)
    filled_reference = np.where(known_reference, reference, 0.0)
    for start in range(0, len(queries), chunk):
        _, both, squares = _pair_squares(
            queries[start : start + chunk], known_reference, filled_reference
        )
        count = both.sum(axis=2)
        distance = np.where(count > 0, np.sqrt(squares / np.maximum(count, 1)), np.inf)
        nearest = np.partition(distance, kth, axis=1)[:, kth]
        result[start : start + chunk] = np.where(np.isfinite(nearest), nearest, 0.0)
    return result


@dataclass(frozen=True)
class _PackedTrees:
    """All trees of the ensemble in flat arrays; tree t's nodes start at ``roots[t]``."""

    feature: IntArray
    threshold: FloatArray
    missing_left: NDArray[np.bool_]
    left: IntArray
    right: IntArray
    is_leaf: NDArray[np.bool_]
    value: FloatArray
    roots: IntArray
    tree_class: IntArray
    max_depth: int
    children: IntArray
    """(2 x nodes,) node i's left child at 2i, its right one at 2i + 1; a leaf's are
    itself, so a walk that reached it stays there."""


class TreeEnsembleClassifier:
    """Calibrated multi-class tree ensemble, loaded from an exported JSON model."""

    def __init__(self, document: dict[str, Any], source: str = "<model>") -> None:
        try:
            if document.get("format") != MODEL_FORMAT:
                raise ModelError(
                    f"{source}: format {document.get('format')!r}, expected {MODEL_FORMAT!r}"
                )
            self.classes = tuple(TargetClass(name) for name in document["classes"])
            self.feature_names = tuple(str(name) for name in document["feature_names"])
            self.baseline = np.asarray(document["baseline"], dtype=np.float64)
            self.temperature = float(document["temperature"])
            self.version = str(document.get("version", ""))
            self.card = dict(document.get("card", {}))
            self._trees = _pack(document["trees"], len(self.classes))
            # A model without a reference (older files, tests' small models) cannot tell
            # what it was trained on: only the probability rule applies.
            novelty = document.get("novelty")
            self.novelty = (
                None
                if novelty is None
                else NoveltyReference.from_document(novelty, len(self.classes))
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, ModelError):
                raise
            raise ModelError(f"{source}: not a usable model: {error}") from None
        if self.feature_names != FEATURE_NAMES:
            raise ModelError(
                f"{source}: trained on features {list(self.feature_names)}, "
                f"this hotzone computes {list(FEATURE_NAMES)}; retrain with `hotzone train`"
            )
        if self.baseline.shape != (len(self.classes),) or not self.temperature > 0.0:
            raise ModelError(f"{source}: baseline or temperature does not fit the classes")

    @classmethod
    def load(cls, path: Path | str | None = None) -> TreeEnsembleClassifier:
        """The model at ``path``, or the one shipped with hotzone."""
        if path is None:
            resource = resources.files(SHIPPED_MODEL_PACKAGE) / SHIPPED_MODEL_FILE
            text, source = resource.read_text(encoding="utf-8"), "shipped classifier"
        else:
            source = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise ModelError(f"{source}: cannot read: {error}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelError(f"{source}: not JSON: {error}") from None
        if not isinstance(document, dict):
            raise ModelError(f"{source}: expected a JSON object")
        return cls(document, source)

    # ------------------------------------------------------------------ scores

    def _leaves(self, features: FloatArray) -> IntArray:
        """(n, trees): the leaf each sample reaches in each tree.

        Only the (sample, tree) pairs not yet at a leaf move on at each depth: most trees
        are far shallower than the deepest, and a walk of every pair to the deepest depth
        spent most of its time standing still."""
        trees = self._trees
        count, width = features.shape[0], len(trees.roots)
        leaves = np.broadcast_to(trees.roots, (count, width)).reshape(-1).copy()
        pairs = np.arange(count * width)
        pairs = pairs[~trees.is_leaf[leaves]]
        flat = features.reshape(-1)
        row_start = (pairs // width) * features.shape[1]
        while pairs.size:
            node = leaves[pairs]
            node = trees.children[2 * node + _goes_right(trees, flat, row_start, node)]
            leaves[pairs] = node
            inner = ~trees.is_leaf[node]
            pairs, row_start = pairs[inner], row_start[inner]
        return leaves.reshape(count, width)

    def raw_scores(self, features: FloatArray) -> FloatArray:
        """(n, classes) summed tree scores before calibration."""
        features = _checked(features)
        return self._scores_of_leaves(self._leaves(features))

    def _scores_of_leaves(self, leaves: IntArray) -> FloatArray:
        scores = np.tile(self.baseline, (leaves.shape[0], 1))
        values = self._trees.value[leaves]
        for index in range(len(self.classes)):
            scores[:, index] += values[:, self._trees.tree_class == index].sum(axis=1)
        return scores

    def predict_proba(self, features: FloatArray) -> FloatArray:
        """(n, classes) calibrated probabilities; columns follow ``classes``."""
        return softmax(self.raw_scores(features) / self.temperature)

    def contributions(self, features: FloatArray, class_index: IntArray) -> FloatArray:
        """(n, features) contribution of each feature to the score of ``class_index``."""
        features = _checked(features)
        trees = self._trees
        count, width = features.shape[0], len(self.feature_names)
        # Only the trees of each row's own class contribute: walk those (sample, tree)
        # pairs, in (row, tree) order, and keep the splits they pass at each depth.
        own_row, own_tree = np.nonzero(trees.tree_class[None, :] == class_index[:, None])
        node = trees.roots[own_tree]
        inner = ~trees.is_leaf[node]
        node, row = node[inner], own_row[inner]
        flat = features.reshape(-1)
        row_start = row * features.shape[1]
        cells, deltas = [], []
        while node.size:
            child = trees.children[2 * node + _goes_right(trees, flat, row_start, node)]
            cells.append(trees.feature[node] + row * width)
            deltas.append(trees.value[child] - trees.value[node])
            inner = ~trees.is_leaf[child]
            node, row, row_start = child[inner], row[inner], row_start[inner]
        # One unbuffered sum in (depth, row, tree) order: each cell adds its terms in the
        # order the per-depth, per-row sums did (splits not passed added +0.0, which
        # changes no sum), so the floats are the same.
        result = np.zeros(count * width)
        if cells:
            np.add.at(result, np.concatenate(cells), np.concatenate(deltas))
        return result.reshape(count, width)

    # ------------------------------------------------------------------ answers

    def classify(
        self,
        features: FloatArray,
        unknown_threshold: float = DEFAULT_UNKNOWN_THRESHOLD,
        top_features: int = 3,
    ) -> list[Classification]:
        """One `Classification` per feature row."""
        features = _checked(features)
        if features.shape[0] == 0:
            return []
        probabilities = softmax(self._scores_of_leaves(self._leaves(features)) / self.temperature)
        best = np.argmax(probabilities, axis=1).astype(np.int64)
        contributions = self.contributions(features, best)
        novelty = (
            np.zeros(features.shape[0]) if self.novelty is None else self.novelty.scores(features)
        )
        answers = []
        for row in range(features.shape[0]):
            confidence = float(probabilities[row, best[row]])
            order = np.argsort(-np.abs(contributions[row]))[:top_features]
            explanation = tuple(
                f"{self.feature_names[i]}={features[row, i]:.4g} ({contributions[row, i]:+.2f})"
                for i in order
                if contributions[row, i] != 0.0
            )
            novel = bool(novelty[row] > 1.0)
            if novel:
                explanation = (
                    f"out of distribution: novelty {novelty[row]:.2f} > 1 (unlike any class)",
                    *explanation,
                )
            answers.append(
                Classification(
                    probabilities={
                        str(name): round(float(p), 4)
                        for name, p in zip(self.classes, probabilities[row], strict=True)
                    },
                    target_class=self.classes[best[row]]
                    if confidence >= unknown_threshold and not novel
                    else TargetClass.UNKNOWN,
                    confidence=confidence,
                    explanation=explanation,
                    out_of_distribution=novel,
                    novelty=round(float(novelty[row]), 3),
                )
            )
        return answers


def _goes_right(
    trees: _PackedTrees, flat_features: FloatArray, row_start: IntArray, node: IntArray
) -> NDArray[np.bool_]:
    """Whether each sample (its row's offset in the flattened feature matrix) goes right at
    each (inner) node: above the threshold, or missing where the tree sends missing right."""
    value = flat_features[row_start + trees.feature[node]]
    going_right: NDArray[np.bool_] = np.where(
        np.isnan(value), ~trees.missing_left[node], value > trees.threshold[node]
    )
    return going_right


def softmax(scores: FloatArray) -> FloatArray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exponent = np.exp(shifted)
    result: FloatArray = exponent / exponent.sum(axis=1, keepdims=True)
    return result


def _checked(features: FloatArray) -> FloatArray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"expected features of shape (n, {len(FEATURE_NAMES)}), got {array.shape}")
    return array


def _pack(trees: Sequence[dict[str, Any]], class_count: int) -> _PackedTrees:
    columns: dict[str, list[Any]] = {
        key: []
        for key in ("feature", "threshold", "missing_left", "left", "right", "is_leaf", "value")
    }
    roots, tree_class, max_depth, offset = [], [], 0, 0
    for tree in trees:
        size = len(tree["value"])
        klass = int(tree["class"])
        if not 0 <= klass < class_count:
            raise ValueError(f"tree for class {klass} of {class_count}")
        roots.append(offset)
        tree_class.append(klass)
        max_depth = max(max_depth, int(tree["depth"]))
        for key, column in columns.items():
            values = list(tree[key])
            if len(values) != size:
                raise ValueError(f"tree field {key} has {len(values)} entries for {size} nodes")
            if key in ("left", "right"):
                values = [offset + int(v) for v in values]
            column.extend(values)
        offset += size
    is_leaf = np.asarray(columns["is_leaf"], dtype=bool)
    nodes = np.arange(len(is_leaf))
    left = np.where(is_leaf, nodes, np.asarray(columns["left"], dtype=np.int64))
    right = np.where(is_leaf, nodes, np.asarray(columns["right"], dtype=np.int64))
    return _PackedTrees(
        feature=np.asarray(columns["feature"], dtype=np.int64),
        threshold=np.asarray(columns["threshold"], dtype=np.float64),
        missing_left=np.asarray(columns["missing_left"], dtype=bool),
        left=np.asarray(columns["left"], dtype=np.int64),
        right=np.asarray(columns["right"], dtype=np.int64),
        is_leaf=np.asarray(columns["is_leaf"], dtype=bool),
        value=np.asarray(columns["value"], dtype=np.float64),
        roots=np.asarray(roots, dtype=np.int64),
        tree_class=np.asarray(tree_class, dtype=np.int64),
        max_depth=max_depth,
        children=np.stack([left, right], axis=1).reshape(-1),
    )
