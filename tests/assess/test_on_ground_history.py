"""States whose track says it is on the ground (`Track.on_ground`, the feed's own flag) are
left out of the history the classifier reads (issue 15, item 4; docs/assess.md, "The
feed's ground flag")."""

from __future__ import annotations

import msgspec
import numpy as np

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.features import GROUND_PHASE_MIN_STATES, batch_features
from hotzone.assess.history import TrackHistories
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, TargetClass, Track, TrackStatus

from .helpers import at
from .real_adsb import KLM1302_TOUCHDOWN_S, histories_every, klm1302_sbs_lines, tracked

COVARIANCE = tuple(
    tuple(100.0 if row == column else 0.0 for column in range(6)) for row in range(6)
)


def _taxiing(index: int, on_ground: bool | None) -> Track:
    """A state every 10 s at 14 m/s and 5 m: above the speed rule's stop (12 m/s)."""
    return Track(
        track_id="taxi",
        track_number=1,
        time=at(10.0 * index),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=52.3, lon_deg=4.75, height_m=5.0),
        sector="s",
        enu_position_m=(0.0, 140.0 * index, 5.0),
        enu_velocity_mps=(0.0, 14.0, 0.0),
        covariance=COVARIANCE,
        quality=1.0,
        on_ground=on_ground,
    )


def test_states_the_track_flags_on_the_ground_are_left_out() -> None:
    histories = TrackHistories()
    flags = [False] * 8 + [None] * 4 + [True] * 10 + [None] * 3
    for index, flag in enumerate(flags):
        histories.add(_taxiing(index, flag))
    record = histories.records["taxi"]
    assert record.samples == len(flags) and list(record.on_ground) == [f is True for f in flags]
    history = histories.kinematic(record)
    kept = [10.0 * i for i, flag in enumerate(flags) if flag is not True]
    assert np.array_equal(history.times_s, at(0).timestamp() + np.array(kept))


def test_a_history_all_on_the_ground_is_kept_whole() -> None:
    histories = TrackHistories()
    count = GROUND_PHASE_MIN_STATES + 4
    for index in range(count):
        flag = index >= GROUND_PHASE_MIN_STATES - 1  # one airborne state too few
        histories.add(_taxiing(index, flag))
    assert histories.kinematic(histories.records["taxi"]).size == count


def test_klm1302s_taxi_after_landing_is_out_of_its_history() -> None:
    """The real arrival at Amsterdam through the tracker, with the feed's flags and with
    them stripped (what the classifier read before): every 5 minutes and at the end."""
    lines = klm1302_sbs_lines(KLM1302_TOUCHDOWN_S - 1200.0, KLM1302_TOUCHDOWN_S + 600.0)
    tracks = tracked(lines, LocalFrame(52.3, 4.75, 0.0))
    assert len({t.track_id for t in tracks}) == 1
    flagged_times = {t.time.timestamp() for t in tracks if t.on_ground}
    assert min(flagged_times) >= KLM1302_TOUCHDOWN_S
    stripped = [msgspec.structs.replace(t, on_ground=None) for t in tracks]
    before = histories_every(stripped, 300.0)
    after = histories_every(tracks, 300.0)
    model = TreeEnsembleClassifier.load()
    answers_before = model.classify(batch_features([h for _, _, h in before]))
    answers_after = model.classify(batch_features([h for _, _, h in after]))
    print("\nKLM1302 at Amsterdam, s after touchdown: states, answer (before -> after)")
    for (_, when, old), (_, _, new), was, now in zip(
        before, after, answers_before, answers_after, strict=True
    ):
        print(
            f"  {when - KLM1302_TOUCHDOWN_S:+6.0f}: {old.size} -> {new.size}, "
            f"{was.target_class.value} {was.confidence:.2f} -> "
            f"{now.target_class.value} {now.confidence:.2f}"
        )
        assert not flagged_times & set(new.times_s.tolist())
        if when < KLM1302_TOUCHDOWN_S:  # in the air: nothing flagged, nothing changes
            assert np.array_equal(old.times_s, new.times_s)
            assert now.target_class == was.target_class == TargetClass.AIRLINER
    # Taxiing at 13-15 m/s, above the speed rule's stop: the flag takes out what it kept.
    _, _, taxi_before = before[-2]
    _, _, taxi_after = after[-2]
    assert taxi_before.size - taxi_after.size >= 20
    assert set(taxi_before.times_s.tolist()) & flagged_times
