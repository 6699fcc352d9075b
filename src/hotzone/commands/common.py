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
