"""Build src/hotzone/geo/data/borders-europe.json from Natural Earth via npm world-atlas.

Usage (from the repository root, after ``npm ci``):

    .venv/bin/python scripts/make_borders.py [node_modules/world-atlas/countries-50m.json]

world-atlas ships Natural Earth 1:50m admin-0 countries (public domain) as TopoJSON: every
border is stored once as an "arc" shared by the two countries on either side. This script
decodes that topology itself (numpy and json only, no topojson library):

* ``transform``: arcs are quantized; position = cumulative sum of integer deltas * scale
  + translate (the first point of an arc is absolute, the rest are deltas);
* a ring is a list of arc indices; index ``~i`` (negative) means arc ``i`` reversed; the
  first point of each following arc repeats the last point of the previous one;
* a Polygon is a list of rings (outer first), a MultiPolygon a list of Polygons.

It keeps the countries that touch the area of interest (see ``SELECTION_BOX``) with their
ISO 3166-1 alpha-2 code, and writes, besides their polygons, the shared border lines: an
arc used by exactly two different countries is (part of) the border between them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / "node_modules" / "world-atlas" / "countries-50m.json"
TARGET = REPO_ROOT / "src" / "hotzone" / "geo" / "data" / "borders-europe.json"

# (lon_min, lat_min, lon_max, lat_max): a country is kept when one of its parts meets this box.
SELECTION_BOX = (-25.0, 30.0, 50.0, 72.0)
# A kept country keeps its parts that meet this wider box (Canaries, Azores, Svalbard,
# Novaya Zemlya) and drops the rest (French Guiana, Russia's Pacific islands).
PART_BOX = (-35.0, 25.0, 70.0, 85.0)
# 1e-4 degree is ~11 m, far below the 1:50m quantization step (~200-400 m).
DECIMALS = 4

# ISO 3166-1 numeric (world-atlas ``id``) -> alpha-2, for the countries in SELECTION_BOX.
NUMERIC_TO_ALPHA2 = {
    "008": "AL", "012": "DZ", "020": "AD", "031": "AZ", "040": "AT", "051": "AM",
    "056": "BE", "070": "BA", "100": "BG", "112": "BY", "191": "HR", "196": "CY",
    "203": "CZ", "208": "DK", "233": "EE", "234": "FO", "246": "FI", "248": "AX",
    "250": "FR", "268": "GE", "275": "PS", "276": "DE", "300": "GR", "304": "GL",
    "348": "HU", "352": "IS", "364": "IR", "368": "IQ", "372": "IE", "376": "IL",
    "380": "IT", "398": "KZ", "400": "JO", "414": "KW", "422": "LB", "428": "LV",
    "434": "LY", "438": "LI", "440": "LT", "442": "LU", "470": "MT", "492": "MC",
    "498": "MD", "499": "ME", "504": "MA", "528": "NL", "578": "NO", "616": "PL",
    "620": "PT", "642": "RO", "643": "RU", "674": "SM", "682": "SA", "688": "RS",
    "703": "SK", "705": "SI", "724": "ES", "752": "SE", "756": "CH", "760": "SY",
    "788": "TN", "792": "TR", "804": "UA", "807": "MK", "818": "EG", "826": "GB",
    "831": "GG", "832": "JE", "833": "IM", "336": "VA",
}  # fmt: skip
# Natural Earth features without an ISO numeric id. Kosovo uses the code the EU and the
# ISO 3166 maintenance agency's users agree on (user-assigned "XK"); ISO has no code for
# Northern Cyprus, which is de jure part of the Republic of Cyprus.
NAME_TO_ALPHA2 = {"Kosovo": "XK", "N. Cyprus": "CY"}
# Parts that Natural Earth's de facto view gives to another country than ISO 3166 and the
# UN do: (from, to, a lon/lat point inside the part, reason). Crimea is Ukraine's under UN
# General Assembly resolution 68/262 and in ISO 3166-2:UA.
PART_REASSIGNMENTS = [("RU", "UA", (34.10, 44.95), "Crimea (UNGA res. 68/262)")]
# Display names where the alpha-2 code merges several Natural Earth features.
ALPHA2_NAME_OVERRIDE = {"CY": "Cyprus"}

FloatArray = NDArray[np.float64]
Ring = list[int]


def decode_arcs(topology: dict[str, Any]) -> list[FloatArray]:
    """Quantized, delta-encoded arcs -> (n, 2) arrays of lon, lat degrees."""
    scale = np.asarray(topology["transform"]["scale"], dtype=np.float64)
    translate = np.asarray(topology["transform"]["translate"], dtype=np.float64)
    return [
        np.cumsum(np.asarray(arc, dtype=np.int64), axis=0) * scale + translate
        for arc in topology["arcs"]
    ]


def arc_points(arcs: list[FloatArray], index: int) -> FloatArray:
    return arcs[index] if index >= 0 else arcs[~index][::-1]


def decode_ring(arcs: list[FloatArray], ring: Ring) -> FloatArray:
    pieces = [
        arc_points(arcs, index)[(0 if order == 0 else 1) :] for order, index in enumerate(ring)
    ]
    return np.concatenate(pieces)


def polygons_of(geometry: dict[str, Any]) -> list[list[Ring]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    raise ValueError(f"unexpected geometry type {geometry['type']!r}")


def meets(points: FloatArray, box: tuple[float, float, float, float]) -> bool:
    lon_min, lat_min, lon_max, lat_max = box
    return bool(
        points[:, 0].max() >= lon_min
        and points[:, 0].min() <= lon_max
        and points[:, 1].max() >= lat_min
        and points[:, 1].min() <= lat_max
    )


def ring_contains(ring: FloatArray, lon: float, lat: float) -> bool:
    """Even-odd ray casting towards +lon."""
    x0, y0 = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    straddles = (y0 > lat) != (y1 > lat)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing_lon = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
    return bool(np.count_nonzero(straddles & (crossing_lon > lon)) % 2)


def reassigned_code(code: str, outer: FloatArray) -> str:
    for source, target, (lon, lat), _reason in PART_REASSIGNMENTS:
        if code == source and ring_contains(outer, lon, lat):
            return target
    return code


def alpha2_of(geometry: dict[str, Any]) -> str:
    name = geometry["properties"]["name"]
    numeric = geometry.get("id")
    if numeric is None:
        if name not in NAME_TO_ALPHA2:
            raise KeyError(f"{name!r} has no ISO numeric id and no entry in NAME_TO_ALPHA2")
        return NAME_TO_ALPHA2[name]
    if numeric not in NUMERIC_TO_ALPHA2:
        raise KeyError(f"{name!r} (ISO numeric {numeric}) is missing from NUMERIC_TO_ALPHA2")
    return NUMERIC_TO_ALPHA2[numeric]


def rounded(points: FloatArray) -> list[list[float]]:
    return [[round(float(lon), DECIMALS), round(float(lat), DECIMALS)] for lon, lat in points]


def build(topology: dict[str, Any]) -> dict[str, Any]:
    arcs = decode_arcs(topology)
    polygons_by_code: dict[str, list[list[list[list[float]]]]] = {}
    names: dict[str, str] = {}
    numerics: dict[str, str] = {}
    arc_users: dict[int, set[str]] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        polygons = polygons_of(geometry)
        outers = [decode_ring(arcs, polygon[0]) for polygon in polygons]
        if not any(meets(outer, SELECTION_BOX) for outer in outers):
            continue
        country_code = alpha2_of(geometry)
        names[country_code] = ALPHA2_NAME_OVERRIDE.get(country_code, geometry["properties"]["name"])
        if geometry.get("id") is not None:
            numerics[country_code] = geometry["id"]
        for polygon, outer in zip(polygons, outers, strict=True):
            if not meets(outer, PART_BOX):
                continue
            code = reassigned_code(country_code, outer)
            polygons_by_code.setdefault(code, []).append(
                [rounded(decode_ring(arcs, ring)) for ring in polygon]
            )
            for ring in polygon:
                for index in ring:
                    arc_users.setdefault(index if index >= 0 else ~index, set()).add(code)

    lines_by_pair: dict[tuple[str, str], list[list[list[float]]]] = {}
    for index, users in sorted(arc_users.items()):
        if len(users) == 2:  # one country on each side: a land border
            first, second = sorted(users)
            lines_by_pair.setdefault((first, second), []).append(rounded(arcs[index]))

    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"iso_a2": code, "iso_n3": numerics.get(code, ""), "name": names[code]},
            "geometry": {"type": "MultiPolygon", "coordinates": polygons_by_code[code]},
        }
        for code in sorted(polygons_by_code)
    ]
    borders = [
        {
            "type": "Feature",
            "properties": {"countries": [first, second]},
            "geometry": {"type": "MultiLineString", "coordinates": lines},
        }
        for (first, second), lines in sorted(lines_by_pair.items())
    ]
    return {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:50m admin-0 countries (public domain), "
        "from npm world-atlas countries-50m.json",
        "selection_box": list(SELECTION_BOX),
        "features": features,
        "borders": borders,
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    if not source.exists():
        print(f"{source} not found: run `npm ci` at the repository root first", file=sys.stderr)
        return 1
    topology = json.loads(source.read_text(encoding="utf-8"))
    data = build(topology)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(
        f"wrote {TARGET.relative_to(REPO_ROOT)}: {len(data['features'])} countries, "
        f"{len(data['borders'])} borders, {TARGET.stat().st_size // 1024} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
