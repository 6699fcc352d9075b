"""``hotzone export --to FORMAT EVENTS.jsonl``: hotzone messages out in a shared standard."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, InputFile, OutputFile, SubParsers

if TYPE_CHECKING:
    from hotzone.types import AnyMessage, Assessment, Track


def _to_stix(messages: Sequence[AnyMessage]) -> bytes:
    from hotzone.share.stix import bundle_json
    from hotzone.types import Event

    return bundle_json([m for m in messages if isinstance(m, Event)]).encode() + b"\n"


def _tracks_and_assessments(
    messages: Sequence[AnyMessage],
) -> tuple[list[Track], dict[str, Assessment]]:
    from hotzone.types import Assessment, Track

    tracks = sorted((m for m in messages if isinstance(m, Track)), key=lambda t: t.time)
    assessments: dict[str, Assessment] = {}
    for message in messages:
        if isinstance(message, Assessment):
            known = assessments.get(message.track_id)
            if known is None or message.time >= known.time:
                assessments[message.track_id] = message
    return tracks, assessments


def _to_cot(messages: Sequence[AnyMessage]) -> bytes:
    """One CoT event per track update, one per line, stamped with the update's time."""
    from hotzone.share.cot import track_to_cot

    tracks, assessments = _tracks_and_assessments(messages)
    return b"".join(
        track_to_cot(track, assessments.get(track.track_id), now=track.time) + b"\n"
        for track in tracks
    )


def _to_asterix062(messages: Sequence[AnyMessage]) -> bytes:
    """CAT062 data blocks, one record per track update (SAC 0 / SIC 1: set per site)."""
    from hotzone.share.asterix062 import encode_tracks

    tracks, _ = _tracks_and_assessments(messages)
    return b"".join(encode_tracks(tracks, sac=0, sic=1))


def _to_geojson(messages: Sequence[AnyMessage]) -> bytes:
    import json

    from hotzone.share.geojson import tracks_feature_collection

    tracks, assessments = _tracks_and_assessments(messages)
    return json.dumps(tracks_feature_collection(tracks, assessments)).encode() + b"\n"


#: Output format -> exporter (messages -> bytes).
EXPORTERS: dict[str, Callable[[Sequence[AnyMessage]], bytes]] = {
    "asterix062": _to_asterix062,
    "cot": _to_cot,
    "geojson": _to_geojson,
    "stix": _to_stix,
}


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export hotzone JSONL messages to a shared standard (CoT, ASTERIX 062, ...)",
        description="Read hotzone messages (JSON Lines) and write them in the chosen "
        "standard: --to cot writes one Cursor-on-Target event per track update (types from "
        "the assessments in the same file), --to asterix062 CAT062 data blocks, --to "
        "geojson the latest state of each track as a FeatureCollection, --to stix the "
        "cyber alerts as one STIX 2.1 bundle.",
    )
    parser.add_argument("--to", required=True, choices=sorted(EXPORTERS), help="output format")
    parser.add_argument("input", type=InputFile("JSONL file", "jsonl"), help="hotzone JSONL file")
    parser.add_argument(
        "-o", "--output", type=OutputFile(), default=None, help="file (default stdout)"
    )
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
