"""Radar sites by SAC/SIC, read from the sensors file (``--sensors FILE``).

A CAT048 plot is a range and an azimuth from its radar; without the radar's position it
cannot be placed, so an integrator lists every site, as for ARTAS::

    # sites.yaml: "SAC/SIC" -> site (decimal SAC and SIC)
    "25/201":
      lat_deg: 45.54
      lon_deg: 13.73
      height_m: 350.0            # antenna height above the WGS-84 ellipsoid
      sensor_id: radar-koper     # optional; default "asterix-25-201"
      range_sigma_m: 70.0        # optional, default 70 m
      azimuth_sigma_deg: 0.08    # optional, default 0.08 deg
      rotation_period_s: 4.0     # optional, for sensor-health checks
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import yaml

from hotzone.types import GeoPoint


class RadarSite(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One radar site of the sensors file."""

    lat_deg: float
    lon_deg: float
    height_m: float = 0.0
    sensor_id: str | None = None
    range_sigma_m: float = 70.0
    azimuth_sigma_deg: float = 0.08
    rotation_period_s: float | None = None

    @property
    def position(self) -> GeoPoint:
        return GeoPoint(lat_deg=self.lat_deg, lon_deg=self.lon_deg, height_m=self.height_m)


def default_sensor_id(sac: int, sic: int) -> str:
    return f"asterix-{sac}-{sic}"


class SiteTable:
    """Radar sites keyed by (SAC, SIC)."""

    def __init__(self, sites: dict[tuple[int, int], RadarSite] | None = None) -> None:
        self.sites = dict(sites or {})

    def get(self, sac: int, sic: int) -> RadarSite | None:
        return self.sites.get((sac, sic))

    def sensor_id(self, sac: int, sic: int) -> str:
        site = self.get(sac, sic)
        if site is not None and site.sensor_id:
            return site.sensor_id
        return default_sensor_id(sac, sic)

    @classmethod
    def from_file(cls, path: Path) -> SiteTable:
        """Read and check a sensors file; `ValueError` names the bad entry."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
        return cls.from_mapping(document if document is not None else {}, str(path))

    @classmethod
    def from_mapping(cls, document: object, origin: str = "sensors") -> SiteTable:
        if not isinstance(document, dict):
            raise ValueError(f"{origin}: expected a mapping of 'SAC/SIC' to sites")
        sites: dict[tuple[int, int], RadarSite] = {}
        for key, entry in document.items():
            sites[_parse_key(str(key), origin)] = _parse_site(entry, f"{origin}: {key}")
        return cls(sites)


def _parse_key(key: str, origin: str) -> tuple[int, int]:
    parts = key.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise ValueError(f"{origin}: site key {key!r} is not 'SAC/SIC' (e.g. '25/201')")
    sac, sic = int(parts[0]), int(parts[1])
    if sac > 255 or sic > 255:
        raise ValueError(f"{origin}: site key {key!r}: SAC and SIC must be 0-255")
    return sac, sic


def _parse_site(entry: object, where: str) -> RadarSite:
    try:
        site = msgspec.convert(entry, RadarSite)
    except msgspec.ValidationError as error:
        raise ValueError(f"{where}: {error}") from None
    if not (-90.0 <= site.lat_deg <= 90.0 and -180.0 <= site.lon_deg <= 180.0):
        raise ValueError(f"{where}: latitude/longitude out of range")
    if site.range_sigma_m <= 0 or site.azimuth_sigma_deg <= 0:
        raise ValueError(f"{where}: sigmas must be positive")
    return site
