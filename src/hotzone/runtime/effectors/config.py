"""Which interface and address each effector is reached on: the gateway file.

The c2 file (`hotzone.c2.config`) says what an effector can do; this file, named after the
scenario (``runtime/effectors/data/<scenario>.yaml``) or given by path, says how to reach it:

```yaml
ack_timeout_s: 10          # no acknowledgement within this -> timeout event, alert, failed
sapient: {listen: 127.0.0.1:5020}
effectors:
  ew-sejny: {interface: sapient, node_id: 0b7d2c1e-..., node_type: jammer}
  icpt-suwalki: {interface: mavlink, listen: 127.0.0.1:14551, system_id: 11}
```

Every effector named here must be in the c2 file (checked by `check_against`), and each
SAPIENT node id and MAVLink listen address belongs to one effector only. Unknown fields are
refused, with the path of the bad field.
"""

from __future__ import annotations

import enum
import uuid
from pathlib import Path
from typing import Annotated

import msgspec

from hotzone.c2.config import C2Spec, Positive, convert_yaml, read_data_file


class GatewayConfigError(ValueError):
    """A gateway file that cannot be used, with the reason and where."""


class Interface(enum.StrEnum):
    SAPIENT = "sapient"
    MAVLINK = "mavlink"
    COT = "cot"


class SapientNodeType(enum.StrEnum):
    """The effector node types of BSI Flex 335 v2.0 (``Registration.NodeType``)."""

    KINETIC = "kinetic"
    JAMMER = "jammer"
    CYBER = "cyber"
    LDEW = "ldew"
    RFDEW = "rfdew"
    MOBILE_NODE = "mobile_node"
    POINTABLE_NODE = "pointable_node"


class EffectorLink(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How one effector is reached.

    SAPIENT: ``node_id`` (the UUID the node registers with) and ``node_type``;
    ``engage_mode`` is the mode a ``mode_change`` task asks for when the node declares no
    pointing or moving command; ``region_radius_m`` sizes the area-of-interest region a
    jammer is given around the aim point.
    MAVLink: ``listen`` (HOST:PORT of the UDP port hotzone listens on; the vehicle sends
    its heartbeats there), ``system_id`` of the vehicle, heights and radii of the flight;
    ``signing_key_file``: a file holding the link's MAVLink 2 signing secret (32 bytes as
    64 hex digits): every message is signed and an unsigned or badly signed one refused.
    Cursor on Target: ``endpoint`` (``udp://HOST:PORT``, the unit's CoT input, e.g. ATAK's
    4242; ``tcp://HOST:PORT`` or ``tls://HOST:PORT``, a TAK server's or the device's
    streaming input, e.g. 8087 / 8089), ``listen`` (UDP only: where hotzone takes the
    unit's ``y-a``/``y-c`` replies; over TCP they come back on the connection), the unit's
    ``callsign`` and, for ``tls://``, hotzone's client certificate, key and the server's
    CA (``tls_cert``, ``tls_key``, ``tls_ca``).
    """

    interface: Interface
    # SAPIENT
    node_id: str = ""
    node_type: SapientNodeType | None = None
    engage_mode: str = ""
    region_radius_m: Positive = 500.0
    # MAVLink
    listen: str = ""
    system_id: Annotated[int, msgspec.Meta(ge=1, le=255)] = 1
    component_id: Annotated[int, msgspec.Meta(ge=0, le=255)] = 1
    takeoff_height_m: Positive = 60.0
    cruise_speed_mps: Positive = 40.0
    arrival_radius_m: Positive = 150.0
    position_sigma_m: Positive = 5.0
    signing_key_file: str = ""
    # Cursor on Target
    endpoint: str = ""
    callsign: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""


class SapientListen(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    listen: str = "127.0.0.1:5020"


class GatewaySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The gateway file: timeouts and each effector's link."""

    effectors: dict[str, EffectorLink]
    ack_timeout_s: Positive = 10.0
    command_retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3
    heartbeat_timeout_s: Positive = 3.0
    sapient: SapientListen = msgspec.field(default_factory=SapientListen)

    def by_interface(self, interface: Interface) -> dict[str, EffectorLink]:
        return {
            effector_id: link
            for effector_id, link in self.effectors.items()
            if link.interface is interface
        }

    def check_against(self, c2: C2Spec) -> None:
        """Every effector here must be one c2 knows (and so can order)."""
        known = {effector.id for effector in c2.effectors}
        unknown = sorted(set(self.effectors) - known)
        if unknown:
            raise GatewayConfigError(
                f"effectors {', '.join(unknown)} are not in the c2 file "
                f"(it has {', '.join(sorted(known))})"
            )


#: The Cursor on Target transports (pytak's): a datagram to the unit's input, or a stream.
COT_SCHEMES = ("udp", "tcp", "tls")


def shipped_gateway_path(scenario_name: str) -> Path:
    return Path(__file__).resolve().parent / "data" / f"{scenario_name}.yaml"


def _host_port(text: str, where: str) -> None:
    host, separator, port = text.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise GatewayConfigError(f"{where}: expected HOST:PORT, got {text!r}")


def parse_gateway_spec(text: str, source: str = "<gateway spec>") -> GatewaySpec:
    spec = convert_yaml(text, source, GatewaySpec, GatewayConfigError)
    node_ids: dict[str, str] = {}
    listens: dict[str, str] = {}
    _host_port(spec.sapient.listen, f"{source}: sapient.listen")
    for effector_id, link in spec.effectors.items():
        where = f"{source}: effectors.{effector_id}"
        if link.interface is Interface.SAPIENT:
            try:
                node_id = str(uuid.UUID(link.node_id))
            except ValueError:
                raise GatewayConfigError(
                    f"{where}.node_id: a SAPIENT node id is a UUID, got {link.node_id!r}"
                ) from None
            if link.node_type is None:
                raise GatewayConfigError(f"{where}.node_type: required for a SAPIENT effector")
            if node_id in node_ids:
                raise GatewayConfigError(
                    f"{where}.node_id: already the node of {node_ids[node_id]}"
                )
            node_ids[node_id] = effector_id
        else:
            if link.interface is Interface.COT:
                scheme, _, address = link.endpoint.partition("://")
                if scheme not in COT_SCHEMES:
                    raise GatewayConfigError(
                        f"{where}.endpoint: expected udp://, tcp:// or tls://HOST:PORT, "
                        f"got {link.endpoint!r}"
                    )
                _host_port(address, f"{where}.endpoint")
                if scheme == "tls" and not link.tls_cert:
                    raise GatewayConfigError(f"{where}.tls_cert: required for a tls:// endpoint")
                if scheme != "udp" and not link.listen:
                    continue  # replies come back on the connection
            _host_port(link.listen, f"{where}.listen")
            if link.listen in listens:
                raise GatewayConfigError(f"{where}.listen: already used by {listens[link.listen]}")
            listens[link.listen] = effector_id
    return spec


def load_gateway_spec(path_or_scenario: Path | str) -> GatewaySpec:
    """Load a gateway file by path, or the one shipped with a scenario by its name."""
    return parse_gateway_spec(
        *read_data_file(path_or_scenario, shipped_gateway_path, GatewayConfigError)
    )


def read_signing_key(path: str) -> bytes:
    """A MAVLink 2 signing secret from its file: 32 bytes written as 64 hex digits."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise GatewayConfigError(f"{path}: {error.strerror}") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise GatewayConfigError(f"{path}: a MAVLink signing key is 64 hex digits (32 bytes)")
    return secret
