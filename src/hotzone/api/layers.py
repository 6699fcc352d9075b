"""The static layers of the map, as GeoJSON: sensors and their coverage, defended assets,
borders, GNSS-jamming areas from the scenario; effectors, no-fire areas and civil air
corridors from the scenario's c2 data (`hotzone.c2.config.load_c2_spec`) when it has one.

Circles are polygons of 64 points on the sphere (good to metres at these ranges).
"""

from __future__ import annotations

import math
from typing import Any

from hotzone.c2.config import C2ConfigError, c2_config_path, load_c2_spec
from hotzone.sim.scenario import Scenario

EARTH_RADIUS_M = 6_371_008.8
CIRCLE_POINTS = 64

Feature = dict[str, Any]


def circle(lat_deg: float, lon_deg: float, radius_m: float) -> list[list[float]]:
    """A closed ring of [lon, lat] points ``radius_m`` around a centre (great circles)."""
    lat0, lon0 = math.radians(lat_deg), math.radians(lon_deg)
    angular = radius_m / EARTH_RADIUS_M
    ring = []
    for index in range(CIRCLE_POINTS + 1):
        bearing = 2.0 * math.pi * index / CIRCLE_POINTS
        lat = math.asin(
            math.sin(lat0) * math.cos(angular)
            + math.cos(lat0) * math.sin(angular) * math.cos(bearing)
        )
        lon = lon0 + math.atan2(
            math.sin(bearing) * math.sin(angular) * math.cos(lat0),
            math.cos(angular) - math.sin(lat0) * math.sin(lat),
        )
        ring.append([round(math.degrees(lon), 5), round(math.degrees(lat), 5)])
    return ring


def _point(lat: float, lon: float, properties: dict[str, Any]) -> Feature:
    geometry = {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _polygon(ring: list[list[float]], properties: dict[str, Any]) -> Feature:
    geometry = {"type": "Polygon", "coordinates": [ring]}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _collection(features: list[Feature]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


# The line of sight each sensor model's simulation tests (`hotzone.sim.sensors`): radars a
# configured refraction factor, EO/IR the geometric horizon, passive RF and ADS-B the 4/3
# Earth; the others none.
_HORIZON_K = {"eo_ir_camera": 1.0, "passive_rf_detector": 4.0 / 3.0, "adsb_receiver": 4.0 / 3.0}
_COVERAGE_FIELDS = (
    "min_range_m",
    "max_range_m",
    "min_elevation_deg",
    "max_elevation_deg",
    "azimuth_center_deg",
    "azimuth_width_deg",
)


def sensor_coverage(sensor: Any) -> dict[str, float | None]:
    """The parameters of a sensor's coverage volume, as its model has them (None: no such
    limit): the page draws the coverage at the altitude the operator picks from these."""
    model = str(type(sensor).__struct_config__.tag)
    coverage: dict[str, float | None] = {"height_m": float(sensor.height_m)}
    for name in _COVERAGE_FIELDS:
        value = getattr(sensor, name, None)
        coverage[name] = float(value) if isinstance(value, float | int) else None
    k_factor = getattr(sensor, "refraction_k_factor", None) or _HORIZON_K.get(model)
    coverage["horizon_k_factor"] = None if k_factor is None else float(k_factor)
    return coverage


def scenario_layers(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """GeoJSON feature collections by layer name."""
    sensors: list[Feature] = []
    coverage: list[Feature] = []
    for sensor in scenario.sensors:
        model = str(type(sensor).__struct_config__.tag)
        properties = {"id": sensor.id, "model": model, "coverage": sensor_coverage(sensor)}
        sensors.append(_point(sensor.lat_deg, sensor.lon_deg, properties))
        max_range = getattr(sensor, "max_range_m", None)
        if isinstance(max_range, float | int) and max_range > 0:
            coverage.append(
                _polygon(circle(sensor.lat_deg, sensor.lon_deg, float(max_range)), properties)
            )
    assets = [
        _polygon(
            circle(a.position.lat_deg, a.position.lon_deg, float(a.radius)),
            {"name": a.name, "kind": a.kind},
        )
        for a in scenario.defended_assets
    ]
    borders = [
        {
            "type": "Feature",
            "properties": {"name": b.name, "countries": list(b.countries)},
            "geometry": {
                "type": "LineString",
                "coordinates": [[lon, lat] for lat, lon in b.points],
            },
        }
        for b in scenario.borders
    ]
    jamming = [
        _polygon(
            circle(j.center.lat_deg, j.center.lon_deg, float(j.radius)),
            {"name": j.name, "strength": j.strength},
        )
        for j in scenario.jamming_areas
    ]
    area = scenario.area
    corners = [
        [area.west_deg, area.south_deg],
        [area.east_deg, area.south_deg],
        [area.east_deg, area.north_deg],
        [area.west_deg, area.north_deg],
        [area.west_deg, area.south_deg],
    ]
    layers = {
        # The scenario's region: where the page opens its map.
        "area": _collection([_polygon(corners, {"name": scenario.name})]),
        "sensors": _collection(sensors),
        "coverage": _collection(coverage),
        "assets": _collection(assets),
        "borders": _collection(borders),
        "jamming": _collection(jamming),
    }
    layers.update(c2_layers(scenario))
    return layers


def c2_layers(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Effectors, no-fire areas and civil air corridors from the scenario's c2 data."""
    layers: dict[str, list[Feature]] = {"effectors": [], "no_fire_areas": [], "corridors": []}
    try:
        path = c2_config_path(scenario)
        if path is None:
            return {name: _collection(features) for name, features in layers.items()}
        spec = load_c2_spec(path)
    except C2ConfigError:
        return {name: _collection(features) for name, features in layers.items()}
    for effector in spec.effectors:
        properties = {
            "id": effector.id,
            "kind": str(effector.kind),
            "effect_class": str(effector.effect_class),
            "country": effector.country,
            "max_range_m": effector.max_range_m,
        }
        position = effector.position
        layers["effectors"].append(_point(position.lat_deg, position.lon_deg, properties))
    for roe in spec.roe:
        for target, areas in (
            ("no_fire_areas", roe.no_fire_areas),
            ("corridors", roe.civil_air_corridors),
        ):
            for area in areas:
                if len(area.points) < 3:
                    continue
                ring = [[lon, lat] for lat, lon in area.points]
                if ring[0] != ring[-1]:
                    ring.append(ring[0])
                layers[target].append(_polygon(ring, {"name": area.name, "sector": roe.sector}))
    return {name: _collection(features) for name, features in layers.items()}
