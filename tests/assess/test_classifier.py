"""Classifier: exported trees match scikit-learn, the shipped model meets a floor on held-out
simulated histories, calls real recorded airliners airliners (or abstains), answers
``unknown`` out of distribution, and its features mean the same at 1 s and 10 s reports."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.assess.classifier import ModelError, TreeEnsembleClassifier
from hotzone.assess.features import FEATURE_NAMES, KinematicHistory, batch_features
from hotzone.assess.training import build_dataset, evaluate, export_model
from hotzone.sim.training_data import HELD_OUT_SEED_BASE
from hotzone.types import TargetClass
from tests.assess.real_adsb import openap_a319_windows, pymodes_histories


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


@pytest.mark.parametrize("position_every_s", [0.0, 10.0])
def test_a_real_airliner_through_the_tracker_is_an_airliner_or_unknown(
    shipped: TreeEnsembleClassifier, position_every_s: float
) -> None:
    # pyModeS's recorded 406B90 (EZY85MH, cruising at FL360), decoded, fed as SBS lines
    # (at the recorded ~1 s rate, then a fringe feed's 10 s) through hotzone's tracker:
    # its last 10-minute history, as the assessment stage would classify it.
    histories = pymodes_histories(position_every_s)
    assert len(histories) == 1
    (answer,) = shipped.classify(batch_features(list(histories.values())))
    print(f"\n406B90 every {position_every_s:.0f} s: {answer}")
    assert answer.target_class in (TargetClass.AIRLINER, TargetClass.UNKNOWN)
    assert max(answer.probabilities, key=answer.probabilities.__getitem__) == "airliner"
    assert not answer.out_of_distribution


def test_a_real_a319_read_once_a_minute_is_an_airliner_in_most_windows(
    shipped: TreeEnsembleClassifier,
) -> None:
    # openap's OpenSky A319 (AFR91HL), one state a minute: sparser than any feed trained
    # on (no rate of change can be taken), so abstention is allowed, another class not.
    answers = shipped.classify(batch_features(openap_a319_windows()))
    classes = [a.target_class for a in answers]
    print(f"\nA319 windows: {classes}")
    assert set(classes) <= {TargetClass.AIRLINER, TargetClass.UNKNOWN}
    assert classes.count(TargetClass.AIRLINER) >= 0.75 * len(classes)


def _level_flight(
    speed_mps: float, height_m: float, every_s: float = 2.0, cooperative: bool = False
) -> KinematicHistory:
    times = np.arange(0.0, 300.0, every_s)
    position = np.stack([speed_mps * times, np.zeros_like(times), np.full_like(times, height_m)], 1)
    velocity = np.tile([speed_mps, 0.0, 0.0], (len(times), 1))
    return KinematicHistory(
        times,
        position,
        velocity,
        np.full_like(times, height_m),
        has_icao24=cooperative,
        has_callsign=cooperative,
    )


def test_out_of_distribution_tracks_are_unknown(shipped: TreeEnsembleClassifier) -> None:
    # 3,000 km/h at 100 m: nothing trained on flies so (cruise missiles fly low at a third
    # of that, ballistic missiles that fast climb or dive hundreds of m/s). The trees
    # alone still name a class; the novelty rule makes it unknown.
    features = batch_features([_level_flight(3000 / 3.6, 100.0)])
    (answer,) = shipped.classify(features)
    print(f"\n3,000 km/h at 100 m: {answer}")
    assert answer.out_of_distribution and answer.novelty > 1.0
    assert answer.target_class == TargetClass.UNKNOWN
    assert answer.explanation[0].startswith("out of distribution")
    # An airliner cruising (with its ADS-B identity) is in distribution and named.
    (cruise,) = shipped.classify(
        batch_features([_level_flight(230.0, 11_000.0, every_s=10.0, cooperative=True)])
    )
    assert not cruise.out_of_distribution
    assert cruise.target_class == TargetClass.AIRLINER


def test_held_out_simulated_histories_are_rarely_called_out_of_distribution(
    shipped: TreeEnsembleClassifier,
) -> None:
    # The rule's threshold keeps 98 % of each class's calibration histories inside; on
    # seeds never seen, at most a few percent may fall outside.
    features, labels = build_dataset(20, HELD_OUT_SEED_BASE + 31)
    result = evaluate(shipped, features, labels)
    print(f"\nheld out: out of distribution {result.out_of_distribution_rate:.3f}")
    assert result.out_of_distribution_rate <= 0.05


def test_features_mean_the_same_at_1_s_and_at_10_s_with_velocity_only_updates() -> None:
    # One turning flight (60 m/s, 3 deg/s for 60 s, then straight), seen every 1 s with
    # velocity noise, and every 10 s as a sparse feed whose positions and velocities come
    # on separate lines (a velocity-only update has no position: NaN).
    rng = np.random.default_rng(4)

    def seen(every_s: float, split: bool) -> KinematicHistory:
        times = np.arange(0.0, 300.0, every_s)
        heading = np.radians(np.clip(times - 100.0, 0.0, 60.0) * 3.0)
        velocity = np.stack([60 * np.sin(heading), 60 * np.cos(heading), 0 * times], 1)
        velocity += rng.normal(0.0, 1.0, velocity.shape) * [1, 1, 0]
        position = np.cumsum(velocity * every_s, axis=0)
        position[:, 2] = 1500.0
        height = np.full_like(times, 1500.0)
        if split:
            position[1::2] = np.nan
            height[1::2] = np.nan
        return KinematicHistory(times, position, velocity, height)

    dense, sparse = batch_features([seen(1.0, False), seen(5.0, True)])
    named = dict(zip(FEATURE_NAMES, zip(dense, sparse, strict=True), strict=True))
    print({name: (round(a, 2), round(b, 2)) for name, (a, b) in named.items()})
    assert named["turn_rate_p90_abs_dps"][0] == pytest.approx(3.0, abs=0.6)
    assert named["turn_rate_p90_abs_dps"][1] == pytest.approx(3.0, abs=0.6)
    for name in ("acceleration_median_mps2", "turn_rate_median_abs_dps", "speed_mean_mps"):
        a, b = named[name]
        assert abs(a - b) <= 0.25 * max(abs(a), abs(b)) + 0.05, (name, a, b)
    assert named["height_mean_m"][1] == pytest.approx(1500.0)
    assert named["path_straightness"][1] == pytest.approx(named["path_straightness"][0], abs=0.1)


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
