"""Which country a position is in, and the land border two countries share.

The polygons are Natural Earth 1:50m admin-0 countries (public domain), cut down by
``scripts/make_borders.py`` to the countries meeting ``BORDERS_COVERAGE`` and committed as
``data/borders-europe.json`` (see ``data/README.md`` for the deviations from Natural
Earth). At 1:50m a border is drawn to a few hundred metres: good for "which nation's
airspace", not for a cadastral question a few metres from the line.

Nothing is read at import time: the first query loads the file and builds an STRtree
over every polygon part once; later queries reuse it. Geometries handed out are shapely
objects in (longitude, latitude) degrees, as in GeoJSON.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, shape

from hotzone.geo._checks import checked_positions

# (lon_min, lat_min, lon_max, lat_max): every country meeting this box is in the data file,
# so a "" answer inside it means sea (or a country's part left out of the 1:50m map).
# Outside it "" may also mean a country the file does not hold.
BORDERS_COVERAGE = (-25.0, 30.0, 50.0, 72.0)
_DATA_PACKAGE = "hotzone.geo"
_DATA_FILE = "borders-europe.json"
NO_COUNTRY = ""

CodeArray = NDArray[np.str_]


@dataclass(frozen=True)
class _Atlas:
    names: dict[str, str]
    part_codes: CodeArray
    """The country code of each polygon part, aligned with the STRtree's geometries."""
    tree: Any
    country_parts: dict[str, list[Any]]
    borders: dict[tuple[str, str], Any]


def _load_data() -> dict[str, Any]:
    text = resources.files(_DATA_PACKAGE).joinpath("data", _DATA_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@functools.cache
def _atlas() -> _Atlas:
    data = _load_data()
    names: dict[str, str] = {}
    country_parts: dict[str, list[Any]] = {}
    part_codes: list[str] = []
    parts: list[Any] = []
    for feature in data["features"]:
        code = feature["properties"]["iso_a2"]
        names[code] = feature["properties"]["name"]
        for polygon in shape(feature["geometry"]).geoms:
            # A few 1:50m rings touch themselves; repairing keeps point queries exact.
            valid = polygon if polygon.is_valid else shapely.make_valid(polygon)
            country_parts.setdefault(code, []).append(valid)
            part_codes.append(code)
            parts.append(valid)
    part_array = np.array(parts, dtype=object)
    shapely.prepare(part_array)
    borders = {
        _pair_key(*feature["properties"]["countries"]): shapely.line_merge(
            shape(feature["geometry"])
        )
        for feature in data["borders"]
    }
    return _Atlas(
        names=names,
        part_codes=np.array(part_codes, dtype=np.str_),
        tree=shapely.STRtree(part_array),
        country_parts=country_parts,
        borders=borders,
    )


def _pair_key(first: str, second: str) -> tuple[str, str]:
    return (first, second) if first <= second else (second, first)


def _known_code(code: str) -> str:
    normalized = code.strip().upper()
    atlas = _atlas()
    if normalized not in atlas.names:
        raise ValueError(
            f"unknown country code {code!r}: the border data holds ISO 3166-1 alpha-2 codes "
            f"{', '.join(sorted(atlas.names))}"
        )
    return normalized


def country_codes() -> tuple[str, ...]:
    """The ISO 3166-1 alpha-2 codes of every country in the data, sorted."""
    return tuple(sorted(_atlas().names))


def country_name(code: str) -> str:
    """Natural Earth's short name for a country code, e.g. "Poland" for "PL"."""
    return _atlas().names[_known_code(code)]


def country_of(lat_deg: ArrayLike, lon_deg: ArrayLike) -> CodeArray:
    """ISO 3166-1 alpha-2 code of the country at each position, "" at sea or off the map.

    Arrays in, an array of the broadcast shape out (0-d for scalars). A point exactly on a
    border gets one of the two countries. Codes are ISO's, so dependencies with their own
    code answer it (Åland "AX", Faroe Islands "FO", Greenland "GL", Jersey "JE").
    """
    lat, lon = checked_positions(lat_deg, lon_deg)
    wrapped_lon = (lon.ravel() + 180.0) % 360.0 - 180.0
    flat_lat = lat.ravel()
    codes = np.full(flat_lat.shape, NO_COUNTRY, dtype="<U2")
    atlas = _atlas()
    points = shapely.points(wrapped_lon, flat_lat)
    # The tree answers by bounding box; the exact test runs once per candidate country part
    # on all its candidate points together, against the prepared polygon.
    point_index, part_index = atlas.tree.query(points)
    for part in np.unique(part_index):
        candidates = point_index[part_index == part]
        undecided = candidates[codes[candidates] == NO_COUNTRY]
        if undecided.size == 0:
            continue
        inside = shapely.intersects_xy(
            atlas.tree.geometries[part], wrapped_lon[undecided], flat_lat[undecided]
        )
        codes[undecided[inside]] = atlas.part_codes[part]
    return codes.reshape(lat.shape)


def country_geometry(code: str) -> Polygon | MultiPolygon:
    """The country's area as one valid (Multi)Polygon in lon/lat degrees."""
    parts = _atlas().country_parts[_known_code(code)]
    return shapely.union_all(parts)


def border_between(first: str, second: str) -> LineString | MultiLineString:
    """The land border two countries share, in lon/lat degrees, merged into as few lines
    as possible; an empty MultiLineString when they share none (e.g. across the sea).

    >>> border_between("PL", "BY").geom_type
    'LineString'
    """
    first_code, second_code = _known_code(first), _known_code(second)
    if first_code == second_code:
        raise ValueError(f"a border needs two different countries; got {first!r} twice")
    border = _atlas().borders.get(_pair_key(first_code, second_code))
    if border is None:
        return MultiLineString()
    return border
