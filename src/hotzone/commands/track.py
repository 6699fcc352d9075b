"""``hotzone track INPUT --out tracks.jsonl``: run the tracker over recorded detections."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import (
    CommandError,
    InputFile,
    OutputFile,
    SubParsers,
    add_tracking_arguments,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hotzone.commands.plot_tracking import PlotCapture
    from hotzone.runtime.windows import ReplaySummary, TrackingSettings
    from hotzone.types import AnyMessage, DeadLetter, Event


def read_messages(path: Path) -> tuple[list[object], list[DeadLetter]]:
    """Decoded messages of a JSONL file; a line that does not decode becomes a dead letter
    naming the file and line, and the rest is still used."""
    from hotzone.types import DeadLetter, DecodeError, ValidationError, from_json, open_jsonl

    messages: list[object] = []
    unreadable: list[DeadLetter] = []
    with open_jsonl(path) as stream:
        for line_number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                messages.append(from_json(line))
            except (DecodeError, ValidationError, RecursionError) as error:
                reason = "JSON nested too deep" if isinstance(error, RecursionError) else str(error)
                unreadable.append(
                    DeadLetter(
                        time=datetime.now(UTC),
                        source=f"{path}:{line_number}",
                        reason=reason,
                        raw=line.rstrip(b"\n"),
                    )
                )
    return messages, unreadable


def decode_capture(
    path: Path, input_format: str, sensors: Path | None, recorded_at: datetime | None = None
) -> tuple[list[object], list[DeadLetter]]:
    """Messages of a capture in a standard format, in delivery order, and its refusals;
    times that carry no date (ASTERIX times of day) are placed within 12 h of
    ``recorded_at`` (default: now)."""
    from hotzone.ingest.base import DecoderOptions
    from hotzone.ingest.registry import decoder_factories
    from hotzone.runtime.windows import delivery_time, timed_as_recorded
    from hotzone.types import Detection, Report

    factories = decoder_factories()
    if input_format not in factories:
        known = ", ".join(sorted(factories))
        raise CommandError(f"unknown format {input_format!r}; known formats: {known}")
    try:
        decoder = factories[input_format](DecoderOptions(sensors_file=sensors))
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    received_at = recorded_at or datetime.now(UTC)
    result = decoder.feed(path.read_bytes(), received_at)
    result.extend(decoder.flush(received_at))
    # Decoding a recorded capture now says nothing of when it was received: replay it by
    # the times the messages themselves carry.
    timed = [timed_as_recorded(m) for m in result.messages if isinstance(m, Detection | Report)]
    timed.sort(key=delivery_time)
    return list(timed), result.dead_letters(decoder.source_name, received_at)


def _track_encoder(output_format: str) -> Callable[[Sequence[AnyMessage]], bytes]:
    """How one window's tracks become bytes: JSONL, or a standard via the exporters."""
    from hotzone.commands.export import EXPORTERS
    from hotzone.types import to_json

    if output_format == "jsonl":
        return lambda tracks: b"".join(to_json(track) + b"\n" for track in tracks)
    return EXPORTERS[output_format]


def recording_time(text: str) -> datetime:
    """``--recorded-at``: an ISO 8601 time (``Z`` or an offset; none means UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2025-06-01T12:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "track",
        help="fuse detections and reports from a JSONL file into tracks",
        description="Run hotzone's multi-sensor tracker over INPUT and write the tracks to "
        "--out. INPUT is hotzone JSON Lines (as written by 'hotzone sim') or, with --from, "
        "a capture in a standard format (asterix, sbs, readsb, ais, gmti, cot, sapient, ...; "
        "see 'hotzone decode'). With --to the tracks are written as Cursor-on-Target "
        "events or ASTERIX CAT062 blocks; every confirmed track is reported every window.",
    )
    parser.add_argument(
        "input", type=InputFile("input"), help="detections: JSONL, or a capture with --from"
    )
    parser.add_argument(
        "--out", type=OutputFile(), required=True, help="file to write the tracks to"
    )
    parser.add_argument(
        "--from",
        dest="input_format",
        default="jsonl",
        metavar="FORMAT",
        help="input format (default jsonl: hotzone messages)",
    )
    parser.add_argument(
        "--sensors",
        type=InputFile("sensors file", "text"),
        default=None,
        help="sensor sites for --from (e.g. ASTERIX SAC/SIC)",
    )
    parser.add_argument(
        "--to",
        dest="output_format",
        choices=("jsonl", "cot", "asterix062"),
        default="jsonl",
        help="output format (default jsonl)",
    )
    add_tracking_arguments(parser, default_origin="mean sensor position")
    parser.add_argument(
        "--all", action="store_true", help="write tentative tracks too (default: confirmed)"
    )
    parser.add_argument(
        "--dead-letters", type=OutputFile(), default=None, help="write rejected inputs here (JSONL)"
    )
    parser.add_argument(
        "--recorded-at",
        type=recording_time,
        default=None,
        metavar="TIME",
        help="when the capture was recorded (ISO 8601, UTC unless it says otherwise, e.g. "
        "2025-06-01T12:00Z): times without a date (ASTERIX times of day) are placed within "
        "12 h of it (default: now, right for a capture recorded less than 12 h ago)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.fusion.allocator import keep_large_arrays_in_heap
    from hotzone.runtime.windows import ReplaySummary, tracking_windows

    # This process tracks: its large temporaries are reused from the heap, not remapped.
    keep_large_arrays_in_heap()
    capture = _plot_capture(args) if args.input_format == "asterix" else None
    if capture is not None:
        return _run_plots(args, capture)
    if args.input_format == "jsonl":
        messages, unreadable = read_messages(args.input)
    else:
        messages, unreadable = decode_capture(
            args.input, args.input_format, args.sensors, args.recorded_at
        )
    if not messages:
        first = f"; first problem: {unreadable[0].reason}" if unreadable else ""
        raise CommandError(f"{args.input}: no readable message{first}")
    settings = _settings(args)
    summary = ReplaySummary(dead_letters=list(unreadable))
    try:
        # The frame, when not given, is placed at the mean sensor position of them all.
        windows = tracking_windows(settings, messages, summary)
    except ValueError as error:
        raise CommandError(str(error)) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    encode = _track_encoder(args.output_format)
    with open(args.out, "wb") as stream:
        for message in messages:
            for tracks in windows.push(message):
                stream.write(encode(tracks))
        last = windows.finish()
        if last is not None:
            stream.write(encode(last))
    _report(args, summary, windows.stage.take_events())
    return 0


def _settings(args: argparse.Namespace) -> TrackingSettings:
    from hotzone.geo import LocalFrame
    from hotzone.runtime.windows import TrackingSettings

    return TrackingSettings(
        window_s=args.window,
        lag_s=args.lag,
        origin=LocalFrame(*args.origin) if args.origin else None,
        sector=args.sector,
        confirmed_only=not args.all,
    )


def _report(args: argparse.Namespace, summary: ReplaySummary, events: Sequence[Event]) -> None:
    from hotzone.types import write_jsonl

    if args.dead_letters is not None:
        with open(args.dead_letters, "wb") as stream:
            write_jsonl(summary.dead_letters, stream)
    for event in events:
        # Two confirmed tracks of one address far apart: said, never merged.
        print(f"identity conflict: {event.summary}", file=sys.stderr)
    print(
        f"{summary.messages} messages in {summary.windows} windows -> "
        f"{summary.track_messages} track messages, {len(summary.confirmed_numbers)} confirmed "
        f"tracks; {len(summary.dead_letters)} rejected, {summary.late} later than the lag"
    )


def _plot_capture(args: argparse.Namespace) -> PlotCapture | None:
    """A capture of whole CAT048 data blocks decoded to columns (None: anything else,
    which the message path decodes)."""
    from hotzone.commands.plot_tracking import decode_plot_capture
    from hotzone.ingest.asterix import AsterixDecoder
    from hotzone.ingest.base import DecoderOptions

    try:
        decoder = AsterixDecoder.from_options(DecoderOptions(sensors_file=args.sensors))
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    return decode_plot_capture(args.input.read_bytes(), decoder, args.recorded_at)


def _run_plots(args: argparse.Namespace, capture: PlotCapture) -> int:
    """`run` on a CAT048 capture, column-wise (`hotzone.commands.plot_tracking`): the
    same windows, tracks, output and dead letters."""
    from hotzone.commands.plot_tracking import PlotTracking, track_plots
    from hotzone.runtime.windows import ReplaySummary

    summary = ReplaySummary()
    try:
        # The frame, when not given, is placed at the mean sensor position of the plots.
        tracking = PlotTracking(capture, _settings(args), summary)
    except ValueError as error:
        raise CommandError(str(error)) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as stream:
        events = track_plots(
            tracking, args.output_format, _track_encoder(args.output_format), stream
        )
    _report(args, summary, events)
    return 0
