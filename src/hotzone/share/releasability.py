"""Releasability labels: who may receive a message (DESIGN.md §3).

``NATO`` goes to every member nation, ``REL PL LT`` to the nations named, ``NATIONAL PL``
never leaves Poland. The originating nation always holds its own messages. These pure
functions decide, at the sharing boundary, which allies a message is released to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

_NATION_RE = re.compile(r"^[A-Z]{2,3}$")
LabelKind = Literal["NATO", "REL", "NATIONAL"]


class LabelError(ValueError):
    """A releasability label that is not NATO, REL <nations> or NATIONAL <nation>."""


@dataclass(frozen=True)
class Label:
    kind: LabelKind
    nations: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if self.kind == "NATO":
            return "NATO"
        return " ".join([self.kind, *sorted(self.nations)])


def _nation(code: str, label: str) -> str:
    if not _NATION_RE.match(code):
        raise LabelError(f"label {label!r}: {code!r} is not a 2- or 3-letter nation code")
    return code


def parse_label(text: str) -> Label:
    """``"REL PL LT"`` -> Label("REL", {"PL", "LT"}); anything else malformed is refused."""
    if not isinstance(text, str):
        raise LabelError(f"a label is text, not {type(text).__name__}")
    words = text.split(" ")
    match words:
        case ["NATO"]:
            return Label("NATO")
        case ["REL", *codes] if codes:
            return Label("REL", frozenset(_nation(code, text) for code in codes))
        case ["NATIONAL", code]:
            return Label("NATIONAL", frozenset({_nation(code, text)}))
    raise LabelError(f"label {text!r} must be NATO, 'REL <nations>' or 'NATIONAL <nation>'")


def releasable_to(label: str | Label, nation: str) -> bool:
    """Whether a message labelled ``label`` may be received by ``nation``."""
    parsed = parse_label(label) if isinstance(label, str) else label
    _nation(nation, str(parsed))
    return parsed.kind == "NATO" or nation in parsed.nations


def recipients(label: str | Label, alliance: Iterable[str], origin: str) -> list[str]:
    """The allies (other than ``origin``) that a message of ``origin`` is released to."""
    parsed = parse_label(label) if isinstance(label, str) else label
    return sorted(
        nation for nation in set(alliance) if nation != origin and releasable_to(parsed, nation)
    )
