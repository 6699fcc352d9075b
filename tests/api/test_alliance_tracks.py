"""The picture of an alliance track: its nations, its national tracks marked under it, and
those tracks sent again when they join or leave it (the page then draws one per object)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from hotzone.api.picture import PictureState
from hotzone.types import (
    Assessment,
    GeoPoint,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
)
from hotzone.types.allied import name_allied_copy

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _track(
    track_id: str,
    seconds: float,
    label: str = "REL LT PL",
    contributions: tuple[str, ...] = (),
    status: TrackStatus = TrackStatus.CONFIRMED,
) -> Track:
    return Track(
        track_id=track_id,
        track_number=int(track_id.rsplit("-", 1)[1]),
        time=T0 + timedelta(seconds=seconds),
        status=status,
        position=GeoPoint(lat_deg=54.1, lon_deg=23.0, height_m=300.0),
        sector="alliance" if contributions else "suwalki",
        enu_position_m=(0.0, 0.0, 300.0),
        enu_velocity_mps=(10.0, 0.0, 0.0),
        covariance=tuple(tuple(100.0 if i == j else 0.0 for j in range(6)) for i in range(6)),
        quality=0.9,
        contributions=contributions,
        releasability=label,
    )


def test_an_alliance_track_covers_its_national_tracks_while_it_lasts() -> None:
    picture = PictureState(nation="LT")
    picture.ingest(_track("suwalki-1", 0))
    picture.ingest(name_allied_copy("hz.LT.ally.PL.trk.suwalki", _track("suwalki-1", 0)))
    assert picture.track_view(picture.tracks["suwalki-1"])["nations"] == ["LT"]
    assert picture.track_view(picture.tracks["PL:suwalki-1"])["nations"] == ["PL"]

    update = picture.ingest(_track("alliance-1", 1, contributions=("LT:suwalki-1", "PL:suwalki-1")))
    assert update is not None
    assert update["data"]["nations"] == ["LT", "PL"]
    # Contributions as the picture names them: LT's own by its id, PL's after PL.
    assert update["data"]["contributions"] == ["suwalki-1", "PL:suwalki-1"]
    # Both national tracks are sent again, now under the alliance track.
    covered = {u["data"]["track_id"]: u["data"]["fused_into"] for u in picture.pending_updates}
    assert covered == {"suwalki-1": "alliance-1", "PL:suwalki-1": "alliance-1"}
    picture.pending_updates.clear()
    # Their own updates keep saying so.
    update = picture.ingest(_track("suwalki-1", 1))
    assert update is not None and update["data"]["fused_into"] == "alliance-1"

    # PL's track leaves (the alliance track then ends): both are on their own again.
    picture.ingest(
        _track(
            "alliance-1",
            2,
            contributions=("LT:suwalki-1", "PL:suwalki-1"),
            status=TrackStatus.DELETED,
        )
    )
    uncovered = {u["data"]["track_id"]: u["data"]["fused_into"] for u in picture.pending_updates}
    assert uncovered == {"suwalki-1": None, "PL:suwalki-1": None}


def test_an_alliance_track_shows_what_its_own_contribution_was_assessed_to_be() -> None:
    picture = PictureState(nation="LT")
    for name, target_class in (
        ("suwalki-1", TargetClass.SMALL_UAV),
        ("PL:suwalki-7", TargetClass.BIRD_FLOCK),
    ):
        picture.ingest(
            Assessment(
                track_id=name,
                time=T0,
                class_probabilities={target_class.value: 1.0},
                target_class=target_class,
                standard_identity=StandardIdentity.HOSTILE,
                threat_score=0.7,
                releasability="REL LT PL",
            )
        )
    picture.ingest(_track("alliance-3", 1, contributions=("LT:suwalki-1", "PL:suwalki-7")))
    view = picture.track_view(picture.tracks["alliance-3"])
    assert (view["target_class"], view["standard_identity"]) == ("small_uav", "hostile")


def test_an_allies_copy_claiming_to_stand_for_own_tracks_hides_nothing() -> None:
    picture = PictureState(nation="LT")
    picture.ingest(_track("suwalki-1", 0))
    forged = _track("alliance-9", 1, contributions=("LT:suwalki-1", "PL:suwalki-1"))
    picture.ingest(name_allied_copy("hz.LT.ally.PL.trk.alliance", forged))
    assert picture.track_view(picture.tracks["suwalki-1"])["fused_into"] is None
    view = picture.track_view(picture.tracks["PL:alliance-9"])
    assert (view["contributions"], view["nations"]) == ([], ["PL"])
    # Even handed over without its subject, a copy's claim covers nothing.
    picture.ingest(msgspec.structs.replace(forged, track_id="PL:alliance-10"))
    assert picture.track_view(picture.tracks["suwalki-1"])["fused_into"] is None
