"""``hotzone eval --truth truth.jsonl --tracks tracks.jsonl``: tracking metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotzone.commands.common import CommandError, SubParsers


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score tracks against ground truth (OSPA, GOSPA, ID switches, time to track)",
        description="Compare TRACKS with TRUTH and print tracking metrics.",
    )
    parser.add_argument("--truth", type=Path, required=True, help="truth JSONL from 'hotzone sim'")
    parser.add_argument("--tracks", type=Path, required=True, help="tracks JSONL")
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise CommandError("evaluation is not built yet")
