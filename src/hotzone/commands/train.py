"""``hotzone train``: simulate randomized scenarios, train and calibrate the classifier.

Each training example is one track history: a target of a known class flown by the
simulator's own trajectory model (`hotzone.sim.targets`) over a randomized route (speeds,
heights, turns, loiters, hovers, ballistic arcs drawn per class), then seen the way the
tracker reports it: sampled every 1-5 s with missed updates (Pd 0.7-1), position and
velocity noise of a filtered track, RCS samples when a radar saw it, and cooperative
identities with class-typical rates. Clutter (false tracks) is drawn directly as short
erratic tracks. Everything is seeded, so the same seed rebuilds the same model.

The model is written as JSON (`hotzone.assess.classifier`) with a model card beside it.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotzone.commands.common import CommandError, Number, OutputFile, SubParsers

if TYPE_CHECKING:
    import numpy as np

    from hotzone.assess.features import KinematicHistory
    from hotzone.assess.training import Evaluation
    from hotzone.types import TargetClass

DEFAULT_SEED = 20250314
DEFAULT_PER_CLASS = 700
QUICK_PER_CLASS = 120
# Seeds the bench and the tests hold out: training never uses seeds at or above this.
HELD_OUT_SEED_BASE = 1_000_000_000
TRAINING_SEED = Number(0, HELD_OUT_SEED_BASE - 1, integer=True)
PER_CLASS = Number(10, 1_000_000, integer=True)


@dataclass(frozen=True)
class ClassProfile:
    """How one class is drawn: RCS (dBsm mean, spread) and cooperative identity rates."""

    rcs_dbsm: tuple[float, float]
    icao_probability: float = 0.0
    callsign_probability: float = 0.0
    mmsi_probability: float = 0.0


def class_profiles() -> dict[TargetClass, ClassProfile]:
    from hotzone.types import TargetClass as C

    return {
        C.AIRLINER: ClassProfile((20.0, 4.0), 0.95, 0.95),
        C.LIGHT_AIRCRAFT: ClassProfile((3.0, 4.0), 0.6, 0.5),
        C.HELICOPTER: ClassProfile((8.0, 4.0), 0.6, 0.5),
        C.SMALL_UAV: ClassProfile((-17.0, 6.0)),
        C.ONE_WAY_ATTACK_DRONE: ClassProfile((-5.0, 3.0)),
        C.CRUISE_MISSILE: ClassProfile((-10.0, 3.0)),
        C.BALLISTIC_MISSILE: ClassProfile((-5.0, 3.0)),
        C.BIRD_FLOCK: ClassProfile((-15.0, 5.0)),
        C.GROUND_VEHICLE: ClassProfile((10.0, 4.0)),
        C.PERSON: ClassProfile((0.0, 3.0)),
        C.VESSEL: ClassProfile((32.0, 6.0), 0.0, 0.6, 0.8),
        C.CLUTTER: ClassProfile((0.0, 8.0)),
    }


# --------------------------------------------------------------------------- routes


def _route(target_class: TargetClass, rng: np.random.Generator) -> tuple[float, float, list[Any]]:
    """(speed m/s, start height m, legs) of one randomized target of ``target_class``."""
    from hotzone.sim.targets import BallisticLeg, LoiterLeg, StraightLeg, TurnLeg, WaitLeg
    from hotzone.sim.units import AngularRate, Distance, Duration, Speed
    from hotzone.types import TargetClass as C

    def u(low: float, high: float) -> float:
        return float(rng.uniform(low, high))

    def straight(seconds: float, vertical: float = 0.0, speed: float | None = None) -> Any:
        return StraightLeg(
            duration=Duration(seconds),
            vertical_rate=Speed(vertical),
            speed=None if speed is None else Speed(speed),
        )

    def turn(change: float, rate: float, speed: float | None = None) -> Any:
        return TurnLeg(
            heading_change_deg=change,
            turn_rate=AngularRate(rate),
            speed=None if speed is None else Speed(speed),
        )

    def loiter(seconds: float, radius: float, racetrack: bool) -> Any:
        return LoiterLeg(
            duration=Duration(seconds),
            radius=Distance(radius),
            pattern="racetrack" if racetrack else "circle",
            length=Distance(u(1000, 5000) if racetrack else 0.0),
            direction="left" if rng.random() < 0.5 else "right",
        )

    def sign() -> float:
        return 1.0 if rng.random() < 0.5 else -1.0

    ground = u(0.0, 350.0)
    if target_class == C.AIRLINER:
        if rng.random() < 0.7:
            speed, height = u(200, 260), u(8000, 12500)
            legs = [
                straight(u(200, 900)),
                turn(sign() * u(5, 40), u(0.5, 2)),
                straight(u(200, 600)),
            ]
        else:
            speed, height = u(110, 200), u(1500, 8000)
            rate = sign() * u(4, 15)
            legs = [
                straight(u(150, 500), rate),
                turn(sign() * u(10, 60), u(1, 3)),
                straight(u(100, 400), rate),
            ]
    elif target_class == C.LIGHT_AIRCRAFT:
        speed, height = u(28, 75), ground + u(300, 3000)
        style = rng.random()
        if style < 0.3:  # a glider thermalling, then gliding on
            speed = u(22, 38)
            legs = [loiter(u(120, 600), u(60, 200), False), straight(u(60, 300), -u(0.5, 2))]
        elif style < 0.55:
            legs = [loiter(u(200, 700), u(300, 1500), rng.random() < 0.5)]
        else:
            legs = [
                straight(u(100, 500), sign() * u(0, 3)),
                turn(sign() * u(20, 180), u(2, 6)),
                straight(u(100, 400)),
            ]
    elif target_class == C.HELICOPTER:
        speed, height = u(20, 75), ground + u(60, 1000)
        if rng.random() < 0.5:
            legs = [
                straight(u(60, 300)),
                turn(sign() * u(30, 180), u(4, 12)),
                WaitLeg(duration=Duration(u(30, 240))),
                straight(u(60, 300)),
            ]
        else:
            legs = [
                straight(u(100, 400), sign() * u(0, 4)),
                turn(sign() * u(20, 120), u(3, 10)),
                straight(u(100, 400)),
            ]
    elif target_class == C.SMALL_UAV:
        speed, height = u(8, 40), ground + u(40, 1200)
        if rng.random() < 0.6:
            legs = [straight(u(30, 200)), loiter(u(200, 700), u(80, 2000), rng.random() < 0.4)]
        else:
            legs = [straight(u(60, 300)), turn(sign() * u(30, 180), u(5, 20)), straight(u(60, 300))]
    elif target_class == C.ONE_WAY_ATTACK_DRONE:
        speed, height = u(38, 62), ground + u(50, 900)
        legs = [
            straight(u(100, 500), sign() * u(0, 1)),
            turn(sign() * u(5, 60), u(1, 4)),
            straight(u(100, 500)),
        ]
    elif target_class == C.CRUISE_MISSILE:
        speed, height = u(200, 290), ground + u(15, 150)
        legs = [straight(u(60, 300)), turn(sign() * u(10, 70), u(1, 5)), straight(u(60, 300))]
    elif target_class == C.BALLISTIC_MISSILE:
        speed, height = 0.0, ground
        distance = u(80_000, 500_000)
        bearing = u(0, 2 * math.pi)
        legs = [BallisticLeg(lat_deg=0.0, lon_deg=0.0, apogee=Distance(distance * u(0.2, 0.5)))]
        return speed, height, [*legs, (distance * math.sin(bearing), distance * math.cos(bearing))]
    elif target_class == C.BIRD_FLOCK:
        speed, height = u(6, 22), ground + u(20, 1500)
        legs = []
        for _ in range(int(rng.integers(3, 8))):
            legs += [
                straight(u(20, 120), sign() * u(0, 1.5)),
                turn(sign() * u(5, 90), u(2, 15), u(6, 22)),
            ]
    elif target_class == C.GROUND_VEHICLE:
        speed, height = u(3, 30), ground
        legs = [straight(u(30, 200)), turn(sign() * u(30, 120), u(8, 30)), straight(u(30, 200))]
        if rng.random() < 0.3:
            legs.insert(1, WaitLeg(duration=Duration(u(20, 200))))
    elif target_class == C.PERSON:
        speed, height = u(0.6, 2.2), ground
        legs = [straight(u(60, 300)), turn(sign() * u(20, 150), u(5, 30)), straight(u(60, 300))]
        if rng.random() < 0.3:
            legs.insert(1, WaitLeg(duration=Duration(u(20, 120))))
    else:  # vessel
        speed, height = u(0.5, 12), u(0, 35)
        if rng.random() < 0.25:
            speed = u(0.5, 3)
            legs = [loiter(u(600, 1500), u(200, 800), rng.random() < 0.5)]
        else:
            legs = [
                straight(u(200, 900)),
                turn(sign() * u(5, 60), u(0.2, 1.5)),
                straight(u(200, 900)),
            ]
    return speed, height, legs


def simulate_histories(
    target_class: TargetClass, count: int, rng: np.random.Generator
) -> list[KinematicHistory]:
    """``count`` randomized track histories of one class, seen as the tracker reports them."""
    from hotzone.types import TargetClass as C

    if target_class == C.CLUTTER:
        return [_clutter_history(rng) for _ in range(count)]
    return [_target_history(target_class, rng, index) for index in range(count)]


def _target_history(
    target_class: TargetClass, rng: np.random.Generator, index: int
) -> KinematicHistory:
    import numpy as np

    from hotzone.geo import LocalFrame
    from hotzone.sim.targets import BallisticLeg, Place, TargetSpec, build_targets
    from hotzone.sim.units import Distance, Speed
    from hotzone.types import StandardIdentity

    latitude, longitude = float(rng.uniform(44, 62)), float(rng.uniform(18, 32))
    frame = LocalFrame(latitude, longitude, 0.0)
    speed, height, legs = _route(target_class, rng)
    if legs and isinstance(legs[-1], tuple):
        east, north = legs.pop()
        lat, lon, _ = frame.enu_to_geodetic(np.array([[east, north, 0.0]]))
        ballistic = legs[0]
        legs = [BallisticLeg(lat_deg=float(lat[0]), lon_deg=float(lon[0]), apogee=ballistic.apogee)]
    spec = TargetSpec(
        id=f"t{index}",
        cls=target_class,
        affiliation=StandardIdentity.UNKNOWN,
        position=Place(lat_deg=latitude, lon_deg=longitude, altitude=Distance(height)),
        route=legs,
        speed=Speed(speed),
        heading_deg=float(rng.uniform(0, 360)),
    )
    targets = build_targets([spec], frame, 0.0)
    # The whole life on a 1 s grid, then a window of it as the track would have seen it.
    grid = np.arange(0.0, 4000.0, 1.0)
    states = targets.evaluate(grid)
    alive = np.flatnonzero(states.alive[:, 0])
    life = grid[alive]
    window = float(rng.uniform(40.0, 600.0))
    start = float(rng.uniform(life[0], max(life[0], life[-1] - window)))
    return _observed(
        target_class,
        rng,
        life,
        states.enu_position_m[alive, 0],
        states.enu_velocity_mps[alive, 0],
        states.height_m[alive, 0],
        start,
        window,
    )


def _observed(
    target_class: TargetClass,
    rng: np.random.Generator,
    times: np.ndarray[Any, Any],
    position: np.ndarray[Any, Any],
    velocity: np.ndarray[Any, Any],
    height: np.ndarray[Any, Any],
    start: float,
    window: float,
) -> KinematicHistory:
    import numpy as np

    from hotzone.assess.features import KinematicHistory

    update = float(rng.uniform(1.0, 5.0))
    sample_times = np.arange(start, min(start + window, times[-1]) + 1e-9, update)
    detection_probability = float(rng.uniform(0.7, 1.0))
    kept = sample_times[rng.random(len(sample_times)) < detection_probability]
    if len(kept) < 3:
        kept = sample_times[: max(3, len(kept))]
    rows = np.clip(np.searchsorted(times, kept), 0, len(times) - 1)
    count = len(rows)
    position_sigma = float(rng.uniform(5.0, 120.0))
    velocity_sigma = float(rng.uniform(0.2, 3.0)) + 0.02 * float(np.nanmean(np.abs(velocity)))
    # Filtered tracks wander slowly: the velocity error is a smoothed random walk.
    velocity_error = rng.normal(0.0, velocity_sigma, (count, 3))
    for k in range(1, count):
        velocity_error[k] = 0.7 * velocity_error[k - 1] + 0.3 * velocity_error[k]
    velocity_error[:, 2] *= 0.5
    noisy_position = position[rows] + rng.normal(0.0, position_sigma, (count, 3)) * [1, 1, 0.5]
    noisy_height = height[rows] + rng.normal(0.0, position_sigma * 0.5, count)
    profile = class_profiles()[target_class]
    rcs = np.zeros(0)
    if rng.random() < 0.75:
        mean, spread = profile.rcs_dbsm
        rcs = rng.normal(
            mean + rng.normal(0.0, spread), float(rng.uniform(1.0, 4.0)), int(rng.integers(3, 30))
        )
    return KinematicHistory(
        times_s=times[rows].astype(np.float64),
        enu_position_m=noisy_position,
        enu_velocity_mps=velocity[rows] + velocity_error,
        height_m=noisy_height,
        rcs_dbsm=rcs,
        has_icao24=bool(rng.random() < profile.icao_probability),
        has_callsign=bool(rng.random() < profile.callsign_probability),
        has_mmsi=bool(rng.random() < profile.mmsi_probability),
    )


def _clutter_history(rng: np.random.Generator) -> KinematicHistory:
    """A false track: a few scattered plots joined, erratic velocity, short life."""
    import numpy as np

    from hotzone.types import TargetClass as C

    count = int(rng.integers(4, 40))
    update = float(rng.uniform(1.0, 5.0))
    times = np.arange(count) * update
    scatter = float(rng.uniform(50.0, 800.0))
    position = rng.normal(0.0, scatter, (count, 3))
    position[:, 2] = rng.uniform(0.0, 4000.0) + rng.normal(0.0, scatter * 0.3, count)
    velocity = np.vstack([np.zeros((1, 3)), np.diff(position, axis=0) / update])
    velocity *= rng.uniform(0.2, 0.8)
    height = position[:, 2].copy()
    return _observed(C.CLUTTER, rng, times, position, velocity, height, 0.0, float(times[-1]))


def build_dataset(
    per_class: int, seed: int, progress: Callable[[str], None] | None = None
) -> tuple[np.ndarray[Any, Any], list[TargetClass]]:
    """Features and labels of ``per_class`` randomized histories of every trained class."""
    import numpy as np

    from hotzone.assess.features import batch_features

    features: list[np.ndarray[Any, Any]] = []
    labels: list[TargetClass] = []
    classes = list(class_profiles())
    for position, target_class in enumerate(classes):
        rng = np.random.default_rng([seed, position])
        histories = simulate_histories(target_class, per_class, rng)
        features.append(batch_features(histories))
        labels += [target_class] * len(histories)
        if progress is not None:
            progress(f"{target_class}: {len(histories)} histories")
    return np.vstack(features), labels


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
    from hotzone.assess.training import TrainingConfig, evaluate, fit_classifier

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
