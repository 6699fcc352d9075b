"""What every subcommand shares: one way for bad input to become one line and exit code 2.

A problem with the user's input is found as early as possible and said in one line:

- arguments are checked while they are parsed, by the argparse types below: `Number`
  (finite, in range: ``--duration nan``, ``--seed -1``, ``--duration 1e300``),
  `InputFile` (exists, is a file, readable, of the right kind: text, SQLite, not empty),
  `RunSource` (a run folder or a store), `OutputFile` and `OutputDirectory` (the place
  can be written, with free space checked); `ArgumentParser.error` prints the refusal as
  one line, ``hotzone demo: error: argument --duration: ...``, and exits with 2;
- while a command runs, it raises `CommandError`; the ``hotzone`` command (`hotzone.cli`)
  prints it as one line and returns 2, and does the same for what the system says about a
  file (`describe_os_error`: no space left, read-only file system, permission denied ...)
  and for a store that is not a database.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

if TYPE_CHECKING:
    import ssl


class CommandError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


class SubParsers(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------------ numbers


@dataclass(frozen=True)
class Number:
    """An argparse type: a finite number (an integer with ``integer``) in its range.

    NaN and infinities are refused whatever the range: ``float()`` accepts them, and a
    comparison with NaN is always false, so a plain ``value <= 0`` check lets NaN through.
    """

    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    above_minimum: bool = False  # the minimum itself is refused (a positive duration)
    unit: str = ""

    @property
    def __name__(self) -> str:  # argparse names the type in some of its messages
        return "integer" if self.integer else "number"

    def __call__(self, text: str) -> Any:
        value = self._parse(text)
        low, high = self.minimum, self.maximum
        too_low = low is not None and (value <= low if self.above_minimum else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text}")
        return value

    def _parse(self, text: str) -> float | int:
        try:
            value = int(text, 10) if self.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if self.integer else 'a number'}, got {text!r}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        return value

    def describe(self) -> str:
        unit = f" of {self.unit}" if self.unit else ""
        low = (
            ""
            if self.minimum is None
            else f"{'>' if self.above_minimum else '>='} {self.minimum:g}"
        )
        high = "" if self.maximum is None else f"<= {self.maximum:g}"
        bounds = " and ".join(part for part in (low, high) if part)
        kind = "an integer" if self.integer else "a number"
        return f"{kind}{unit}" + (f" {bounds}" if bounds else "")


WEEK_S = 7 * 86400.0
#: Simulated or run seconds: positive, and at most a week (``sim --duration 1e300`` would
#: allocate for ever); a week of the shipped scenarios is already millions of messages.
DURATION_S = Number(0.0, WEEK_S, above_minimum=True, unit="seconds")
#: A positive time span of an algorithm (a tracker window, a lag, a timeout), up to a day.
SECONDS = Number(0.0, 86400.0, above_minimum=True, unit="seconds")
#: Random seeds are unsigned 32-bit (numpy refuses negative seeds).
SEED = Number(0, 2**32 - 1, integer=True)
PORT = Number(1, 65535, integer=True)
COUNT = Number(1, 1_000_000, integer=True)
#: ``--metrics-port``: 0 asks for a free port (printed).
METRICS_PORT = Number(0, 65535, integer=True)
#: Seconds to wait, where 0 means "do not wait".
TIMEOUT_S = Number(0.0, 86400.0, unit="seconds")


def positive_float_or_max(text: str) -> float:
    """``--speed`` values: a positive finite factor, or ``max`` for as fast as possible."""
    if text == "max":
        return float("inf")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'max', got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'max', got {text}")
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
    if not all(math.isfinite(value) for value in values) or abs(values[-1]) > 1e6:
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    if not (-90 <= values[0] <= 90 and -180 <= values[1] <= 180):
        raise argparse.ArgumentTypeError(f"origin {text!r} is not a latitude and longitude")
    return values[0], values[1], values[2] if len(values) == 3 else 0.0


def comma_list(text: str) -> list[str]:
    """``A,B,C`` -> names; an empty list is refused (``--nations ""``)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


# ------------------------------------------------------------------------------ files

_SNIFF_BYTES = 64 * 1024
_SQLITE_HEADER = b"SQLite format 3\x00"
_GZIP_MAGIC = b"\x1f\x8b"


def _sniff(path: Path) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read(_SNIFF_BYTES)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{path}: {error.strerror}") from None


def _is_text(head: bytes, complete: bool) -> bool:
    """UTF-8 without NUL bytes (a character cut by the sniffing window is allowed)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return not complete and error.start >= len(head) - 3
    return True


def _existing(path: Path, what: str) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"{path}: no such {what}") from None
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{path}: {error.strerror}") from None


@dataclass(frozen=True)
class InputFile:
    """An argparse type: an existing, readable regular file of the right kind.

    ``content`` is ``"text"`` (UTF-8 without NUL bytes: YAML, JSON, keys, TLEs),
    ``"jsonl"`` (text, or gzip-compressed when named ``.gz``), ``"sqlite"`` (a SQLite
    database) or ``"any"`` (a capture whose bytes a decoder judges);
    an empty file is refused unless ``allow_empty``.
    """

    what: str = "file"
    content: str = "any"
    allow_empty: bool = False
    allow_stdin: bool = False  # ``-`` means standard input

    @property
    def __name__(self) -> str:
        return self.what

    def __call__(self, text: str) -> Path:
        path = Path(text)
        if self.allow_stdin and text == "-":
            return path
        status = _existing(path, self.what)
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{path}: is a directory, expected a {self.what}")
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"{path}: not a regular file")
        if not os.access(path, os.R_OK):
            raise argparse.ArgumentTypeError(f"{path}: not readable")
        if status.st_size == 0:
            if self.allow_empty:
                return path
            raise argparse.ArgumentTypeError(f"{path}: is empty, expected a {self.what}")
        check_content(path, self.content, self.what)
        return path


def check_content(path: Path, content: str, what: str) -> None:
    if content == "any":
        return
    head = _sniff(path)
    if content == "sqlite" and not head.startswith(_SQLITE_HEADER):
        raise argparse.ArgumentTypeError(f"{path}: not a SQLite database, expected a {what}")
    if content == "jsonl" and path.name.endswith(".gz") and head.startswith(_GZIP_MAGIC):
        return  # a run's compressed JSON Lines (tracks.jsonl.gz): read_jsonl opens them
    if content in ("text", "jsonl") and not _is_text(head, complete=len(head) < _SNIFF_BYTES):
        raise argparse.ArgumentTypeError(f"{path}: binary data, expected a text {what}")


@dataclass(frozen=True)
class RunSource:
    """An argparse type: a run folder (holding ``hotzone.sqlite``), a SQLite store, or, with
    ``allow_jsonl``, a JSONL file (an exported audit log, which may be empty)."""

    allow_jsonl: bool = False

    __name__ = "run folder"

    def __call__(self, text: str) -> Path:
        path = Path(text)
        _existing(path, "run folder or file")
        if path.is_dir():
            store = path / "hotzone.sqlite"
            if not store.is_file():
                raise argparse.ArgumentTypeError(f"{path}: not a run folder (no hotzone.sqlite)")
            check_content(store, "sqlite", "hotzone store")
            return path
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"{path}: not a regular file")
        head = _sniff(path)
        if head.startswith(_SQLITE_HEADER):
            return path
        if self.allow_jsonl and _is_text(head, complete=len(head) < _SNIFF_BYTES):
            return path
        kinds = (
            "a run folder, a SQLite store or a JSONL file"
            if self.allow_jsonl
            else ("a run folder or a SQLite store")
        )
        raise argparse.ArgumentTypeError(f"{path}: not {kinds}")


def _nearest_existing(path: Path) -> Path:
    candidate = path.absolute()
    while not candidate.exists() and candidate != candidate.parent:
        candidate = candidate.parent
    return candidate


def check_writable_place(path: Path, min_free_bytes: int = 0) -> None:
    """Refuse, as `CommandError`, a place under which nothing can be written: the nearest
    existing folder above ``path`` must be a writable folder with ``min_free_bytes`` free."""
    anchor = _nearest_existing(path)
    if not anchor.is_dir():
        raise CommandError(f"{path}: {anchor} is not a folder")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise CommandError(f"{path}: {anchor} is not writable")
    try:
        free = shutil.disk_usage(anchor).free
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None
    if free < min_free_bytes:
        raise CommandError(
            f"{path}: only {free / 1e6:.0f} MB free on its file system, "
            f"needs about {min_free_bytes / 1e6:.0f} MB"
        )


@dataclass(frozen=True)
class OutputFile:
    """An argparse type: a file to write; not a folder, under a folder that can be written
    (``-`` is standard output where ``allow_stdout``)."""

    allow_stdout: bool = False

    __name__ = "output file"

    def __call__(self, text: str) -> Path:
        path = Path(text)
        if self.allow_stdout and text == "-":
            return path
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{path}: is a directory, expected a file")
        try:
            check_writable_place(path.parent)
        except CommandError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return path


@dataclass(frozen=True)
class OutputDirectory:
    """An argparse type: a folder to write into (made if missing), with free space.

    ``min_free_bytes`` is what the command needs at least: the check is made again when
    the command starts writing (`prepare_output_directory`)."""

    min_free_bytes: int = 0

    __name__ = "output folder"

    def __call__(self, text: str) -> Path:
        path = Path(text)
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{path}: exists and is not a folder")
        try:
            check_writable_place(path, self.min_free_bytes)
        except CommandError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return path


def prepare_output_directory(path: Path, min_free_bytes: int = 0) -> Path:
    """Make ``path`` (and its parents) and check it can take ``min_free_bytes``; every
    failure is a `CommandError`."""
    check_writable_place(path, min_free_bytes)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(describe_os_error(error)) from None
    return path


def describe_os_error(error: OSError) -> str:
    """One line for what the system said about a file: which file, and what is wrong."""
    reason = error.strerror or str(error)
    hints = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the file system is read-only",
        errno.EDQUOT: "the disk quota is used up",
    }
    if error.errno in hints:
        reason = f"{reason} ({hints[error.errno]})"
    name = error.filename if error.filename is not None else None
    return f"{name}: {reason}" if name else reason


def check_sectors(scenario: str | Path, sectors: Sequence[str]) -> None:
    """Refuse sectors the scenario does not have (``node --sectors`` with a typo would
    otherwise run a node that owns nothing and says nothing)."""
    from hotzone.sim.scenario import ScenarioError, load_scenario

    if not sectors:
        return
    try:
        known = {sector.name for sector in load_scenario(scenario).sectors}
    except ScenarioError as error:
        raise CommandError(str(error)) from None
    unknown = [sector for sector in sectors if sector not in known]
    if unknown:
        raise CommandError(
            f"unknown sector {', '.join(map(repr, unknown))} in {scenario}; "
            f"its sectors: {', '.join(sorted(known))}"
        )


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
    parser.add_argument("--window", type=SECONDS, default=1.0, help="seconds per tracker step")
    parser.add_argument("--lag", type=TIMEOUT_S, default=5.0, help="out-of-sequence lag (s)")


def add_metrics_argument(parser: argparse.ArgumentParser) -> None:
    """``--metrics-port``: Prometheus text on http://127.0.0.1:PORT/metrics, off by default
    (`hotzone.runtime.metrics`)."""
    parser.add_argument(
        "--metrics-port",
        type=METRICS_PORT,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics (0: a free port, "
        "printed); off by default",
    )


def add_sapient_tls_arguments(
    parser: argparse.ArgumentParser, clients: str, certificate_names_node: bool = False
) -> None:
    """``--sapient-tls-cert``, ``--sapient-tls-key`` and ``--sapient-client-ca``: TLS on a
    SAPIENT port this command serves (`sapient_tls_context` reads them); ``clients`` says
    who connects to it (e.g. "an effector node"); ``certificate_names_node`` says that the
    command also binds a client's certificate to the node id it registers."""
    binding = (
        ", and the certificate must name the node id it registers (subject CN or "
        "subjectAltName), or its registration is refused"
        if certificate_names_node
        else ""
    )
    tls = parser.add_argument_group(
        "mutual TLS on the SAPIENT port",
        f"with --sapient-client-ca, {clients} must present a certificate signed by that CA, "
        f"or its connection is refused (and counted){binding}",
    )
    tls.add_argument(
        "--sapient-tls-cert",
        type=InputFile("certificate (PEM)", content="text"),
        default=None,
        help="this fusion node's certificate (PEM)",
    )
    tls.add_argument(
        "--sapient-tls-key",
        type=InputFile("private key (PEM)", content="text"),
        default=None,
        help="its private key (PEM)",
    )
    tls.add_argument(
        "--sapient-client-ca",
        type=InputFile("CA certificate (PEM)", content="text"),
        default=None,
        help=f"CA of the client certificates {clients} must present",
    )


def sapient_tls_given(args: argparse.Namespace) -> bool:
    """Whether any of the ``--sapient-tls-*`` / ``--sapient-client-ca`` options was given."""
    return any((args.sapient_tls_cert, args.sapient_tls_key, args.sapient_client_ca))


def sapient_tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The SAPIENT port's TLS from `add_sapient_tls_arguments`' options (None when none was
    given); a certificate without its key, or one that cannot be loaded, is a
    `CommandError`."""
    from hotzone.runtime.sapient_server import server_tls_context

    if not sapient_tls_given(args):
        return None
    if args.sapient_tls_cert is None or args.sapient_tls_key is None:
        raise CommandError("--sapient-tls-cert and --sapient-tls-key go together")
    try:
        return server_tls_context(
            args.sapient_tls_cert, args.sapient_tls_key, args.sapient_client_ca
        )
    except (OSError, ValueError) as error:
        raise CommandError(f"SAPIENT TLS: {error}") from None
