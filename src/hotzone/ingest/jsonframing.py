"""Cutting a stream of JSON documents apart, and parsing one, with bounded work.

Input may hold one document, several concatenated, one per line, or one pretty-printed
over many lines, and a document may be split across reads. `JsonDocumentFramer` finds
where each top-level object or array ends by counting brackets outside strings (each byte
is looked at once, by regular expressions without repetition groups, so nothing
backtracks), and refuses a document before it is parsed when it grows beyond
``max_document_bytes`` or nests deeper than ``max_depth``. `parse_json_document` then
parses one framed document, refusing integers of more than ``MAX_INTEGER_DIGITS`` digits
before they are converted (Python's own limit, 4,300 digits, raises a bare ``ValueError``)
and the non-standard constants ``NaN`` and ``Infinity``.

Resynchronization: a document whose first line is already not JSON (``{broken``) is
refused up to that line's end and framing restarts after it, so one bad line does not
swallow the documents that follow it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hotzone.ingest.base import IngestError

MAX_INTEGER_DIGITS = 20  # every integer of a 64-bit field, signed or not
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_DOCUMENT_BYTES = 16 << 20

_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
# Outside a string: a bracket, a line break, or a string's opening quote with the plain
# characters after it and, when no escape or line break comes first, its closing quote.
_STRUCTURE = re.compile(rb'[\[\]{}\n]|"[^"\\\n]*"?')
_IN_STRING = re.compile(rb'["\\\n]')  # what ends a string, escapes, or breaks it
_QUOTE = ord('"')


@dataclass(frozen=True)
class FramedJson:
    """One document cut from the stream, or a refused piece of it (``reason`` set)."""

    raw: bytes
    reason: str | None = None


class JsonDocumentFramer:
    """Cuts a byte stream into top-level JSON objects and arrays, without parsing them."""

    def __init__(
        self,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.max_document_bytes = max_document_bytes
        self.max_depth = max_depth
        self._buffer = bytearray()
        self._reset()

    def push(self, data: bytes) -> list[FramedJson]:
        documents: list[FramedJson] = []
        self._buffer += data
        while self._step(documents):
            pass
        self._check_size(documents)
        self._keep()
        return documents

    def flush(self) -> list[FramedJson]:
        """End of the stream: an unfinished document, or stray text, is refused."""
        documents: list[FramedJson] = []
        rest = bytes(self._buffer[self._position :]).strip()
        if self._start is not None and not self._discarding:
            documents.append(
                FramedJson(
                    bytes(self._buffer[self._start :]),
                    "not JSON: the input ended inside a document",
                )
            )
        elif self._start is None and rest:
            documents.append(FramedJson(rest, "not JSON: text outside a document"))
        self._buffer.clear()
        self._reset()
        return documents

    def _reset(self) -> None:
        self._position = 0  # where scanning resumes in the buffer
        self._start: int | None = None  # start of the document being framed
        self._depth = 0
        self._in_string = False
        self._first_line_checked = False
        self._discarding = False  # inside a refused document: count depth, keep nothing

    def _step(self, documents: list[FramedJson]) -> bool:
        """Scan one token; False when the rest must wait for more input."""
        if self._start is None:
            return self._between_documents(documents)
        if self._in_string:
            return self._inside_string(documents)
        match = _STRUCTURE.search(self._buffer, self._position)
        if match is None:
            self._position = len(self._buffer)
            return False
        at, self._position = match.span()
        token = self._buffer[at]
        if token == _QUOTE:
            closed = self._position - at >= 2 and self._buffer[self._position - 1] == _QUOTE
            self._in_string = not closed
        elif token in b"[{":
            self._depth += 1
            if self._depth > self.max_depth and not self._discarding:
                self._refuse(documents, f"nested too deep: more than {self.max_depth} levels")
        elif token in b"]}":
            self._depth -= 1
            if self._depth == 0:
                self._complete(documents, at + 1)
                return True
        else:
            self._newline(documents, at)
            return True
        self._check_size(documents)
        return True

    def _between_documents(self, documents: list[FramedJson]) -> bool:
        match = _NOT_SPACE.search(self._buffer, self._position)
        if match is None:
            self._position = len(self._buffer)
            return False
        at = match.start()
        if self._buffer[at] in b"[{":
            self._start, self._position, self._depth = at, at + 1, 1
            self._in_string = self._first_line_checked = self._discarding = False
            return True
        newline = self._buffer.find(b"\n", at)
        if newline >= 0:
            text = bytes(self._buffer[at:newline]).strip()
            documents.append(FramedJson(text, "not JSON: text outside a document"))
            self._position = newline + 1
            return True
        if len(self._buffer) - at > self.max_document_bytes:
            documents.append(
                FramedJson(
                    bytes(self._buffer[at : at + 4096]),
                    f"not JSON: text outside a document, over {self.max_document_bytes} bytes",
                )
            )
            self._position = len(self._buffer)
        else:
            self._position = at  # the line may go on in the next read
        return False

    def _inside_string(self, documents: list[FramedJson]) -> bool:
        match = _IN_STRING.search(self._buffer, self._position)
        if match is None:
            self._position = len(self._buffer)
            return False
        at = match.start()
        token = self._buffer[at]
        if token == _QUOTE:
            self._in_string = False
            self._position = at + 1
        elif token == ord("\\"):
            if at + 1 >= len(self._buffer):
                self._position = at  # the escaped character is in the next read
                return False
            self._position = at + 2
        else:
            # A raw line break inside a string is not JSON; judged like any first line.
            self._newline(documents, at)
            return True
        self._check_size(documents)
        return True

    def _newline(self, documents: list[FramedJson], at: int) -> None:
        """At the first line break of a document: is its first line already broken?"""
        self._position = at + 1
        if self._first_line_checked or self._discarding or self._start is None:
            return
        self._first_line_checked = True
        line = bytes(self._buffer[self._start : at]).rstrip()
        broken = _first_line_error(line)
        if broken is not None:
            documents.append(FramedJson(line, broken))
            self._start = None
            self._in_string = False

    def _check_size(self, documents: list[FramedJson]) -> None:
        if self._start is None or self._discarding:
            return
        if self._position - self._start > self.max_document_bytes:
            self._refuse(
                documents, f"oversize: document larger than {self.max_document_bytes} bytes"
            )

    def _refuse(self, documents: list[FramedJson], reason: str) -> None:
        """Refuse the document being framed; its end is still found by counting depth."""
        assert self._start is not None
        documents.append(FramedJson(bytes(self._buffer[self._start : self._start + 4096]), reason))
        self._discarding = True

    def _complete(self, documents: list[FramedJson], end: int) -> None:
        if not self._discarding and self._start is not None:
            documents.append(FramedJson(bytes(self._buffer[self._start : end])))
        self._start = None
        self._discarding = False
        self._in_string = False

    def _keep(self) -> None:
        """Drop what no later read needs: framed documents, and a refused one's bytes."""
        if self._start is not None and not self._discarding:
            keep_from = self._start
        else:
            keep_from = self._position
        del self._buffer[:keep_from]
        self._position -= keep_from
        if self._start is not None:
            self._start = max(0, self._start - keep_from)


def _first_line_error(line: bytes) -> str | None:
    """Why the first line of an unfinished document cannot begin any JSON document, or
    None when it may (the parser stopped only because the line ended)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 text: {error.reason}"
    try:
        _DECODER.decode(text)
    except json.JSONDecodeError as error:
        return f"not JSON: {error.msg}" if error.pos < len(text) else None
    except (_RefusedValueError, RecursionError):
        return None  # judged when the document is complete
    return None


def _bounded_integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _RefusedValueError(f"integer of {digits} digits (at most {MAX_INTEGER_DIGITS})")
    return int(text)


def _no_constant(text: str) -> Any:
    raise _RefusedValueError(f"{text} is not JSON")


class _RefusedValueError(ValueError):
    """Raised from inside the parser's hooks; becomes an `IngestError`."""


_DECODER = json.JSONDecoder(parse_int=_bounded_integer, parse_constant=_no_constant)


def parse_json_document(raw: bytes) -> Any:
    """One whole JSON document -> Python objects; `IngestError` (with ``offset`` where the
    parser says) for anything else, including integers too long and ``NaN``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IngestError(f"not UTF-8 text: {error.reason}", offset=error.start) from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"not JSON: {error.msg}", offset=error.pos) from None
    except _RefusedValueError as error:
        raise IngestError(f"not JSON: {error}") from None
    except RecursionError:
        raise IngestError("not JSON: nested too deep") from None
