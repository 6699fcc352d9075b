"""The composition root: stages wired to the bus and the store, run modes, services,
federation and effector gateways (docs/architecture.md).
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = [
    "c2_offline",
    "cot_sender",
    "demo",
    "effectors",
    "engagements",
    "federation",
    "federation_demo",
    "federation_security",
    "federation_servers",
    "ingest_service",
    "latency",
    "live_tracking",
    "metrics",
    "node",
    "owner_lease",
    "pipeline",
    "report",
    "routing",
    "run_folders",
    "run_report",
    "sapient_server",
    "services",
    "sources",
    "stages",
    "timeline",
    "udp_receiver",
    "windows",
]
