"""The assessment stage's cheaper paths give the same numbers as the plain ones they
replace (issue 17; docs/assess.md "Cost"): contributions summed for all rows at once, the
trees walked once per `classify` by the pairs not yet at a leaf, a step's countries looked
up together, a history's percentiles from one sort, and every track's approaches and
threat scores in one array pass."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.assess.classifier import TreeEnsembleClassifier, neighbour_distances
from hotzone.assess.features import finite_percentiles
from hotzone.assess.stage import AssessmentStage
from hotzone.assess.threat import approaches, approaches_of_tracks, threat_score, threat_scores
from hotzone.assess.training import build_dataset
from hotzone.runtime.stages import assessment_context
from hotzone.sim.scenario import load_scenario
from hotzone.sim.training_data import HELD_OUT_SEED_BASE
from hotzone.types import StandardIdentity, TargetClass

Velocity = tuple[float, float, float]


@pytest.fixture(scope="module")
def shipped() -> TreeEnsembleClassifier:
    return TreeEnsembleClassifier.load()


def every_tree_to_the_deepest_depth(
    model: TreeEnsembleClassifier, features: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Leaves and (depth, row, tree) paths of a walk that moves every (row, tree) pair at
    every depth to the ensemble's deepest (the earlier code; a leaf's children are itself)."""
    trees = model._trees
    count = features.shape[0]
    node = np.broadcast_to(trees.roots, (count, len(trees.roots))).copy()
    path = np.empty((trees.max_depth + 1, count, len(trees.roots)), dtype=np.int64)
    rows = np.arange(count)[:, None]
    for depth in range(trees.max_depth + 1):
        path[depth] = node
        value = features[rows, trees.feature[node]]
        go_right = np.where(
            np.isnan(value), ~trees.missing_left[node], value > trees.threshold[node]
        )
        node = trees.children[2 * node + go_right]
    return node, path


def contributions_row_by_row(
    model: TreeEnsembleClassifier, features: np.ndarray, class_index: np.ndarray
) -> np.ndarray:
    """Saabas contributions summed one depth and one row at a time over every tree's path
    (the earlier code)."""
    trees = model._trees
    _, path = every_tree_to_the_deepest_depth(model, features)
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


def test_the_walk_of_the_pairs_not_yet_at_a_leaf_reaches_the_same_leaves(
    shipped: TreeEnsembleClassifier,
) -> None:
    features, _ = build_dataset(4, HELD_OUT_SEED_BASE + 23)
    features[::4, 2] = np.nan
    leaves, _ = every_tree_to_the_deepest_depth(shipped, features)
    assert np.array_equal(shipped._leaves(features), leaves)
    assert shipped._trees.is_leaf[leaves].all()
    assert np.array_equal(shipped._leaves(features[:0]), leaves[:0])


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


def test_percentiles_from_one_sort_are_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(17)
    percents = (5.0, 50.0, 90.0, 95.0)
    checked = 0
    for size in range(0, 80):
        for _ in range(6):
            values = rng.normal(0.0, 30.0, size)
            values[rng.random(size) < 0.2] = 12.5  # ties
            values[rng.random(size) < 0.1] = np.nan
            values[rng.random(size) < 0.05] = np.inf
            values[rng.random(size) < 0.1] = rng.choice([0.0, -0.0])
            finite = values[np.isfinite(values)]
            expected = [np.percentile(finite, q) if finite.size else np.nan for q in percents]
            answered = finite_percentiles(values, percents)
            assert np.array_equal(np.signbit(answered), np.signbit(expected))
            assert np.array_equal(answered, expected, equal_nan=True)
            checked += finite.size > 0
    assert checked > 400


def random_tracks(count: int, seed: int) -> tuple[list[tuple[float, float, float]], list[Velocity]]:
    """Tracks around the suwalki assets (some on an asset, some standing still)."""
    rng = np.random.default_rng(seed)
    positions = [
        (float(lat), float(lon), float(height))
        for lat, lon, height in zip(
            rng.uniform(53.7, 54.4, count),
            rng.uniform(22.6, 23.6, count),
            rng.uniform(0.0, 3000.0, count),
            strict=True,
        )
    ]
    velocities: list[Velocity] = [
        (float(east), float(north), float(up))
        for east, north, up in zip(
            rng.normal(0.0, 60.0, count),
            rng.normal(0.0, 60.0, count),
            rng.normal(0.0, 3.0, count),
            strict=True,
        )
    ]
    velocities[::40] = [(0.0, 0.0, 0.0)] * len(velocities[::40])
    velocities[1::40] = [(1e-4, -0.0, 0.0)] * len(velocities[1::40])
    positions[2::40] = [(54.095, 22.95, 200.0)] * len(positions[2::40])  # on the garrison
    return positions, velocities


def test_approaches_of_many_tracks_are_each_tracks_bit_for_bit() -> None:
    assets = assessment_context(load_scenario("suwalki-drones")).assets
    positions, velocities = random_tracks(4000, 29)
    together = approaches_of_tracks(positions, velocities, assets)
    alone = [approaches(*p, v, assets) for p, v in zip(positions, velocities, strict=True)]
    assert repr(together) == repr(alone)  # repr: -0.0 and 0.0 differ there
    arriving = [a for one in alone for a in one if np.isfinite(a.time_to_go_s)]
    assert any(a.time_to_go_s > 0.0 for a in arriving) and any(
        a.time_to_go_s == 0.0 for a in arriving
    )
    assert approaches_of_tracks([], [], assets) == []
    assert approaches_of_tracks(positions[:2], velocities[:2], ()) == [[], []]


def test_threat_scores_together_are_each_approachs_bit_for_bit() -> None:
    assets = assessment_context(load_scenario("suwalki-drones")).assets
    positions, velocities = random_tracks(2000, 31)
    per_track = approaches_of_tracks(positions, velocities, assets)
    classes = [list(TargetClass)[row % len(TargetClass)] for row in range(len(per_track))]
    identities = [
        list(StandardIdentity)[row % len(StandardIdentity)] for row in range(len(per_track))
    ]
    together = threat_scores(classes, identities, per_track)
    alone = [
        [threat_score(target_class, identity, approach) for approach in approaches_of_one]
        for target_class, identity, approaches_of_one in zip(
            classes, identities, per_track, strict=True
        )
    ]
    assert repr(together) == repr(alone)
    assert len({score for scores in alone for score in scores}) > 100


def test_novelty_distances_to_all_classes_at_once_are_each_classs_bit_for_bit(
    shipped: TreeEnsembleClassifier,
) -> None:
    novelty = shipped.novelty
    assert novelty is not None
    features, _ = build_dataset(3, HELD_OUT_SEED_BASE + 37)
    features[::3, 4] = np.nan
    features[1::7, :6] = np.nan
    features[2::11] = np.nan  # nothing in common with any reference: 0
    features = np.concatenate([features, features[:5] * 40.0])  # far from everything
    queries = novelty.standardized(features)
    each_class = np.stack(
        [neighbour_distances(queries, rows) for rows in novelty.references], axis=1
    )
    together = novelty.class_distances(features)
    assert np.array_equal(together, each_class)
    assert np.array_equal(novelty.class_distances(features, chunk=7), each_class)
    assert (each_class == 0.0).any() and (each_class > 1.0).any()
