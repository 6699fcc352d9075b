"""``hotzone decode FORMAT [FILE|-]``: print the normalized messages of a capture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotzone.commands.common import CommandError, InputFile, OutputFile, SubParsers

READ_CHUNK_BYTES = 1 << 20


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode a capture in a standard format to hotzone JSONL",
        description="Decode FILE (or standard input) in FORMAT and print one hotzone "
        "message per line. Refused frames are reported on standard error and, with "
        "--dead-letters, written as dead_letter messages.",
    )
    parser.add_argument("format", metavar="FORMAT", help="input format (see --list)")
    parser.add_argument(
        "file",
        nargs="?",
        type=InputFile("capture file", allow_stdin=True),
        default=Path("-"),
        help="capture file, or - for stdin",
    )
    parser.add_argument(
        "--sensors",
        type=InputFile("sensors file", "text"),
        default=None,
        help="sensor positions (YAML)",
    )
    parser.add_argument("--source-id", default=None, help="name of the feed")
    parser.add_argument(
        "--dead-letters", type=OutputFile(), default=None, help="write refusals here"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from contextlib import ExitStack
    from datetime import UTC, datetime

    from hotzone.ingest.base import DecoderOptions
    from hotzone.ingest.registry import decoder_factories
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
    received_at = datetime.now(UTC)
    decoded = refused = 0
    with ExitStack() as files:
        dead_letters = (
            files.enter_context(open(args.dead_letters, "wb")) if args.dead_letters else None
        )
        from_stdin = str(args.file) == "-"
        source = sys.stdin.buffer if from_stdin else files.enter_context(open(args.file, "rb"))
        # Read in chunks: memory stays bounded by the decoder's own caps, not the file size.
        while True:
            chunk = source.read(READ_CHUNK_BYTES)
            result = decoder.feed(chunk, received_at) if chunk else decoder.flush(received_at)
            write_jsonl(result.messages, sys.stdout.buffer)
            for item in result.rejected:
                print(f"rejected: {item.reason}", file=sys.stderr)
            if dead_letters is not None:
                write_jsonl(result.dead_letters(decoder.source_name, received_at), dead_letters)
            decoded += len(result.messages)
            refused += len(result.rejected)
            if not chunk:
                break
    sys.stdout.flush()
    print(f"decoded {decoded} messages, rejected {refused} frames", file=sys.stderr)
    if refused and not decoded:
        # Every frame refused: the wrong format or not a capture at all.
        raise CommandError(f"no {args.format} message in {args.file}")
    return 0
