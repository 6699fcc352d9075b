"""``python -m hotzone.runtime.effectors check SCENARIO_OR_FILE [--c2 C2_FILE]``: read a
gateway file, check it against the c2 file and print how each effector is reached.

Exit status 0 when the file is usable, 1 with the reason when it is not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotzone.c2.config import C2ConfigError, load_c2_spec
from hotzone.runtime.effectors.config import GatewayConfigError, Interface, load_gateway_spec


def _address(interface: Interface, fields: dict[str, str]) -> str:
    if interface is Interface.SAPIENT:
        return f"node {fields['node_id']} ({fields['node_type']})"
    if interface is Interface.COT:
        return f"{fields['endpoint']} replies to udp {fields['listen']}"
    return f"udp {fields['listen']} system {fields['system_id']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotzone.runtime.effectors")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check a gateway file against the c2 file")
    check.add_argument("gateway", help="scenario name (shipped file) or path of a gateway file")
    check.add_argument("--c2", help="c2 file (default: the scenario's shipped one)")
    args = parser.parse_args(argv)
    try:
        spec = load_gateway_spec(args.gateway)
        c2_source = args.c2 or (args.gateway if not Path(args.gateway).suffix else None)
        if c2_source is None:
            raise GatewayConfigError("give --c2 for a gateway file given by path")
        c2 = load_c2_spec(c2_source)
        spec.check_against(c2)
    except (GatewayConfigError, C2ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"SAPIENT server: {spec.sapient.listen}; ack timeout {spec.ack_timeout_s:g} s")
    for effector_id, link in spec.effectors.items():
        effector = c2.effector(effector_id)
        fields = {
            "node_id": link.node_id,
            "node_type": str(link.node_type),
            "listen": link.listen,
            "system_id": str(link.system_id),
            "endpoint": link.endpoint,
        }
        print(
            f"{effector_id:<16} {effector.kind!s:<20} {link.interface!s:<8} "
            f"{_address(link.interface, fields)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
