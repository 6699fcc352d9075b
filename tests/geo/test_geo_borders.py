"""Country lookup and shared borders from the committed Natural Earth data."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from hotzone.geo.borders import (
    BORDERS_COVERAGE,
    border_between,
    country_codes,
    country_geometry,
    country_name,
    country_of,
)
from hotzone.geo.geodesic import geodesic_distance_m

REPO_ROOT = Path(__file__).resolve().parents[2]

# (lat, lon) of places whose country nobody disputes, and two points well out at sea.
PLACES = {
    "Warsaw": (52.2297, 21.0122, "PL"),
    "Suwałki": (54.1115, 22.9308, "PL"),
    "Vilnius": (54.6872, 25.2797, "LT"),
    "Kaunas": (54.8985, 23.9036, "LT"),
    "Grodno": (53.6694, 23.8131, "BY"),
    "Minsk": (53.9006, 27.5590, "BY"),
    "Kaliningrad": (54.7104, 20.4522, "RU"),
    "Bucharest": (44.4268, 26.1025, "RO"),
    "Constanța": (44.1598, 28.6348, "RO"),
    "Odesa": (46.4825, 30.7233, "UA"),
    "Kyiv": (50.4501, 30.5234, "UA"),
    "Chișinău": (47.0105, 28.8638, "MD"),
    "Baltic Sea off Gotland": (56.0, 19.5, ""),
    "Black Sea centre": (43.3, 34.0, ""),
}


def test_places_are_in_their_countries() -> None:
    lat = np.array([place[0] for place in PLACES.values()])
    lon = np.array([place[1] for place in PLACES.values()])
    expected = [place[2] for place in PLACES.values()]
    answers = country_of(lat, lon)
    assert dict(zip(PLACES, answers.tolist(), strict=True)) == dict(
        zip(PLACES, expected, strict=True)
    )


def test_crimea_is_ukraine() -> None:
    """Natural Earth draws the de facto line; ISO 3166 and the UN place Crimea in Ukraine."""
    simferopol, sevastopol = (44.9521, 34.1024), (44.6167, 33.5254)
    answers = country_of([simferopol[0], sevastopol[0]], [simferopol[1], sevastopol[1]])
    assert answers.tolist() == ["UA", "UA"]


def test_shapes_follow_the_input() -> None:
    grid = country_of(np.full((2, 3), 52.2297), np.full((2, 3), 21.0122))
    assert grid.shape == (2, 3)
    assert np.all(grid == "PL")
    scalar = country_of(54.6872, 25.2797)
    assert scalar.shape == ()
    assert str(scalar) == "LT"
    assert country_of(np.array([]), np.array([])).shape == (0,)


def test_longitude_is_wrapped() -> None:
    assert str(country_of(52.2297, 21.0122 + 360.0)) == "PL"
    assert str(country_of(52.2297, 21.0122 - 720.0)) == "PL"


@pytest.mark.parametrize(
    ("lat", "lon", "named"),
    [(95.0, 20.0, "lat_deg"), (float("nan"), 20.0, "lat_deg"), (50.0, float("inf"), "lon_deg")],
)
def test_bad_coordinates_are_refused(lat: float, lon: float, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        country_of([50.0, lat], [20.0, lon])


def test_eastern_flank_countries_are_all_there() -> None:
    codes = set(country_codes())
    flank = {"NO", "FI", "EE", "LV", "LT", "PL", "SK", "HU", "RO", "BG", "TR", "GR"}
    neighbours = {"RU", "BY", "UA", "MD", "GE"}
    assert flank | neighbours <= codes
    assert all(len(code) == 2 and code.isupper() for code in codes)
    assert country_name("pl") == "Poland"


def test_country_geometry_is_valid_and_contains_capital() -> None:
    poland = country_geometry("PL")
    assert poland.is_valid
    assert poland.contains(_lonlat_point(PLACES["Warsaw"]))
    # Northern Cyprus is merged into Cyprus, leaving one valid area for the island.
    cyprus = country_geometry("CY")
    assert cyprus.is_valid
    assert cyprus.contains(_lonlat_point((35.1856, 33.3823, "")))  # Nicosia


def _lonlat_point(place: tuple[float, float, str]):  # type: ignore[no-untyped-def]
    import shapely

    return shapely.Point(place[1], place[0])


def _geodesic_length_km(line) -> float:  # type: ignore[no-untyped-def]
    total = 0.0
    for part in getattr(line, "geoms", [line]):
        lon, lat = np.asarray(part.coords).T
        total += float(np.sum(geodesic_distance_m(lat[:-1], lon[:-1], lat[1:], lon[1:])))
    return total / 1000.0


# Tripoints (lat, lon) from survey, to the ~1 km the 1:50m map is drawn to.
PL_LT_BY = (53.950, 23.514)
PL_BY_UA = (51.515, 23.605)
LV_LT_BY = (55.669, 26.630)
FI_NO_RU = (69.051, 28.929)


@pytest.mark.parametrize(
    ("first", "second", "tripoints", "official_km"),
    [
        ("PL", "BY", (PL_LT_BY, PL_BY_UA), 418.0),
        ("LT", "BY", (LV_LT_BY, PL_LT_BY), 679.0),
        ("FI", "RU", (FI_NO_RU,), 1340.0),
    ],
)
def test_border_runs_between_its_tripoints(
    first: str,
    second: str,
    tripoints: tuple[tuple[float, float], ...],
    official_km: float,
) -> None:
    border = border_between(first, second)
    assert border.geom_type == "LineString"
    lon, lat = np.asarray(border.coords)[[0, -1]].T
    for tripoint_lat, tripoint_lon in tripoints:
        distance_to_ends = geodesic_distance_m(tripoint_lat, tripoint_lon, lat, lon)
        assert np.min(distance_to_ends) < 10e3
    # A generalized line cuts the meanders, so it is shorter than the surveyed border but
    # never shorter than the straight line between its ends.
    ends_apart_km = float(geodesic_distance_m(lat[0], lon[0], lat[1], lon[1])) / 1000.0
    assert ends_apart_km < _geodesic_length_km(border) < official_km
    assert border_between(second, first).equals(border)


def test_kaliningrad_border_with_poland() -> None:
    border = border_between("pl", "ru")
    lon, lat = np.asarray(border.coords).T
    # The line runs east-west along about 54.4 N from the Vistula Lagoon to the tripoint
    # with Lithuania near Wiżajny.
    assert np.all(np.abs(lat - 54.4) < 0.1)
    assert lon.min() < 19.8 and lon.max() > 22.6


def test_pl_by_border_separates_the_two_countries() -> None:
    """Step 4 km west and east off the border's vertices: Poland on one side, Belarus on the
    other (the line runs roughly north-south)."""
    border = border_between("PL", "BY")
    lon, lat = np.asarray(border.coords)[5:-5].T
    west = country_of(lat, lon - 0.06)
    east = country_of(lat, lon + 0.06)
    assert np.mean(west == "PL") > 0.9
    assert np.mean(east == "BY") > 0.9


def test_border_ends_at_tripoints() -> None:
    """The PL–BY line ends where Lithuania and Ukraine begin."""
    border = border_between("PL", "BY")
    ends = np.asarray(border.coords)[[0, -1]]
    near_ends = set()
    for lon, lat in ends:
        ring_lat = lat + 0.03 * np.sin(np.linspace(0.0, 2.0 * np.pi, 24))
        ring_lon = lon + 0.05 * np.cos(np.linspace(0.0, 2.0 * np.pi, 24))
        near_ends |= set(country_of(ring_lat, ring_lon).tolist())
    assert {"LT", "UA"} <= near_ends


def test_countries_across_the_sea_share_no_border() -> None:
    assert border_between("PL", "SE").is_empty
    assert border_between("LT", "LV").length > 0.0


@pytest.mark.parametrize(("first", "second"), [("PL", "ZZ"), ("PL", "pl"), ("", "BY")])
def test_border_between_refuses_bad_codes(first: str, second: str) -> None:
    with pytest.raises(ValueError, match="countr"):
        border_between(first, second)


def test_data_file_matches_declared_coverage() -> None:
    data_path = REPO_ROOT / "src" / "hotzone" / "geo" / "data" / "borders-europe.json"
    data = json.loads(data_path.read_text(encoding="utf-8"))
    assert tuple(data["selection_box"]) == BORDERS_COVERAGE


def test_import_does_no_work() -> None:
    """Loading the border file is deferred to the first query."""
    probe = (
        "import hotzone.geo, hotzone.geo.borders as borders; "
        "print(borders._atlas.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "0"


# --- the TopoJSON decoder in scripts/make_borders.py, on a topology small enough to check by
# hand: two rectangles sharing one edge.


def _make_borders_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_borders", REPO_ROOT / "scripts" / "make_borders.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY_TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.25], "translate": [20.0, 50.0]},
    # Quantized corners A=(0,0) B=(2,0) C=(2,4) D=(0,4) E=(4,0) F=(4,4); after the first
    # point every position is a delta from the previous one.
    "arcs": [
        [[2, 0], [0, 4]],  # B -> C, the shared edge
        [[2, 4], [-2, 0], [0, -4], [2, 0]],  # C -> D -> A -> B
        [[2, 0], [2, 0], [0, 4], [-2, 0]],  # B -> E -> F -> C
    ],
    "objects": {
        "countries": {
            "type": "GeometryCollection",
            "geometries": [
                {
                    "type": "Polygon",
                    "id": "616",
                    "properties": {"name": "Poland"},
                    "arcs": [[0, 1]],
                },
                {
                    "type": "MultiPolygon",
                    "id": "112",
                    "properties": {"name": "Belarus"},
                    "arcs": [[[2, -1]]],
                },
            ],
        }
    },
}


def test_decoder_turns_arcs_into_rings_and_shared_borders() -> None:
    make_borders = _make_borders_module()
    data = make_borders.build(json.loads(json.dumps(TINY_TOPOLOGY)))
    by_code = {feature["id"]: feature for feature in data["features"]}
    # lon = 20 + 0.5 q_x, lat = 50 + 0.25 q_y
    assert by_code["PL"]["geometry"]["coordinates"] == [
        [[[21.0, 50.0], [21.0, 51.0], [20.0, 51.0], [20.0, 50.0], [21.0, 50.0]]]
    ]
    assert by_code["BY"]["geometry"]["coordinates"] == [
        [[[21.0, 50.0], [22.0, 50.0], [22.0, 51.0], [21.0, 51.0], [21.0, 50.0]]]
    ]
    assert by_code["PL"]["properties"]["iso_n3"] == "616"
    assert len(data["borders"]) == 1
    border = data["borders"][0]
    assert border["properties"]["countries"] == ["BY", "PL"]
    assert border["geometry"]["coordinates"] == [[[21.0, 50.0], [21.0, 51.0]]]


def test_decoder_names_a_country_it_cannot_code() -> None:
    make_borders = _make_borders_module()
    topology = json.loads(json.dumps(TINY_TOPOLOGY))
    topology["objects"]["countries"]["geometries"][0]["id"] = "999"
    with pytest.raises(KeyError, match="Poland"):
        make_borders.build(topology)
