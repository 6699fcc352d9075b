"""TLE passes agree with skyfield; coverage of a zone; reconnaissance overflight warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from skyfield.api import EarthSatellite, load, wgs84

from hotzone.ingest.space import (
    TleError,
    Zone,
    coverage_windows,
    overflight_warnings,
    parse_tles,
    passes_over_point,
)
from hotzone.types import EventKind, GeoPoint

TLE = Path(__file__).parents[1] / "golden" / "space" / "iss-2008.tle"
START = datetime(2008, 9, 20, 12, 0, tzinfo=UTC)
END = START + timedelta(days=1)
SUWALKI = GeoPoint(lat_deg=54.1, lon_deg=22.93, height_m=150.0)


def _skyfield_passes(min_elevation: float) -> list[tuple[datetime, datetime]]:
    lines = TLE.read_text().splitlines()
    timescale = load.timescale(builtin=True)
    satellite = EarthSatellite(lines[1], lines[2], lines[0], timescale)
    observer = wgs84.latlon(SUWALKI.lat_deg, SUWALKI.lon_deg, SUWALKI.height_m)
    times, kinds = satellite.find_events(
        observer, timescale.from_datetime(START), timescale.from_datetime(END), min_elevation
    )
    rises = [t.utc_datetime() for t, kind in zip(times, kinds, strict=True) if kind == 0]
    sets = [t.utc_datetime() for t, kind in zip(times, kinds, strict=True) if kind == 2]
    return list(zip(rises, sets, strict=False))


@pytest.mark.parametrize("min_elevation", [0.0, 10.0])
def test_passes_agree_with_skyfield_within_a_second(min_elevation: float) -> None:
    (satellite,) = parse_tles(TLE.read_text())
    ours = passes_over_point(satellite, SUWALKI, START, END, min_elevation)
    theirs = _skyfield_passes(min_elevation)
    assert len(ours) == len(theirs) >= 3
    for window, (rise, setting) in zip(ours, theirs, strict=True):
        assert abs((window.rise - rise).total_seconds()) < 1.0
        assert abs((window.set - setting).total_seconds()) < 1.0
        assert window.rise < window.culmination < window.set
        assert window.max_elevation_deg >= min_elevation


def test_zone_coverage_contains_the_centre_passes() -> None:
    satellites = parse_tles(TLE.read_text())
    zone = Zone.circle("suwalki-gap", SUWALKI, radius_km=50.0)
    windows = coverage_windows(satellites, zone, START, END, min_elevation_deg=10.0)
    centre = passes_over_point(satellites[0], SUWALKI, START, END, 10.0)
    assert len(windows) >= len(centre)
    for inner in centre:  # a wider zone is covered at least while its centre is
        assert any(w.rise <= inner.rise and inner.set <= w.set for w in windows)


def test_overflight_warnings_only_for_adversary_satellites() -> None:
    satellites = parse_tles(TLE.read_text())
    zone = Zone.circle("suwalki-gap", SUWALKI, radius_km=50.0)
    windows = coverage_windows(satellites, zone, START, END)
    warnings = overflight_warnings(windows, zone, adversary=["iss (zarya)"])
    assert len(warnings) == len(windows) > 0
    assert all(w.kind is EventKind.OBSERVATION for w in warnings)
    assert "reconnaissance satellite ISS (ZARYA) over suwalki-gap" in warnings[0].summary
    assert overflight_warnings(windows, zone, adversary=["COSMOS 2558"]) == []


def test_bad_tles_are_refused_with_the_line_named() -> None:
    name, first, second = TLE.read_text().splitlines()
    broken = first[:68] + str((int(first[68]) + 1) % 10)
    with pytest.raises(TleError, match=r"TLE line 2 \(ISS \(ZARYA\)\): checksum"):
        parse_tles("\n".join([name, broken, second]))
    with pytest.raises(TleError, match="lacks its lines 1 and 2"):
        parse_tles(name + "\n" + first)
    with pytest.raises(TleError, match="expected 69 characters"):
        parse_tles("\n".join([name, first[:60], second]))
