"""What every subcommand shares."""

from __future__ import annotations

import argparse
from typing import Any, Protocol


class CommandError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


class SubParsers(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def positive_float_or_max(text: str) -> float:
    """``--speed`` values: a positive factor, or ``max`` for as fast as possible."""
    if text == "max":
        return float("inf")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'max', got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"speed must be positive, got {text}")
    return value


def parse_origin(text: str) -> tuple[float, float, float]:
    """``LAT,LON`` or ``LAT,LON,HEIGHT`` in degrees and metres."""
    parts = text.split(",")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected LAT,LON[,HEIGHT], got {text!r}")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        message = f"expected numbers in LAT,LON[,HEIGHT], got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not (-90 <= values[0] <= 90 and -180 <= values[1] <= 180):
        raise argparse.ArgumentTypeError(f"origin {text!r} is not a latitude and longitude")
    return values[0], values[1], values[2] if len(values) == 3 else 0.0


def add_tracking_arguments(parser: Any, default_origin: str) -> None:
    """--origin, --sector, --window and --lag: how a command's tracker is set up (``parser``
    is a parser or an argument group; ``default_origin`` says where the frame goes)."""
    parser.add_argument(
        "--origin",
        type=parse_origin,
        default=None,
        help=f"sector frame origin LAT,LON[,HEIGHT] (default: {default_origin})",
    )
    parser.add_argument("--sector", default="", help="sector name put on every track")
    parser.add_argument("--window", type=float, default=1.0, help="seconds per tracker step")
    parser.add_argument("--lag", type=float, default=5.0, help="out-of-sequence lag (s)")
