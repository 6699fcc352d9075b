"""The assessment stage's cheaper paths give the same numbers as the plain ones they
replace (issue 17; docs/assess.md "Cost"): contributions summed for all rows at once, the
trees walked once per `classify`, and a step's countries looked up together."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.stage import AssessmentStage
from hotzone.assess.training import build_dataset
from hotzone.sim.training_data import HELD_OUT_SEED_BASE


@pytest.fixture(scope="module")
def shipped() -> TreeEnsembleClassifier:
    return TreeEnsembleClassifier.load()


def contributions_row_by_row(
    model: TreeEnsembleClassifier, features: np.ndarray, class_index: np.ndarray
) -> np.ndarray:
    """Saabas contributions summed one depth and one row at a time (the earlier code)."""
    trees = model._trees
    _, path = model._leaves(features)
    result = np.zeros((features.shape[0], len(model.feature_names)))
    own = trees.tree_class[None, :] == class_index[:, None]
    for depth in range(path.shape[0] - 1):
        parent, child = path[depth], path[depth + 1]
        moved = (parent != child) & own
        delta = np.where(moved, trees.value[child] - trees.value[parent], 0.0)
        feature = np.where(moved, trees.feature[parent], 0)
        for row in range(features.shape[0]):
            np.add.at(result[row], feature[row], delta[row])
    return result


def test_contributions_are_the_row_by_row_sums_bit_for_bit(
    shipped: TreeEnsembleClassifier,
) -> None:
    features, _ = build_dataset(4, HELD_OUT_SEED_BASE + 17)
    features[::3, 5] = np.nan  # missing values take the trained side
    best = np.argmax(shipped.raw_scores(features), axis=1).astype(np.int64)
    together = shipped.contributions(features, best)
    assert np.array_equal(together, contributions_row_by_row(shipped, features, best))
    assert np.count_nonzero(together) > features.shape[0]


def test_classify_answers_from_one_walk_as_from_predict_proba(
    shipped: TreeEnsembleClassifier,
) -> None:
    features, _ = build_dataset(4, HELD_OUT_SEED_BASE + 19)
    probabilities = shipped.predict_proba(features)
    answers = shipped.classify(features)
    assert len(answers) == features.shape[0]
    for row, answer in zip(probabilities, answers, strict=True):
        assert answer.confidence == float(row.max())
        assert list(answer.probabilities.values()) == [round(float(p), 4) for p in row]


def test_a_steps_countries_together_as_one_at_a_time() -> None:
    stage = AssessmentStage()
    positions = [(54.1, 22.9), (54.4, 23.6), (55.0, 19.5), (54.3, 22.6), (53.9, 23.3)]
    alone = [stage._country(lat, lon) for lat, lon in positions]
    assert stage._countries(positions) == alone
    assert None in alone and len({code for code in alone if code}) >= 2  # PL, LT and the sea
    refused = [*positions, (95.0, 23.0)]  # not on Earth: that one is None, the rest answered
    assert stage._countries(refused) == [*alone, None]
    assert stage._countries([]) == []
