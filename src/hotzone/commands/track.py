"""``hotzone track INPUT --out tracks.jsonl``: run the tracker over recorded detections."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotzone.commands.common import CommandError, SubParsers


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "track",
        help="fuse detections and reports from a JSONL file into tracks",
        description="Run hotzone's multi-sensor tracker over INPUT (messages in JSON Lines, "
        "as written by 'hotzone sim') and write the tracks to --out.",
    )
    parser.add_argument("input", type=Path, help="detections JSONL")
    parser.add_argument("--out", type=Path, required=True, help="tracks JSONL to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise CommandError("the tracker is not built yet")
