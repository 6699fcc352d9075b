"""Small builders of Track and Report messages for the assessment tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotzone.types import GeoPoint, Report, ReportSource, Track, TrackStatus

T0 = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def track(
    track_id: str,
    seconds: float,
    lat: float,
    lon: float,
    height: float = 0.0,
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0),
    icao24: str | None = None,
) -> Track:
    return Track(
        track_id=track_id,
        track_number=1,
        time=at(seconds),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=height),
        sector="s",
        enu_position_m=(0.0, 0.0, height),
        enu_velocity_mps=velocity,
        covariance=((100.0, 0.0), (0.0, 100.0)),
        quality=0.9,
        icao24=icao24,
    )


def adsb(
    seconds: float,
    lat: float,
    lon: float,
    icao24: str,
    nacp: int = 9,
    nic: int = 8,
    height: float = 10_000.0,
) -> Report:
    return Report(
        report_id=f"{icao24}-{seconds}",
        time=at(seconds),
        source_id="adsb",
        source=ReportSource.ADSB,
        position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=height),
        horizontal_sigma_m=30.0,
        icao24=icao24,
        nacp=nacp,
        nic=nic,
    )


def ais(seconds: float, lat: float, lon: float, mmsi: int) -> Report:
    return Report(
        report_id=f"{mmsi}-{seconds}",
        time=at(seconds),
        source_id="ais",
        source=ReportSource.AIS,
        position=GeoPoint(lat_deg=lat, lon_deg=lon),
        horizontal_sigma_m=10.0,
        mmsi=mmsi,
    )
