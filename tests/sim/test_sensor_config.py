"""Sensor configs: tagged-union decoding, validation errors with paths, dispatch, determinism."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from hotzone.sim.sensors import (
    SENSOR_MODELS,
    AirSurveillanceRadarConfig,
    ConfigError,
    SensorConfig,
    SensorConfigBase,
    build_sensor,
)
from hotzone.types import Detection, TargetClass
from tests.sim.sensor_fixtures import SITE_LAT_DEG, SITE_LON_DEG, at_polar, make_context, make_truth

ISS_LINE1 = "1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082"
ISS_LINE2 = "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473"


def _every_model() -> list[dict[str, object]]:
    site = {"lat_deg": SITE_LAT_DEG, "lon_deg": SITE_LON_DEG, "height_m": 25.0}
    return [
        {"model": "air_surveillance_radar", "id": "asr", **site},
        {"model": "ground_surveillance_radar", "id": "gsr", **site},
        {"model": "passive_rf_detector", "id": "rf", **site},
        {"model": "acoustic_array", "id": "ac", **site},
        {"model": "unattended_ground_sensor", "id": "ugs", **site},
        {"model": "eo_ir_camera", "id": "eo", **site},
        {
            "model": "satellite_imager",
            "id": "sat",
            "tle_line1": ISS_LINE1,
            "tle_line2": ISS_LINE2,
            **site,
        },
        {"model": "adsb_receiver", "id": "adsb", **site},
        {"model": "ais_station", "id": "ais", **site},
        {"model": "cyber_sensor", "id": "cyber", **site},
    ]


def _decode(raw: object) -> SensorConfig:
    return msgspec.json.decode(msgspec.json.encode(raw), type=SensorConfig)


def test_every_model_decodes_from_its_tag_and_builds() -> None:
    configs = [_decode(raw) for raw in _every_model()]
    assert {type(c) for c in configs} == set(SENSOR_MODELS)
    for config, raw in zip(configs, _every_model(), strict=True):
        assert config.__struct_config__.tag == raw["model"]
        model = build_sensor(config, make_context())
        assert model.sensor_id == config.id
        assert model.position.lat_deg == SITE_LAT_DEG
        assert type(model).__name__.endswith("Model")
        times = model.observation_times(
            make_context().start.timestamp(), make_context().start.timestamp() + 600
        )
        assert np.all(np.diff(times) > 0)


def test_configs_round_trip_through_json() -> None:
    for raw in _every_model():
        config = _decode(raw)
        assert _decode(msgspec.to_builtins(config)) == config


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"range_sigma_m": -5.0}, "$.range_sigma_m"),
        ({"pd_reference": 1.5}, "$.pd_reference"),
        ({"lat_deg": 95.0}, "$.lat_deg"),
        ({"clutter_rate_per_scan": -1.0}, "$.clutter_rate_per_scan"),
        ({"rnage_sigma_m": 5.0}, "rnage_sigma_m"),
        ({"azimuth_width_deg": 0.0}, "$.azimuth_width_deg"),
        ({"id": "bad id with spaces"}, "$.id"),
    ],
)
def test_bad_values_fail_with_the_field_path(change: dict[str, object], path: str) -> None:
    raw = {**_every_model()[0], **change}
    with pytest.raises(msgspec.ValidationError) as error:
        _decode(raw)
    assert path in str(error.value)


def test_cross_field_rules_are_reported() -> None:
    raw = {**_every_model()[0], "min_range_m": 200_000.0, "max_range_m": 100_000.0}
    with pytest.raises(msgspec.ValidationError, match=r"min_range_m .* must be below max_range_m"):
        _decode(raw)
    with pytest.raises(ConfigError):
        AirSurveillanceRadarConfig(
            id="x", lat_deg=0.0, lon_deg=0.0, min_elevation_deg=10.0, max_elevation_deg=5.0
        )


def test_unknown_model_tag_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="model"):
        _decode({"model": "death_ray", "id": "x", "lat_deg": 0.0, "lon_deg": 0.0})


def test_build_sensor_refuses_a_config_without_a_model() -> None:
    class OrphanConfig(SensorConfigBase, frozen=True, tag="orphan"):
        pass

    with pytest.raises(ValueError, match="no sensor model for config type OrphanConfig"):
        build_sensor(OrphanConfig(id="x", lat_deg=0.0, lon_deg=0.0), make_context())  # type: ignore[arg-type]


def test_same_seed_same_messages_and_ids_are_unique() -> None:
    config = AirSurveillanceRadarConfig(
        id="asr-7", lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG, clutter_rate_per_scan=5.0
    )
    truth = make_truth(
        at_polar(np.linspace(10e3, 90e3, 30), np.linspace(0, 350, 30), 3.0), rcs_dbsm=5.0
    )

    def run() -> list[Detection]:
        radar = build_sensor(config, make_context())
        rng = np.random.default_rng(42)
        return [d for _ in range(20) for d in radar.observe(truth, rng) if isinstance(d, Detection)]

    first, second = run(), run()
    assert first == second
    ids = [d.detection_id for d in first]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("asr-7-") for i in ids)
    different = build_sensor(config, make_context()).observe(truth, np.random.default_rng(43))
    assert [d for d in different] != first[: len(different)]


def test_configured_sector_overrides_the_context_sector() -> None:
    raw = {**_every_model()[5], "sector": "north-2", "pd": 1.0}
    camera = build_sensor(_decode(raw), make_context(sector="east-1", releasability="NATIONAL PL"))
    truth = make_truth(at_polar(2_000.0, 40.0, 2.0), target_class=TargetClass.SMALL_UAV)
    (detection,) = camera.observe(truth, np.random.default_rng(0))
    assert isinstance(detection, Detection)
    assert detection.sector == "north-2"
    assert detection.releasability == "NATIONAL PL"
    assert detection.sensor_position == camera.position


def test_observation_times_do_not_depend_on_how_the_run_is_split() -> None:
    context = make_context()
    start = context.start.timestamp()
    for raw in _every_model():
        model = build_sensor(_decode(raw), context)
        whole = model.observation_times(start, start + 3_600.0)
        # Split on an awkward boundary and on one that falls exactly on most grids.
        for split in (start + 1_234.567, start + 1_200.0):
            pieces = np.concatenate(
                [
                    model.observation_times(start, split),
                    model.observation_times(split, start + 3_600.0),
                ]
            )
            assert np.array_equal(whole, pieces), raw["model"]
