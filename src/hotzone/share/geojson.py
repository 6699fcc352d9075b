"""Tracks as GeoJSON (RFC 7946): the latest state of each track as a Point feature.

Coordinates are [longitude, latitude, height_m] (WGS-84, as RFC 7946 requires). When an
assessment of the track is known, the feature carries its class, standard identity and the
APP-6D symbol code, so any GIS can draw the picture.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from hotzone.share.symbols import sidc_for
from hotzone.types import Assessment, Track, TrackStatus


def track_feature(track: Track, assessment: Assessment | None = None) -> dict[str, Any]:
    east, north, up = track.enu_velocity_mps
    properties: dict[str, Any] = {
        "track_id": track.track_id,
        "track_number": track.track_number,
        "time": track.time.isoformat(),
        "status": str(track.status),
        "sector": track.sector,
        "speed_mps": math.hypot(east, north),
        "course_deg": math.degrees(math.atan2(east, north)) % 360.0,
        "vertical_rate_mps": up,
        "quality": track.quality,
        "sensors": list(track.sensors),
        "releasability": track.releasability,
    }
    for name in ("icao24", "mmsi", "callsign"):
        if (value := getattr(track, name)) is not None:
            properties[name] = value
    if assessment is not None:
        properties["class"] = str(assessment.target_class)
        properties["standard_identity"] = str(assessment.standard_identity)
        properties["threat_score"] = assessment.threat_score
        properties["sidc"] = sidc_for(assessment.target_class, assessment.standard_identity)
    position = track.position
    return {
        "type": "Feature",
        "id": track.track_id,
        "geometry": {
            "type": "Point",
            "coordinates": [position.lon_deg, position.lat_deg, position.height_m],
        },
        "properties": properties,
    }


def tracks_feature_collection(
    tracks: Iterable[Track], assessments: Mapping[str, Assessment] | None = None
) -> dict[str, Any]:
    """The latest state of every track that is not deleted, one feature each."""
    latest: dict[str, Track] = {}
    for track in tracks:
        known = latest.get(track.track_id)
        if known is None or track.time >= known.time:
            latest[track.track_id] = track
    assessments = assessments or {}
    features = [
        track_feature(track, assessments.get(track_id))
        for track_id, track in sorted(latest.items())
        if track.status != TrackStatus.DELETED
    ]
    return {"type": "FeatureCollection", "features": features}
