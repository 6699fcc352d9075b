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
