"""Classifier: exported trees match scikit-learn, the shipped model meets a floor on held-out
simulated histories and on real recorded flights, explanations name real features."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.assess.classifier import ModelError, TreeEnsembleClassifier
from hotzone.assess.features import FEATURE_NAMES, KinematicHistory, batch_features
from hotzone.assess.training import build_dataset, evaluate, export_model
from hotzone.sim.training_data import HELD_OUT_SEED_BASE
from hotzone.types import TargetClass
from tests.assess.real_flights import FLIGHT_CLASSES, flight_windows


@pytest.fixture(scope="module")
def shipped() -> TreeEnsembleClassifier:
    return TreeEnsembleClassifier.load()


def test_exported_trees_reproduce_scikit_learn_scores() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(3)
    features = rng.normal(size=(400, len(FEATURE_NAMES)))
    features[::5, 2] = np.nan  # missing values must follow the trained side
    labels = (features[:, 0] > 0).astype(int) + (features[:, 1] > 0.5).astype(int)
    model = HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(features, labels)
    document = export_model(model, ["airliner", "helicopter", "vessel"])
    ours = TreeEnsembleClassifier(document).raw_scores(features)
    assert np.allclose(ours, model._raw_predict(features), atol=1e-5)


def test_shipped_model_meets_floor_on_unseen_seeds(shipped: TreeEnsembleClassifier) -> None:
    # 30 per class from a seed training never uses; the bench measures 0.90 on thousands.
    features, labels = build_dataset(30, HELD_OUT_SEED_BASE + 77)
    result = evaluate(shipped, features, labels)
    assert result.macro_f1 >= 0.85
    assert result.expected_calibration_error <= 0.10


def test_explanation_names_real_features_of_the_chosen_class(
    shipped: TreeEnsembleClassifier,
) -> None:
    features, _ = build_dataset(3, HELD_OUT_SEED_BASE + 5)
    for answer in shipped.classify(features):
        assert answer.explanation
        for item in answer.explanation:
            assert item.split("=")[0] in FEATURE_NAMES
        assert abs(sum(answer.probabilities.values()) - 1.0) < 1e-3


def test_contributions_add_up_to_the_score_above_baseline(shipped: TreeEnsembleClassifier) -> None:
    features, _ = build_dataset(2, HELD_OUT_SEED_BASE + 9)
    best = np.argmax(shipped.raw_scores(features), axis=1).astype(np.int64)
    contributions = shipped.contributions(features, best)
    scores = shipped.raw_scores(features)[np.arange(len(best)), best]
    # Saabas: baseline + every tree's root value + the path moves = the score.
    roots = shipped._trees.value[shipped._trees.roots]
    root_sum = np.array([roots[shipped._trees.tree_class == k].sum() for k in best])
    assert np.allclose(
        shipped.baseline[best] + root_sum + contributions.sum(axis=1), scores, atol=1e-4
    )


def test_low_confidence_becomes_unknown(shipped: TreeEnsembleClassifier) -> None:
    features, _ = build_dataset(2, HELD_OUT_SEED_BASE + 11)
    answers = shipped.classify(features, unknown_threshold=1.01)
    assert {a.target_class for a in answers} == {TargetClass.UNKNOWN}


def test_real_flights_separate_into_airliner_light_aircraft_helicopter(
    shipped: TreeEnsembleClassifier,
) -> None:
    # Among the three classes asked: 9 of 14 flights (the model measures 10) by mean probability,
    # and at least 60 % of the 10-minute windows do (chance is 33 %; the shipped model
    # measures 69 %: gliders cruising straight look like light aircraft *or* helicopters,
    # a taxiing airliner like anything, so single windows are the weak spot).
    wanted = [TargetClass.AIRLINER, TargetClass.LIGHT_AIRCRAFT, TargetClass.HELICOPTER]
    columns = [shipped.classes.index(c) for c in wanted]
    correct = total = flights_right = 0
    for name, true_class in FLIGHT_CLASSES.items():
        windows = flight_windows(name)
        probabilities = shipped.predict_proba(batch_features(windows))[:, columns]
        flights_right += wanted[int(np.argmax(probabilities.mean(axis=0)))] == true_class
        correct += int(np.sum(np.argmax(probabilities, axis=1) == wanted.index(true_class)))
        total += len(windows)
    assert correct / total >= 0.60
    assert flights_right >= 9  # of 14 flights; chance is under 5


def test_bad_model_files_are_refused_with_the_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.json"
    path.write_text("[1, 2]")
    with pytest.raises(ModelError, match="expected a JSON object"):
        TreeEnsembleClassifier.load(path)
    path.write_text('{"format": "other"}')
    with pytest.raises(ModelError, match="format"):
        TreeEnsembleClassifier.load(path)
    with pytest.raises(ModelError, match="cannot read"):
        TreeEnsembleClassifier.load(tmp_path / "missing.json")


def test_history_with_mismatched_arrays_is_refused() -> None:
    from hotzone.assess.features import HistoryError

    with pytest.raises(HistoryError, match="needs"):
        KinematicHistory(np.zeros(3), np.zeros((2, 3)), np.zeros((3, 3)), np.zeros(3))


def test_train_command_writes_a_model_the_classifier_loads_and_its_card(  # type: ignore[no-untyped-def]
    tmp_path, capsys
) -> None:
    from hotzone.cli import main

    model_path = tmp_path / "model.json"
    assert main(["train", "--quick", "--out", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "ECE" in out
    trained = TreeEnsembleClassifier.load(model_path)
    features, labels = build_dataset(20, HELD_OUT_SEED_BASE + 7)
    scores = evaluate(trained, features, labels)
    assert scores.macro_f1 > 0.8  # a quick model, still far above chance (1/12)
    card = (tmp_path / "model_card.md").read_text()
    for target_class in ("airliner", "one_way_attack_drone", "ballistic_missile"):
        assert target_class in card
    assert (tmp_path / "model_calibration.svg").read_text().lstrip().startswith("<")


def test_train_refuses_the_seeds_held_out_for_testing(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from hotzone.cli import main

    assert (
        main(["train", "--seed", str(HELD_OUT_SEED_BASE), "--out", str(tmp_path / "m.json")]) == 2
    )
    assert "held out" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
