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
    "effectors",
    "evaluate",
    "export",
    "federation",
    "ingest",
    "node",
    "operators",
    "plot_tracking",
    "report",
    "runs",
    "schema",
    "serve",
    "simulate",
    "space",
    "track",
    "train",
]
