"""``hotzone space passes``: when space-based sensors cover the zone, as a timeline."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, InputFile, Number, SubParsers

if TYPE_CHECKING:
    from hotzone.ingest.space import Pass, Zone

TIMELINE_WIDTH = 48
HOURS = Number(0.0, 24 * 366.0, above_minimum=True, unit="hours")
ELEVATION_DEG = Number(-90.0, 90.0, unit="degrees")


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "space",
        help="space sensors: coverage windows over the zone from TLEs",
        description="Space-based sensors from TLE sets.",
    )
    actions = parser.add_subparsers(dest="space_command", metavar="ACTION", required=True)
    passes = actions.add_parser(
        "passes",
        help="coverage windows of each satellite over a zone, and overflight warnings",
        description="Predict when each satellite of the TLE file sees the zone (SGP4) and "
        "print the windows as a timeline; satellites named with --adversary get a "
        "reconnaissance overflight warning per pass.",
    )
    passes.add_argument(
        "--tle",
        type=InputFile("TLE file", "text"),
        required=True,
        help="TLE file (2- or 3-line sets)",
    )
    passes.add_argument(
        "--zone",
        required=True,
        help="a scenario (name or file: its area) or LAT,LON,RADIUS_KM",
    )
    passes.add_argument("--start", default=None, help="ISO 8601 UTC start (default: now)")
    passes.add_argument("--hours", type=HOURS, default=24.0, help="window length (24)")
    passes.add_argument(
        "--min-elevation", type=ELEVATION_DEG, default=10.0, help="degrees above the horizon (10)"
    )
    passes.add_argument(
        "--adversary", action="append", default=[], help="adversary satellite name (repeat)"
    )
    passes.set_defaults(run=run)


def parse_zone(text: str) -> Zone:
    """``LAT,LON,RADIUS_KM`` -> a circle; anything else names a scenario (its area box)."""
    from hotzone.ingest.space import Zone
    from hotzone.types import GeoPoint

    parts = text.split(",")
    if len(parts) == 3:
        try:
            lat, lon, radius = (float(part) for part in parts)
            if not all(math.isfinite(value) for value in (lat, lon, radius)):
                raise ValueError("expected finite numbers")
            return Zone.circle(text, GeoPoint(lat_deg=lat, lon_deg=lon), radius)
        except ValueError as error:
            raise CommandError(f"--zone {text!r}: {error}") from None
    from hotzone.sim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(text)
    except ScenarioError as error:
        raise CommandError(f"--zone: not LAT,LON,RADIUS_KM nor a scenario: {error}") from None
    area = scenario.area
    corners = [
        GeoPoint(lat_deg=area.south_deg, lon_deg=area.west_deg),
        GeoPoint(lat_deg=area.south_deg, lon_deg=area.east_deg),
        GeoPoint(lat_deg=area.north_deg, lon_deg=area.east_deg),
        GeoPoint(lat_deg=area.north_deg, lon_deg=area.west_deg),
    ]
    return Zone.polygon(scenario.name, corners)


def timeline(window: Pass, start: datetime, end: datetime) -> str:
    """A fixed-width bar placing the window within [start, end]."""
    span = (end - start).total_seconds()
    first = int((window.rise - start).total_seconds() / span * TIMELINE_WIDTH)
    last = int((window.set - start).total_seconds() / span * TIMELINE_WIDTH)
    first = min(max(first, 0), TIMELINE_WIDTH - 1)
    last = min(max(last, first), TIMELINE_WIDTH - 1)
    return "." * first + "#" * (last - first + 1) + "." * (TIMELINE_WIDTH - last - 1)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, timedelta

    from hotzone.ingest.space import TleError, coverage_windows, overflight_warnings, parse_tles

    try:
        satellites = parse_tles(args.tle.read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"{args.tle}: {error.strerror}") from None
    except TleError as error:
        raise CommandError(f"{args.tle}: {error}") from None
    if not satellites:
        raise CommandError(f"{args.tle}: no TLE sets found")
    try:
        start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC)
    except ValueError:
        raise CommandError(f"--start {args.start!r} is not an ISO 8601 time") from None
    if start.utcoffset() is None:
        raise CommandError(f"--start {args.start!r} needs a UTC offset (e.g. Z or +00:00)")
    end = start + timedelta(hours=args.hours)
    zone = parse_zone(args.zone)
    windows = coverage_windows(satellites, zone, start, end, args.min_elevation)
    print(f"coverage of {zone.name} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    print(f"{'satellite':<24} {'rise':>8} {'set':>8} {'max el':>6}  timeline")
    for window in windows:
        print(
            f"{window.satellite[:24]:<24} {window.rise:%H:%M:%S} {window.set:%H:%M:%S} "
            f"{window.max_elevation_deg:5.1f}°  {timeline(window, start, end)}"
        )
    for warning in overflight_warnings(windows, zone, args.adversary):
        print(f"WARNING: {warning.summary}")
    print(f"{len(windows)} windows of {len(satellites)} satellites")
    return 0
