"""The scenario facts assessment needs, as plain data the runtime builds from a scenario."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DefendedAssetSpec:
    """A place to defend: a threat is measured by how close and how soon it gets here."""

    name: str
    lat_deg: float
    lon_deg: float
    radius_m: float
    height_m: float = 0.0
    kind: str = ""


@dataclass(frozen=True)
class BorderSpec:
    """A border line; ``countries`` are the states on either side, e.g. ("PL", "BY")."""

    name: str
    countries: tuple[str, str]
    points: tuple[tuple[float, float], ...]
    """(lat_deg, lon_deg) vertices."""


@dataclass(frozen=True)
class InfrastructureSpec:
    """A subsea cable or pipeline watched for loitering vessels."""

    name: str
    kind: str
    points: tuple[tuple[float, float], ...]
    """(lat_deg, lon_deg) vertices."""


@dataclass(frozen=True)
class AssessmentContext:
    """What the assessment stage knows of the situation besides the messages."""

    home_countries: tuple[str, ...] = ()
    """ISO codes of the defending nations (territory to protect)."""
    hostile_countries: tuple[str, ...] = ()
    """ISO codes of states from which a crossing makes a track suspect or hostile."""
    assets: tuple[DefendedAssetSpec, ...] = ()
    borders: tuple[BorderSpec, ...] = ()
    infrastructure: tuple[InfrastructureSpec, ...] = ()
    friendly_icao24: frozenset[str] = field(default_factory=frozenset)
    """Mode S addresses of own and allied aircraft (blue force)."""
    friendly_callsign_prefixes: tuple[str, ...] = ()
    """Callsign prefixes of own state aircraft, e.g. ("SG", "PLF")."""
    friendly_mmsi: frozenset[int] = field(default_factory=frozenset)
