"""Closed vocabularies shared by every stage."""

from __future__ import annotations

import enum


class MeasurementKind(enum.StrEnum):
    """What a `Detection.values` vector means; units are fixed per kind.

    - ``cartesian``: (east_m, north_m, up_m) in the local ENU frame of the sensor position.
    - ``polar``: (range_m, azimuth_deg, elevation_deg); azimuth clockwise from true north,
      elevation above the local horizontal plane of the sensor.
    - ``bearing``: (azimuth_deg,) or (azimuth_deg, elevation_deg) from the sensor.
    - ``position``: (lat_deg, lon_deg, height_m) WGS-84; covariance in local ENU metres².
    - ``position_2d``: (lat_deg, lon_deg) WGS-84; covariance in local EN metres².
    """

    CARTESIAN = "cartesian"
    POLAR = "polar"
    BEARING = "bearing"
    POSITION = "position"
    POSITION_2D = "position_2d"


class TargetClass(enum.StrEnum):
    """Object classes hotzone simulates, classifies and symbolizes."""

    AIRLINER = "airliner"
    LIGHT_AIRCRAFT = "light_aircraft"
    HELICOPTER = "helicopter"
    SMALL_UAV = "small_uav"
    ONE_WAY_ATTACK_DRONE = "one_way_attack_drone"
    CRUISE_MISSILE = "cruise_missile"
    BALLISTIC_MISSILE = "ballistic_missile"
    BIRD_FLOCK = "bird_flock"
    GROUND_VEHICLE = "ground_vehicle"
    PERSON = "person"
    VESSEL = "vessel"
    CLUTTER = "clutter"
    UNKNOWN = "unknown"


class StandardIdentity(enum.StrEnum):
    """APP-6 / MIL-STD-2525 standard identity."""

    PENDING = "pending"
    UNKNOWN = "unknown"
    ASSUMED_FRIEND = "assumed_friend"
    FRIEND = "friend"
    NEUTRAL = "neutral"
    SUSPECT = "suspect"
    HOSTILE = "hostile"


class ReportSource(enum.StrEnum):
    """The cooperative or pre-tracked source of a `Report`."""

    ADSB = "adsb"
    AIS = "ais"
    COT = "cot"
    SAPIENT = "sapient"
    GMTI = "gmti"
    SYSTEM_TRACK = "system_track"
    BLUE_FORCE = "blue_force"


class EventKind(enum.StrEnum):
    """Non-kinematic observations."""

    CYBER_ALERT = "cyber_alert"
    LAUNCH = "launch"
    SENSOR_STATUS = "sensor_status"
    JAMMING = "jamming"
    PROXIMITY = "proximity"
    OBSERVATION = "observation"


class TrackStatus(enum.StrEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    DELETED = "deleted"


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class EffectClass(enum.StrEnum):
    """How much human control an effect needs (docs/architecture.md, "Trust")."""

    CUE = "cue"
    NON_KINETIC = "non_kinetic"
    KINETIC = "kinetic"


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class OperatorRole(enum.StrEnum):
    OBSERVER = "observer"
    OPERATOR = "operator"
    COMMANDER = "commander"


class RunMode(enum.StrEnum):
    """Chosen by the command that starts a run, recorded in it and shown on the page.

    Only a ``simulation`` (``hotzone demo``, simulated replays, tests) has simulated
    operators, and only there are their keys accepted (docs/architecture.md). An ``exercise``
    plays a simulated feed to real people; ``live`` is real inputs and real people.
    """

    SIMULATION = "simulation"
    EXERCISE = "exercise"
    LIVE = "live"
