"""Subcommands of the ``hotzone`` CLI; each module has ``add_parser`` and a runner
(docs/cli.md).
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = [
    "assess",
    "audit",
    "common",
    "decide",
    "decode",
    "demo",
    "evaluate",
    "export",
    "federation",
    "ingest",
    "node",
    "operators",
    "report",
    "runs",
    "schema",
    "serve",
    "simulate",
    "space",
    "track",
    "train",
]
