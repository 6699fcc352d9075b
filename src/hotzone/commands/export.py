"""``hotzone export --to FORMAT EVENTS.jsonl``: hotzone messages out in a shared standard."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, SubParsers

if TYPE_CHECKING:
    from hotzone.types import AnyMessage


def _to_stix(messages: Sequence[AnyMessage]) -> bytes:
    from hotzone.share.stix import bundle_json
    from hotzone.types import Event

    return bundle_json([m for m in messages if isinstance(m, Event)]).encode() + b"\n"


#: Output format -> exporter (messages -> bytes). Other formats add their entry here.
EXPORTERS: dict[str, Callable[[Sequence[AnyMessage]], bytes]] = {
    "stix": _to_stix,
}


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export hotzone JSONL messages to a shared standard (e.g. STIX 2.1)",
        description="Read hotzone messages (JSON Lines) and write them in the chosen "
        "standard: --to stix writes the cyber alerts as one STIX 2.1 bundle.",
    )
    parser.add_argument("--to", required=True, choices=sorted(EXPORTERS), help="output format")
    parser.add_argument("input", type=Path, help="hotzone JSONL file")
    parser.add_argument("-o", "--output", type=Path, default=None, help="file (default stdout)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from hotzone.types import DecodeError, ValidationError, read_jsonl

    try:
        messages = list(read_jsonl(args.input))
    except OSError as error:
        raise CommandError(f"{args.input}: {error.strerror}") from None
    except (DecodeError, ValidationError, ValueError) as error:
        raise CommandError(f"{args.input}: {error}") from None
    data = EXPORTERS[args.to](messages)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        args.output.write_bytes(data)
    print(f"exported {len(messages)} messages as {args.to}", file=sys.stderr)
    return 0
