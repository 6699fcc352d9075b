"""A node's allied picture merged (`AlliedTrackFusion`): its own tracks and its allies'
copies of the same objects become one alliance track each, labelled no wider than any of
its contributions; an object one nation alone tracks stays that nation's track."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from hotzone.fusion.allied import AlliedTrackFusion
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, Track, TrackStatus, from_json
from hotzone.types.allied import contributing_nations, split_origin
from hotzone.types.labels import Label, LabelConflict, meet_all

FloatArray = NDArray[np.float64]
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FRAME = LocalFrame(54.10, 22.93, 150.0)
COVARIANCE = np.diag([20.0**2, 20.0**2, 30.0**2, 2.0**2, 2.0**2, 2.0**2])


def _straight(offset_east_m: float) -> Callable[[float], FloatArray]:
    def state(seconds: float) -> FloatArray:
        velocity = np.array([20.0, 5.0, 0.0])
        start = np.array([offset_east_m, 1_000.0, 300.0])
        return np.concatenate([start + velocity * seconds, velocity])

    return state


def _circling(seconds: float) -> FloatArray:
    """A drone on a 500 m circle (30 m/s): constant-velocity prediction over seconds is wrong."""
    rate = 30.0 / 500.0
    angle = rate * seconds
    position = np.array([500.0 * math.cos(angle), 500.0 * math.sin(angle), 300.0])
    velocity = np.array([-30.0 * math.sin(angle), 30.0 * math.cos(angle), 0.0])
    return np.concatenate([position, velocity])


def _track(
    name: str,
    seconds: float,
    state: FloatArray,
    label: str = "REL PL LT",
    error_m: float = 0.0,
) -> Track:
    """A national track; ``name`` is ``PL:suwalki-1`` for an allied copy, as the runtime
    hands it to the stage, or a bare id for an own one."""
    position = state[:3] + np.array([error_m, -error_m, 0.0])
    latitude, longitude, height = FRAME.enu_to_geodetic(position)
    _, track_id = split_origin(name)
    return Track(
        track_id=name,
        track_number=int(track_id.rsplit("-", 1)[1]),
        time=T0 + timedelta(seconds=seconds),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(
            lat_deg=float(latitude), lon_deg=float(longitude), height_m=float(height)
        ),
        sector="suwalki",
        enu_position_m=(float(position[0]), float(position[1]), float(position[2])),
        enu_velocity_mps=(float(state[3]), float(state[4]), float(state[5])),
        covariance=tuple(tuple(float(v) for v in row) for row in COVARIANCE),
        quality=0.9,
        sensors=("radar1",),
        releasability=label,
    )


def _fusion(releasability: str = "NATO") -> AlliedTrackFusion:
    return AlliedTrackFusion(
        nation="LT",
        common_frame=FRAME,
        sector_frames={"suwalki": FRAME},
        releasability=releasability,
    )


def _live(outputs: Sequence[Track]) -> list[Track]:
    return [t for t in outputs if t.status != TrackStatus.DELETED]


def test_own_tracks_and_allied_copies_of_the_same_objects_make_one_track_each() -> None:
    fusion = _fusion()
    first, second, pl_only = _straight(0.0), _straight(3_000.0), _straight(-4_000.0)
    for second_of_run in range(1, 8):
        at = float(second_of_run)
        window = [
            # LT's own tracks: a NATO one and a REL one.
            _track("suwalki-1", at, first(at), "NATO", error_m=8.0),
            _track("suwalki-2", at, second(at), "REL LT PL RO", error_m=-5.0),
            # PL's copies of both, and of an object LT does not track.
            _track("PL:suwalki-11", at, first(at), "REL PL LT"),
            _track("PL:suwalki-12", at, second(at), "REL LT PL DE"),
            _track("PL:suwalki-13", at, pl_only(at), "REL PL LT"),
        ]
        outputs = fusion.step(T0 + timedelta(seconds=at), window)
    alliance = {t.contributions: t for t in _live(outputs)}
    assert set(alliance) == {
        ("LT:suwalki-1", "PL:suwalki-11"),
        ("LT:suwalki-2", "PL:suwalki-12"),
    }
    for track in alliance.values():
        assert contributing_nations(track) == ["LT", "PL"]
        assert track.track_id.startswith("alliance-") and track.sector == "alliance"
    # Each label is the meet of its contributions' labels: who may receive both.
    assert alliance[("LT:suwalki-1", "PL:suwalki-11")].releasability == "REL LT PL"
    assert alliance[("LT:suwalki-2", "PL:suwalki-12")].releasability == "REL LT PL"
    # The object only PL tracks is in no alliance track: it stays PL's copy.
    assert all("PL:suwalki-13" not in t.contributions for t in outputs)
    # The fused position lies between the two nations' (CI of their estimates).
    fused = alliance[("LT:suwalki-1", "PL:suwalki-11")]
    truth = first(7.0)
    assert float(np.abs(np.array(fused.enu_position_m) - truth[:3]).max()) < 8.0


def test_copies_received_ahead_of_the_nodes_clock_are_fused_at_their_own_time() -> None:
    # A replaying ally runs ahead: its copies for 20 s arrive in the node's first window.
    fusion = _fusion()
    copies = [_track("PL:suwalki-5", s, _circling(s)) for s in range(1, 21)]
    for second in range(1, 21):
        window: list[Track] = copies if second == 1 else []
        window = [*window, _track("suwalki-3", second, _circling(second))]
        (fused,) = fusion.step(T0 + timedelta(seconds=second), window)
        # Errorless tracks of one time fuse to the truth; PL's copy of 19 s later,
        # predicted back along a straight line, would be hundreds of metres off.
        error = np.array(fused.enu_position_m) - _circling(second)[:3]
        assert float(np.abs(error).max()) < 1e-3, (second, error)


def test_an_alliance_track_is_deleted_once_when_it_stops_being_one() -> None:
    fusion = _fusion()
    keep = _straight(5_000.0)
    outputs: list[Track] = []
    for second in range(1, 15):
        at = float(second)
        window = [_track("suwalki-9", at, keep(at), "NATO")]
        if second <= 5:  # LT loses the drone after 5 s; PL keeps it
            window.append(_track("suwalki-1", at, _circling(at)))
        window.append(_track("PL:suwalki-2", at, _circling(at)))
        outputs += fusion.step(T0 + timedelta(seconds=at), window)
    deleted = [t for t in outputs if t.status == TrackStatus.DELETED]
    assert len(deleted) == 1
    assert deleted[0].contributions == ("LT:suwalki-1", "PL:suwalki-2")
    last_live = max(t.time for t in _live(outputs))
    # LT's track ended about report_gap_s (3 s) after its last report, judged on LT's clock.
    assert last_live - (T0 + timedelta(seconds=5)) <= timedelta(seconds=4)
    assert deleted[0].time > last_live


def test_alliance_tracks_are_never_fused_again() -> None:
    fusion = _fusion()
    outputs: list[Track] = []
    for second in range(1, 5):
        at = float(second)
        window = [
            _track("suwalki-1", at, _circling(at)),
            _track("PL:suwalki-2", at, _circling(at)),
            *_live(outputs),  # the node's own alliance tracks, as if read back
        ]
        outputs = fusion.step(T0 + timedelta(seconds=at), window)
        assert [t.contributions for t in outputs] == [("LT:suwalki-1", "PL:suwalki-2")]


NATIONS = ("LT", "PL", "RO", "DE")
LABELS = st.sampled_from(
    ["NATO", "NATIONAL LT", "NATIONAL PL", "REL LT PL", "REL LT RO", "REL PL RO", "REL LT PL DE"]
)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(LABELS, min_size=2, max_size=4),
    ceiling=st.sampled_from(["NATO", "REL LT PL", "REL LT PL RO DE", "NATIONAL LT"]),
)
def test_a_fused_track_is_never_labelled_wider_than_any_contribution(
    labels: list[str], ceiling: str
) -> None:
    # One object, tracked by LT and up to three allies, each track with its own label.
    fusion = _fusion(ceiling)
    outputs: list[Track] = []
    for second in range(1, 4):
        at = float(second)
        window = [
            _track(
                f"{'' if nation == 'LT' else nation + ':'}suwalki-{index + 1}",
                at,
                _circling(at),
                label,
                error_m=3.0 * index,
            )
            for index, (nation, label) in enumerate(zip(NATIONS, labels, strict=False))
        ]
        outputs += fusion.step(T0 + timedelta(seconds=at), window)
    label_of = {
        f"{nation}:suwalki-{index + 1}": label
        for index, (nation, label) in enumerate(zip(NATIONS, labels, strict=False))
    }
    for track in outputs:
        fused = Label.parse(track.releasability)
        contributions = [Label.parse(label_of[name]) for name in track.contributions]
        assert len(contributing_nations(track)) >= 2
        for label in [*contributions, Label.parse(ceiling)]:
            assert fused.within(label), (track.releasability, label.text)
        # ... and exactly the meet: no narrower than it needs to be either.
        assert fused == meet_all(contributions, Label.parse(ceiling))
    try:
        meet_all([Label.parse(label) for label in label_of.values()], Label.parse(ceiling))
    except LabelConflict:
        # Not all may be seen by one nation: never all of them in one track.
        assert all(len(t.contributions) < len(label_of) for t in outputs)
    else:
        assert outputs and all(len(t.contributions) == len(label_of) for t in outputs)


def test_a_copy_relabelled_to_share_no_nation_with_its_partner_leaves() -> None:
    fusion = _fusion()
    for second in range(1, 4):
        at = float(second)
        outputs = fusion.step(
            T0 + timedelta(seconds=at),
            [
                _track("suwalki-1", at, _circling(at), "NATO"),
                _track("PL:suwalki-2", at, _circling(at), "REL PL LT"),
            ],
        )
    assert [t.releasability for t in outputs] == ["REL LT PL"]
    # PL narrows its track to a label LT's is not compatible with: the alliance track goes.
    at = 4.0
    narrowed = _track("PL:suwalki-2", at, _circling(at), "REL PL RO")
    outputs = fusion.step(
        T0 + timedelta(seconds=at),
        [_track("suwalki-1", at, _circling(at), "NATIONAL LT"), narrowed],
    )
    assert [(t.status, t.releasability) for t in outputs] == [(TrackStatus.DELETED, "REL LT PL")]


def test_a_copy_that_cannot_be_fused_is_a_dead_letter_and_the_rest_goes_on() -> None:
    fusion = _fusion()
    broken = msgspec.structs.replace(
        _track("PL:suwalki-4", 1.0, _circling(1.0), "REL PL LT"),
        covariance=tuple(tuple(0.0 for _ in range(6)) for _ in range(6)),
    )
    outputs = fusion.step(
        T0 + timedelta(seconds=1),
        [
            _track("suwalki-1", 1.0, _circling(1.0)),
            _track("PL:suwalki-2", 1.0, _circling(1.0)),
            broken,
        ],
    )
    assert [t.contributions for t in outputs] == [("LT:suwalki-1", "PL:suwalki-2")]
    (letter,) = fusion.take_dead_letters()
    assert letter.reason == "track PL:suwalki-4: covariance is not positive definite"
    assert letter.releasability == "REL PL LT" and from_json(letter.raw) == broken
    assert fusion.take_dead_letters() == []
    # A copy dated an hour ahead would wait for ever: refused too.
    future = _track("PL:suwalki-6", 3_600.0, _circling(1.0))
    fusion.step(T0 + timedelta(seconds=2), [future])
    (letter,) = fusion.take_dead_letters()
    assert "dated 3598 s ahead of the node's clock" in letter.reason
