"""``hotzone decode FORMAT [FILE|-]``: print the normalized messages of a capture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotzone.commands.common import CommandError, SubParsers


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode a capture in a standard format to hotzone JSONL",
        description="Decode FILE (or standard input) in FORMAT and print one hotzone "
        "message per line. Refused frames are reported on standard error and, with "
        "--dead-letters, written as dead_letter messages.",
    )
    parser.add_argument("format", metavar="FORMAT", help="input format (see --list)")
    parser.add_argument("file", nargs="?", default="-", help="capture file, or - for stdin")
    parser.add_argument("--sensors", type=Path, default=None, help="sensor positions (YAML)")
    parser.add_argument("--source-id", default=None, help="name of the feed")
    parser.add_argument("--dead-letters", type=Path, default=None, help="write refusals here")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hotzone.ingest.registry import DecoderOptions, decoder_factories
    from hotzone.types import write_jsonl

    factories = decoder_factories()
    if args.format not in factories:
        known = ", ".join(sorted(factories)) or "none yet"
        raise CommandError(f"unknown format {args.format!r}; known formats: {known}")
    options = DecoderOptions(sensors_file=args.sensors, source_id=args.source_id)
    try:
        decoder = factories[args.format](options)
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.file).read_bytes()
        except OSError as error:
            raise CommandError(f"{args.file}: {error.strerror}") from None
    received_at = datetime.now(UTC)
    result = decoder.feed(data, received_at)
    result.extend(decoder.flush(received_at))
    write_jsonl(result.messages, sys.stdout.buffer)
    sys.stdout.flush()
    for item in result.rejected:
        print(f"rejected: {item.reason}", file=sys.stderr)
    if args.dead_letters is not None:
        with open(args.dead_letters, "wb") as stream:
            write_jsonl(result.dead_letters(decoder.source_name, received_at), stream)
    print(
        f"decoded {len(result.messages)} messages, rejected {len(result.rejected)} frames",
        file=sys.stderr,
    )
    return 0
