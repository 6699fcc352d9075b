"""The gateway file (which interface and address each effector has) and the order check
every gateway runs before it sends anything; docs/effectors.md's commands run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from hotzone.c2.config import load_c2_spec
from hotzone.runtime.effectors.base import OrderGuard
from hotzone.runtime.effectors.config import (
    GatewayConfigError,
    Interface,
    load_gateway_spec,
    parse_gateway_spec,
)
from hotzone.types import GeoPoint, Track, TrackStatus
from tests.runtime.effectors.rig import TARGET, TRUSTED, c2_state, now, order, proposal

DOC = Path(__file__).parents[3] / "docs" / "effectors.md"


def test_the_shipped_gateway_file_names_only_effectors_of_the_c2_file() -> None:
    spec = load_gateway_spec("suwalki-drones")
    spec.check_against(load_c2_spec("suwalki-drones"))
    assert set(spec.by_interface(Interface.MAVLINK)) == {"icpt-suwalki", "icpt-puncsk"}
    assert spec.effectors["ew-sejny"].engage_mode == "jamming"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("effectors: {e: {interface: sapient, node_id: nope, node_type: kinetic}}", "a UUID"),
        (
            "effectors: {e: {interface: sapient, node_id: 5c6f0a52-3d2e-4b8e-9a41-0f1d2c3b4a51}}",
            "node_type: required",
        ),
        (
            "effectors:\n"
            "  a: {interface: sapient, node_id: 5c6f0a52-3d2e-4b8e-9a41-0f1d2c3b4a51,"
            " node_type: kinetic}\n"
            "  b: {interface: sapient, node_id: 5C6F0A52-3D2E-4B8E-9A41-0F1D2C3B4A51,"
            " node_type: jammer}\n",
            "already the node of a",
        ),
        ("effectors: {e: {interface: mavlink, listen: nowhere}}", "expected HOST:PORT"),
        ("effectors: {e: {interface: carrier_pigeon}}", "carrier_pigeon"),
        ("effectors: {e: {interface: mavlink, listen: 127.0.0.1:1, colour: red}}", "colour"),
    ],
)
def test_a_bad_gateway_file_is_refused_with_the_reason(text: str, expected: str) -> None:
    with pytest.raises(GatewayConfigError, match=re.escape(expected)):
        parse_gateway_spec(text)


def test_an_effector_c2_does_not_know_is_refused() -> None:
    spec = parse_gateway_spec("effectors: {ghost-1: {interface: mavlink, listen: 127.0.0.1:1}}")
    with pytest.raises(GatewayConfigError, match="ghost-1 are not in the c2 file"):
        spec.check_against(load_c2_spec("suwalki-drones"))


def test_the_guard_refuses_until_the_abort_state_is_known_and_keeps_only_true_proposals() -> None:
    guard = OrderGuard(TRUSTED)
    prop = proposal("icpt-1", 1)
    guard.take(prop)
    first = order(prop, 1)
    assert "abort state is not known" in guard.check(first, now())[1]
    guard.take(c2_state(abort=False))
    assert guard.check(first, now()) == (prop, "")
    assert "a replay" in guard.check(first, now())[1]

    # A proposal altered on the bus is not kept under the hash it claims.
    honest = proposal("icpt-1", 2)
    guard.take(msgspec.structs.replace(honest, target_position=GeoPoint(50.0, 20.0, 0.0)))
    assert "matches no proposal" in guard.check(order(honest, 2), now())[1]

    # The expiry is the order's effect window, against the gateway's clock.
    later = proposal("icpt-1", 3)
    guard.take(later)
    assert "expired" in guard.check(order(later, 3), now() + timedelta(hours=1))[1]


def _track(track_id: str, where: GeoPoint) -> Track:
    return Track(
        track_id=track_id,
        track_number=1,
        time=now(),
        status=TrackStatus.CONFIRMED,
        position=where,
        sector="suwalki",
        enu_position_m=(0.0, 0.0, 0.0),
        enu_velocity_mps=(0.0, 0.0, 0.0),
        covariance=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
        quality=0.9,
    )


def test_the_aim_follows_the_track_only_within_the_proposals_tolerance() -> None:
    guard = OrderGuard(TRUSTED)
    prop = proposal("icpt-1", 1)  # tolerance 2000 m
    assert guard.aim(prop) == (TARGET, "proposal")
    moved = GeoPoint(TARGET.lat_deg + 0.005, TARGET.lon_deg, TARGET.height_m)  # ~560 m
    guard.take(_track(prop.track_id, moved))
    assert guard.aim(prop) == (moved, "track")
    gone = GeoPoint(TARGET.lat_deg + 0.1, TARGET.lon_deg, TARGET.height_m)  # ~11 km
    guard.take(_track(prop.track_id, gone))
    assert guard.aim(prop) == (TARGET, "proposal")


def test_every_command_in_docs_effectors_runs_as_written() -> None:
    commands = re.findall(r"^\$ (python .+)$", DOC.read_text(), flags=re.MULTILINE)
    assert commands, "docs/effectors.md shows no command"
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "python"
        done = subprocess.run(
            [sys.executable, *argv[1:]], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (command, done.stderr)
        assert "icpt-suwalki" in done.stdout


def test_the_documented_gateway_file_parses_and_cot_transports_are_checked() -> None:
    section = DOC.read_text().split("## The gateway file", 1)[1]
    documented = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert documented is not None
    spec = parse_gateway_spec(documented.group(1), "docs/effectors.md")
    assert spec.effectors["qrf-tak"].endpoint.startswith("tls://")
    assert spec.effectors["qrf-tak"].tls_cert == "hz.pem"
    header = "effectors:\n  u: {interface: cot, callsign: U, "
    tcp = parse_gateway_spec(header + "endpoint: 'tcp://127.0.0.1:8087'}\n")
    assert tcp.effectors["u"].listen == ""  # replies come back on the connection
    with pytest.raises(GatewayConfigError, match="tls_cert"):
        parse_gateway_spec(header + "endpoint: 'tls://127.0.0.1:8089'}\n")
    with pytest.raises(GatewayConfigError, match="udp://, tcp:// or tls://"):
        parse_gateway_spec(header + "endpoint: 'http://127.0.0.1:8080'}\n")
    with pytest.raises(GatewayConfigError, match="listen"):
        parse_gateway_spec(header + "endpoint: 'udp://127.0.0.1:4242'}\n")
    # A YAML error is one line, as in the c2 file (the same reader).
    with pytest.raises(GatewayConfigError) as error:
        parse_gateway_spec("effectors: {a: [\n")
    assert "\n" not in str(error.value) and "not YAML" in str(error.value)
