"""readsb / dump1090 ``aircraft.json`` -> ADS-B `Report`s with their quality indicators.

The document (readsb's ``README-json.md``) is one JSON object::

    {"now": 1700000000.5,            # POSIX seconds when the file was written
     "messages": 123456,
     "aircraft": [
        {"hex": "4b1908",            # ICAO 24-bit address; "~" first: non-ICAO (TIS-B)
         "type": "adsb_icao",        # adsb_icao, adsb_icao_nt, adsr_icao, tisb_icao,
                                     # adsb_other, adsr_other, tisb_other, tisb_trackfile,
                                     # mlat, mode_s, adsc, unknown
         "flight": "ASA123  ",       # callsign, padded
         "lat": 33.97, "lon": -118.26,
         "seen_pos": 0.4,            # seconds since the position was last updated
         "alt_baro": 2525,           # feet, pressure altitude, or the string "ground"
         "alt_geom": 2650,           # feet above the WGS-84 ellipsoid (GNSS)
         "gs": 152.3, "track": 81.4, # knots over ground, degrees true
         "baro_rate": -640, "geom_rate": -600,   # feet per minute
         "squawk": "1200",
         "nic": 8, "rc": 186, "nac_p": 9, "nac_v": 1, "sil": 3, "sil_type": "perhour",
         "gva": 2, "version": 2, ...}]}

Mapping to `Report` (docs/ingest/adsb.md has the full table):

- ``time`` = ``now`` - ``seen_pos``: the position's own age, not the file's time; a
  position already reported (same aircraft, same time) is not reported again, so polling
  the file every second does not repeat old positions as new measurements. Positions
  older than ``max_position_age_s`` are not reported.
- ``height_m``: ``alt_geom`` (already ellipsoidal) when present, ``vertical_sigma_m``
  from GVA (95 % bound / 1.96; 30 m when GVA is absent); else ``alt_baro`` (pressure
  altitude, 100 m sigma as for SBS); ``"ground"`` or nothing: height 0, sigma None.
- ``on_ground``: True where ``alt_baro`` is ``"ground"`` (the aircraft says it is on the
  ground); None otherwise, as readsb writes an altitude both for an airborne aircraft and
  for one whose air/ground state is uncertain.
- ``horizontal_sigma_m`` from NACp (EPU, a 95 % radius, / 2.4477 per axis), else NUCp
  (HFOM likewise), else a default per ``type`` (MLAT and TIS-B are coarser than ADS-B).
- ``nic``, ``nacp``, ``nucp`` (``nucp`` or ``nuc_p``, written by dump1090-mutability), and
  ``sil`` are kept as given, for anomaly detection.

Each aircraft entry is decoded on its own: a bad entry becomes a `Rejected` with its own
JSON, the others still decode. Input is either one whole document (buffered until
``flush``, e.g. a file) or a stream of one document per line.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import msgspec

from hotzone.ingest.base import (
    NESTED_TOO_DEEP,
    Decoder,
    DecodeResult,
    DecoderOptions,
    IngestError,
    RecentMemory,
    Rejected,
)
from hotzone.ingest.sbs import (
    FEET_PER_MINUTE_TO_MPS,
    FEET_TO_M,
    KNOTS_TO_MPS,
    PRESSURE_ALTITUDE_SIGMA_M,
    ground_velocity_enu,
)
from hotzone.types import GeoPoint, Report, ReportSource

CIRCULAR_95_PERCENT_FACTOR = 2.4477  # sqrt(-2 ln 0.05): 95 % radius / per-axis sigma
# NACp -> estimated position uncertainty (EPU, 95 %), metres (DO-260B table 2-70).
NACP_EPU_M = (18520.0, 18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6, 30.0, 10.0, 3.0)
# NUCp -> horizontal figure of merit (HFOM, 95 %), metres (DO-260 version 0).
NUCP_HFOM_M = (18520.0, 18520.0, 9260.0, 1852.0, 926.0, 463.0, 185.2, 92.6, 10.0, 3.0)
# GVA -> geometric vertical accuracy (95 %), metres; 0 means unknown or > 150 m.
GVA_M = (300.0, 150.0, 45.0, 45.0)
DEFAULT_SIGMA_BY_TYPE_M = {"adsb_icao": 50.0, "adsb_icao_nt": 50.0, "adsb_other": 50.0}
COARSE_SOURCE_SIGMA_M = 150.0  # MLAT, TIS-B, ADS-R and unknown sources without NACp
GEOMETRIC_ALTITUDE_SIGMA_M = 30.0
#: 20,000 aircraft (``max_aircraft``) of ~600 bytes each is 12 MB.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

_HEX = re.compile(r"~?[0-9a-fA-F]{6}")
_SQUAWK = re.compile(r"[0-7]{4}")


class ReadsbError(IngestError):
    """A readsb document or aircraft entry could not be decoded."""


class ReadsbAircraft(msgspec.Struct, kw_only=True):
    """The fields of one ``aircraft`` entry that hotzone uses (others are ignored)."""

    hex: str
    type: str | None = None
    flight: str | None = None
    lat: float | None = None
    lon: float | None = None
    seen_pos: float | None = None
    seen: float | None = None
    alt_baro: float | str | None = None
    alt_geom: float | None = None
    gs: float | None = None
    track: float | None = None
    baro_rate: float | None = None
    geom_rate: float | None = None
    squawk: str | None = None
    nic: int | None = None
    nac_p: int | None = None
    nac_v: int | None = None
    nucp: int | None = None
    nuc_p: int | None = None
    sil: int | None = None
    sil_type: str | None = None
    gva: int | None = None


class ReadsbDocument(msgspec.Struct):
    now: float
    aircraft: list[msgspec.Raw] = []


_document_decoder = msgspec.json.Decoder(ReadsbDocument)
_aircraft_decoder = msgspec.json.Decoder(ReadsbAircraft)


def _in_range(value: float | None, name: str, low: float, high: float) -> float | None:
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise ReadsbError("out of range", field=name, expected=f"{low} .. {high}", got=str(value))
    return value


def _index(value: int | None, name: str, table_size: int) -> int | None:
    if value is not None and not 0 <= value < table_size:
        raise ReadsbError(
            "out of range", field=name, expected=f"0 .. {table_size - 1}", got=str(value)
        )
    return value


class ReadsbDecoder(Decoder):
    """readsb ``aircraft.json`` documents -> ADS-B reports."""

    source_name = "readsb"

    def __init__(
        self,
        source_id: str = "readsb",
        *,
        sector: str = "",
        releasability: str = "NATO",
        max_position_age_s: float = 60.0,
        max_aircraft: int = 20_000,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        super().__init__()
        self.max_document_bytes = max_document_bytes
        self.source_id = source_id
        self.sector = sector
        self.releasability = releasability
        self.max_position_age_s = max_position_age_s
        self._buffer = bytearray()
        self._last_position_time: RecentMemory[str, datetime] = RecentMemory(max_aircraft)
        self._next_report = 0

    @property
    def max_frame_bytes(self) -> int:
        return self.max_document_bytes

    @classmethod
    def from_options(cls, options: DecoderOptions) -> ReadsbDecoder:
        return cls(
            options.source_id or "readsb",
            sector=options.sector,
            releasability=options.releasability,
        )

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        self._buffer += data  # a bytearray: a document arriving in many chunks is copied once
        # A stream carries one document per line; a file holds one (often pretty-printed)
        # document, which waits for flush. A complete line that is a whole object is a
        # stream document; a line that opens an object without closing it is not.
        position = 0
        while (newline := self._buffer.find(b"\n", position)) >= 0:
            stripped = bytes(self._buffer[position:newline]).strip()
            if stripped and not (stripped.startswith(b"{") and stripped.endswith(b"}")):
                break
            position = newline + 1
            if stripped:
                self._decode_document(stripped, received_at, result)
        del self._buffer[:position]
        if len(self._buffer) > self.max_document_bytes:
            reason = f"document larger than {self.max_document_bytes} bytes"
            result.rejected.append(Rejected(bytes(self._buffer[:4096]), reason))
            self._buffer.clear()
        return self._count(result)

    def flush(self, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        document = bytes(self._buffer).strip()
        self._buffer.clear()
        if document:
            self._decode_document(document, received_at, result)
        return self._count(result)

    def _decode_document(self, raw: bytes, received_at: datetime, result: DecodeResult) -> None:
        self.counters.frames += 1
        if len(raw) > self.max_document_bytes:
            reason = f"document larger than {self.max_document_bytes} bytes"
            result.rejected.append(Rejected(raw[:4096], reason))
            return
        try:
            document = _document_decoder.decode(raw)
            now = datetime.fromtimestamp(
                _in_range(document.now, "now", 0.0, 32_503_680_000.0) or 0.0, UTC
            )
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as error:
            result.rejected.append(Rejected(raw, f"not a readsb aircraft document: {error}"))
            return
        except RecursionError:
            result.rejected.append(Rejected(raw, NESTED_TOO_DEEP))
            return
        except ReadsbError as error:
            result.rejected.append(Rejected(raw, error.describe()))
            return
        for entry in document.aircraft:
            entry_bytes = bytes(entry)
            try:
                aircraft = _aircraft_decoder.decode(entry_bytes)
                report = self._report(aircraft, now, received_at)
            except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as error:
                result.rejected.append(Rejected(entry_bytes, f"bad aircraft entry: {error}"))
                continue
            except RecursionError:
                result.rejected.append(Rejected(entry_bytes, NESTED_TOO_DEEP))
                continue
            except ReadsbError as error:
                result.rejected.append(Rejected(entry_bytes, error.describe()))
                continue
            if report is not None:
                result.messages.append(report)

    def _report(
        self, aircraft: ReadsbAircraft, now: datetime, received_at: datetime
    ) -> Report | None:
        if not _HEX.fullmatch(aircraft.hex):
            raise ReadsbError(
                "not an ICAO 24-bit address", field="hex", expected="6 hex digits", got=aircraft.hex
            )
        icao24 = aircraft.hex.lower()
        lat = _in_range(aircraft.lat, "lat", -90.0, 90.0)
        lon = _in_range(aircraft.lon, "lon", -180.0, 180.0)
        age_s = _in_range(
            aircraft.seen_pos if aircraft.seen_pos is not None else aircraft.seen,
            "seen_pos",
            0.0,
            1e6,
        )
        gs = _in_range(aircraft.gs, "gs", 0.0, 5000.0)
        track = _in_range(aircraft.track, "track", 0.0, 360.0)
        _in_range(aircraft.alt_geom, "alt_geom", -2000.0, 130_000.0)
        if isinstance(aircraft.alt_baro, str) and aircraft.alt_baro != "ground":
            raise ReadsbError(
                "not an altitude",
                field="alt_baro",
                expected="feet or 'ground'",
                got=aircraft.alt_baro[:20],
            )
        if not isinstance(aircraft.alt_baro, str):
            _in_range(aircraft.alt_baro, "alt_baro", -2000.0, 130_000.0)
        _in_range(aircraft.baro_rate, "baro_rate", -60_000.0, 60_000.0)
        _in_range(aircraft.geom_rate, "geom_rate", -60_000.0, 60_000.0)
        nacp = _index(aircraft.nac_p, "nac_p", len(NACP_EPU_M))
        nucp = _index(
            aircraft.nucp if aircraft.nucp is not None else aircraft.nuc_p, "nucp", len(NUCP_HFOM_M)
        )
        nic = _index(aircraft.nic, "nic", 12)
        sil = _index(aircraft.sil, "sil", 4)
        gva = _index(aircraft.gva, "gva", len(GVA_M))
        squawk = aircraft.squawk
        if squawk is not None and not _SQUAWK.fullmatch(squawk):
            raise ReadsbError(
                "not a Mode 3/A code", field="squawk", expected="4 octal digits", got=squawk[:20]
            )
        if lat is None or lon is None:
            return None
        time = now - timedelta(seconds=age_s or 0.0)
        if (now - time).total_seconds() > self.max_position_age_s:
            return None
        if self._last_position_time.get(icao24) == time:
            return None  # the same position as in the previous document
        self._remember(icao24, time)

        height_m, vertical_sigma_m, rate_fpm = 0.0, None, aircraft.baro_rate
        if aircraft.alt_geom is not None:
            height_m = aircraft.alt_geom * FEET_TO_M
            vertical_sigma_m = GVA_M[gva] / 1.96 if gva is not None else GEOMETRIC_ALTITUDE_SIGMA_M
            rate_fpm = aircraft.geom_rate if aircraft.geom_rate is not None else rate_fpm
        elif isinstance(aircraft.alt_baro, float | int):
            height_m, vertical_sigma_m = aircraft.alt_baro * FEET_TO_M, PRESSURE_ALTITUDE_SIGMA_M
        velocity = None
        if gs is not None and track is not None:
            velocity = ground_velocity_enu(
                gs * KNOTS_TO_MPS, track, (rate_fpm or 0.0) * FEET_PER_MINUTE_TO_MPS
            )
        if nacp is not None:
            horizontal_sigma_m = NACP_EPU_M[nacp] / CIRCULAR_95_PERCENT_FACTOR
        elif nucp is not None:
            horizontal_sigma_m = NUCP_HFOM_M[nucp] / CIRCULAR_95_PERCENT_FACTOR
        else:
            horizontal_sigma_m = DEFAULT_SIGMA_BY_TYPE_M.get(
                aircraft.type or "", COARSE_SOURCE_SIGMA_M
            )
        callsign = (aircraft.flight or "").strip() or None
        self._next_report += 1
        return Report(
            report_id=f"{self.source_id}-{self._next_report:06d}",
            time=time,
            source_id=self.source_id,
            source=ReportSource.ADSB,
            position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=height_m),
            horizontal_sigma_m=horizontal_sigma_m,
            vertical_sigma_m=vertical_sigma_m,
            velocity_enu_mps=velocity,
            icao24=icao24,
            callsign=callsign[:8] if callsign else None,
            squawk=squawk,
            nic=nic,
            nacp=nacp,
            nucp=nucp,
            sil=sil,
            on_ground=True if aircraft.alt_baro == "ground" else None,
            sector=self.sector,
            received_at=received_at,
            releasability=self.releasability,
        )

    def _remember(self, icao24: str, time: datetime) -> None:
        self._last_position_time.put(icao24, time)
