"""`MessageConverter.convert` converts each (sensor, kind) group with one call on arrays:
its scans, rejections and rotation clocks must be exactly those of `convert_each`, the
one-message-at-a-time reference, on a real CAT048 capture, on a simulated window, and
on malformed rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from hotzone.fusion.conversion import MessageConverter, RotationClock
from hotzone.geo import LocalFrame
from hotzone.ingest.asterix import AsterixDecoder, SiteTable
from hotzone.ingest.pcap import PcapStreamReader, udp_payload
from hotzone.types import Detection, GeoPoint, MeasurementKind, Report, ReportSource
from hotzone.types.labels import LabelTable

GOLDEN = Path(__file__).parents[1] / "golden" / "asterix"
SITES_YAML = """\
"25/201": {lat_deg: 45.5, lon_deg: 14.0, height_m: 300.0, range_sigma_m: 60.0}
"25/13": {lat_deg: 45.6, lon_deg: 14.1, height_m: 400.0}
"25/14": {lat_deg: 45.7, lon_deg: 14.2, height_m: 500.0, azimuth_sigma_deg: 0.1}
"25/204": {lat_deg: 45.8, lon_deg: 14.3, height_m: 200.0}
"""
START = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
SITE = GeoPoint(lat_deg=54.0, lon_deg=23.0, height_m=200.0)
CEILING = "REL LT DE"
"""The stage's label when labelled: ``NATIONAL PL`` messages share no nation with it."""


def _capture_messages(tmp_path: Path) -> list[object]:
    sites = tmp_path / "sites.yaml"
    sites.write_text(SITES_YAML)
    decoder = AsterixDecoder(SiteTable.from_file(sites))
    messages: list[object] = []
    for packet in PcapStreamReader().feed((GOLDEN / "cat_034_048.pcap").read_bytes()):
        messages.extend(decoder.feed(udp_payload(packet), START).messages)
    return messages


def _detection(
    number: int, kind: MeasurementKind, values: tuple[float, ...], **extra: object
) -> Detection:
    size = len(values)
    covariance = tuple(
        tuple(float(9.0 if row == column else 0.0) for column in range(size)) for row in range(size)
    )
    fields: dict[str, object] = {
        "detection_id": f"bad-{number}",
        "time": START + timedelta(seconds=number * 0.1),
        "sensor_id": f"sensor-{kind}",
        "kind": kind,
        "values": values,
        "covariance": covariance,
        "sensor_position": SITE,
    }
    fields.update(extra)
    return Detection(**fields)  # type: ignore[arg-type]


def _report(number: int, **extra: object) -> Report:
    fields: dict[str, object] = {
        "report_id": f"report-{number}",
        "time": START + timedelta(seconds=number * 0.1),
        "source_id": "adsb-1",
        "source": ReportSource.ADSB,
        "position": GeoPoint(lat_deg=54.1, lon_deg=23.1, height_m=9000.0),
        "horizontal_sigma_m": 30.0,
        "icao24": f"48ae{number:02x}",
    }
    fields.update(extra)
    return Report(**fields)  # type: ignore[arg-type]


def _malformed() -> list[object]:
    """Every kind of row, good and bad, interleaved: each rejection reason of the checks,
    a plot whose conversion overflows, label conflicts, repeats of one object."""
    polar = MeasurementKind.POLAR
    return [
        _detection(0, polar, (20_000.0, 45.0, 1.0)),
        _detection(1, polar, (-5.0, 45.0, 1.0)),  # range must be positive
        _detection(2, polar, (float("nan"), 45.0, 1.0)),  # non-finite
        _detection(3, polar, (1.0e308, 45.0, 1.0)),  # conversion overflows
        _detection(4, polar, (21_000.0, 46.0, 1.0), releasability="NATIONAL PL"),
        _detection(5, polar, (22_000.0, 47.0, 1.0), icao24="48AE07", callsign="LOT1"),
        _detection(6, MeasurementKind.CARTESIAN, (100.0, 200.0, 30.0)),
        _detection(  # its covariance overflows in the turn to the sector frame
            7,
            MeasurementKind.CARTESIAN,
            (100.0, 200.0, 30.0),
            covariance=((1.5e308,) * 3,) * 3,
            sensor_position=GeoPoint(lat_deg=10.0, lon_deg=100.0, height_m=0.0),
        ),
        _detection(8, MeasurementKind.BEARING, (30.0,)),
        _detection(9, MeasurementKind.BEARING, (30.0, 5.0)),
        _detection(10, MeasurementKind.BEARING, (30.0, 5.0, 1.0)),  # wrong size
        _detection(11, MeasurementKind.POSITION, (54.2, 23.3, 500.0)),
        _detection(12, MeasurementKind.POSITION_2D, (54.2, 23.3)),
        _detection(
            13,
            MeasurementKind.CARTESIAN,
            (1.0, 2.0, 3.0),
            sensor_id="mast-2",
            sensor_position=GeoPoint(lat_deg=54.3, lon_deg=23.4, height_m=10.0),
        ),
        _detection(
            14,
            MeasurementKind.CARTESIAN,
            (4.0, 5.0, 6.0),
            sensor_id="mast-2",
            sensor_position=GeoPoint(lat_deg=54.31, lon_deg=23.41, height_m=12.0),
        ),
        _report(15),
        _report(16, horizontal_sigma_m=-1.0),  # accuracy must be positive
        _report(17, horizontal_sigma_m=1.0e7, velocity_enu_mps=(10.0, 20.0, 0.5)),
        _report(18, horizontal_sigma_m=1.0e7, icao24=None),  # neither position nor velocity
        _report(19, horizontal_sigma_m=1.0e7, velocity_enu_mps=(float("inf"), 0.0, 0.0)),
        _report(15, report_id="report-15-again"),  # the same object twice: next scan
        _report(20, icao24=None, mmsi=230123000, source=ReportSource.AIS, source_id="ais-1"),
        _report(21, releasability="NATIONAL PL"),
        _detection(22, polar, (23_000.0, 48.0, 1.0)),
    ]


def _assert_same(messages: list[object], frame: LocalFrame, labelled: bool) -> None:
    def converter() -> MessageConverter:
        labels = LabelTable() if labelled else None
        return MessageConverter(frame, labels=labels, ceiling=CEILING if labelled else "NATO")

    vectorized, reference = converter(), converter()
    scans, rejections = vectorized.convert(messages)
    with np.errstate(over="ignore", invalid="ignore"):  # its rows that overflow warn
        expected_scans, expected_rejections = reference.convert_each(messages)
    assert rejections == expected_rejections
    assert [(s.sensor_id, s.model) for s in scans] == [
        (s.sensor_id, s.model) for s in expected_scans
    ]
    for scan, expected in zip(scans, expected_scans, strict=True):
        for name in ("values", "noise", "times", "sensor_position"):
            np.testing.assert_allclose(
                getattr(scan, name), getattr(expected, name), rtol=1e-9, atol=1e-9, err_msg=name
            )
        assert scan.values.shape == expected.values.shape
        for name in ("icao24", "callsign", "identity", "label_ids"):
            got, want = getattr(scan, name), getattr(expected, name)
            assert (got is None) == (want is None), name
            if want is not None:
                assert list(got) == list(want), name
        assert scan.measurement_ids == expected.measurement_ids
    assert vectorized.rotation_clocks.keys() == reference.rotation_clocks.keys()
    for sensor, clock in vectorized.rotation_clocks.items():
        assert dataclasses.astuple(clock) == dataclasses.astuple(reference.rotation_clocks[sensor])


def test_a_real_cat048_capture_converts_as_one_plot_at_a_time(tmp_path: Path) -> None:
    messages = _capture_messages(tmp_path)
    assert sum(isinstance(m, Detection) for m in messages) > 50
    _assert_same(messages, LocalFrame(45.6, 14.1, 300.0), labelled=False)
    _assert_same(messages, LocalFrame(45.6, 14.1, 300.0), labelled=True)


def test_a_simulated_suwalki_window_converts_as_one_message_at_a_time() -> None:
    from hotzone.sim.scenario import load_scenario
    from hotzone.sim.simulator import simulate

    scenario = load_scenario("suwalki-drones")
    messages = [
        m for m in simulate(scenario, seed=5, duration_s=20) if isinstance(m, Detection | Report)
    ]
    kinds = {m.kind for m in messages if isinstance(m, Detection)}
    assert len(kinds) >= 2 and any(isinstance(m, Report) for m in messages)
    _assert_same(messages, scenario.frame, labelled=False)
    _assert_same(messages, scenario.frame, labelled=True)


@pytest.mark.parametrize("labelled", [False, True])
def test_malformed_rows_are_refused_with_the_same_reasons_in_the_same_order(
    labelled: bool,
) -> None:
    messages = _malformed()
    frame = LocalFrame(54.1, 23.2, 150.0)
    _assert_same(messages, frame, labelled)
    labels, ceiling = (LabelTable(), CEILING) if labelled else (None, "NATO")
    with np.errstate(over="ignore", invalid="ignore"):
        _, rejections = MessageConverter(frame, labels=labels, ceiling=ceiling).convert(messages)
    reasons = [r.reason for r in rejections]
    assert sum("non-finite numbers" in reason for reason in reasons) == 2
    assert any("range must be positive" in reason for reason in reasons)
    assert any("neither a position nor a velocity" in reason for reason in reasons)
    assert any("shares no nation" in reason for reason in reasons) == labelled


def _walked_clock(plots: list[tuple[float, float]]) -> RotationClock:
    """`RotationClock` as it was, finding the earliest recent plot by walking the deque."""
    clock = RotationClock()
    recent = clock._recent
    for time_s, azimuth_deg in plots:
        if recent and 0.02 < time_s - recent[-1][0] <= 4.0:
            swept = abs((azimuth_deg - recent[-1][1] + 180.0) % 360.0 - 180.0)
            if 0.5 < swept <= 120.0:
                clock._keep(clock._quiet, 360.0 * (time_s - recent[-1][0]) / swept)
        while recent and recent[0][0] < time_s - 4.0:
            recent.popleft()
        earliest = next((item for item in recent if time_s - item[0] <= 0.5), None)
        if earliest is not None and time_s - earliest[0] >= 0.25:
            swept = abs((azimuth_deg - earliest[1] + 180.0) % 360.0 - 180.0)
            if swept > 0.5:
                clock._keep(clock._busy, 360.0 * (time_s - earliest[0]) / swept)
        if not recent or time_s >= recent[-1][0]:
            recent.append((time_s, azimuth_deg))
    return clock


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rotation_clock_bisects_to_the_plot_the_walk_found(seed: int) -> None:
    """Plots of a busy 4 s radar, some late (out of order) and some at equal times."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0.0, 60.0, 3_000))
    times[rng.random(len(times)) < 0.05] -= rng.uniform(0.0, 1.0)  # late plots
    times[1::97] = times[0:-1:97]  # plots at the same time
    plots = [(float(t), float((t / 4.0 * 360.0 + rng.normal(0, 2.0)) % 360)) for t in times]
    clock = RotationClock()
    for time_s, azimuth_deg in plots:
        clock.add(time_s, azimuth_deg)
    walked = _walked_clock(plots)
    assert dataclasses.astuple(clock) == dataclasses.astuple(walked)
    assert clock.period_s == pytest.approx(4.0, rel=0.1)  # the walk and bisection found it
