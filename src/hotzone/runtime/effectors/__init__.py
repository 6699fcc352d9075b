"""Effector gateways: a verified, human-authorized order reaches a real effector interface,
and its outcome comes back on the bus (docs/effectors.md).

`base` holds what every interface shares (the order check before anything is sent, the
lifecycle events, timeouts and alerts), `service` runs the gateways on the bus, `config`
reads which interface and address each effector has; one module per interface:
`sapient` (BSI Flex 335 v2.0), `mavlink` (MAVLink 2) and `cot` (Cursor on Target).
`exercise` runs them with simulated vehicles, `deployment` with real effectors
(``hotzone effectors run``).
"""

__all__: list[str] = [
    "base",
    "config",
    "cot",
    "deployment",
    "exercise",
    "mavlink",
    "sapient",
    "service",
    "simulated",
]
