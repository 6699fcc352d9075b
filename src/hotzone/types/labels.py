"""Releasability labels as a lattice: the one definition every layer uses (docs/federation.md).

A label says which member nations may receive a message:

* ``NATO``: every member nation;
* ``REL X Y …``: the nations listed (order and repeats do not matter: the text is
  normalised to sorted, unique codes);
* ``NATIONAL X``: nation X only. ``REL X`` with a single nation has the same recipients
  as ``NATIONAL X`` and is kept apart only in its text.

More restrictive means released to fewer nations: ``NATIONAL X`` ⊂ ``REL X Y …`` ⊂ ``NATO``.
A message derived from others takes the *meet* of their labels, the most restrictive
label all of them allow: its recipients are the intersection of theirs, so a label never
widens through processing. The result is ``NATIONAL`` when any input was ``NATIONAL``,
``REL`` otherwise, so the meet is commutative, associative and idempotent.

Labels with no nation in common (``NATIONAL PL`` and ``NATIONAL LT``) have no meet:
`Label.meet` raises `LabelConflict`, and hotzone's stages never combine such inputs (the
tracker keeps them on separate tracks, the assessment leaves such evidence out).
`most_restrictive`, for callers that must label a combination anyway, resolves it by
the *first label's own national label*: ``NATIONAL`` of the first nation named by
``default`` (the caller's own label, naming its own nation first) or, when ``default`` is
``NATO``, by the first label that names a nation. That nation is taken to be the
originator, which holds the inputs already; no other nation receives the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

LabelKind = Literal["NATO", "REL", "NATIONAL"]
NATION_PATTERN = r"[A-Z]{2,3}"
_NATION_RE = re.compile(f"^{NATION_PATTERN}$")


class LabelError(ValueError):
    """A releasability label that is not NATO, REL <nations> or NATIONAL <nation>."""


class LabelConflict(LabelError):  # noqa: N818 - a conflict, not an "error" in the data
    """Labels with no nation in common: no one may receive a combination of them."""


def check_nation(code: str, label: str = "") -> str:
    """``code`` if it is a 2- or 3-letter nation code, else `LabelError`."""
    if not isinstance(code, str) or not _NATION_RE.match(code):
        where = f"label {label!r}: " if label else "label nation: "
        raise LabelError(f"{where}{code!r} is not a 2- or 3-letter nation code")
    return code


@dataclass(frozen=True)
class Label:
    """One releasability label; build with `Label.parse` (cached) or the constants.

    ``nations`` is empty for ``NATO``, one code for ``NATIONAL``, one or more for ``REL``.
    Equality is structural: ``REL PL`` and ``NATIONAL PL`` have the same recipients but
    different text, and the meet of the two is ``NATIONAL PL``.
    """

    kind: LabelKind
    nations: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kind == "NATO":
            if self.nations:
                raise LabelError("label NATO names no nations")
        elif self.kind == "REL":
            if not self.nations:
                raise LabelError("label REL needs at least one nation")
        elif self.kind == "NATIONAL":
            if len(self.nations) != 1:
                raise LabelError(
                    f"label NATIONAL needs exactly one nation, got {len(self.nations)}"
                )
        else:
            raise LabelError(f"label kind {self.kind!r} must be NATO, REL or NATIONAL")
        for code in self.nations:
            check_nation(code, self.kind)

    # ------------------------------------------------------------------ text

    @staticmethod
    def parse(text: str) -> Label:
        """``"REL PL LT"`` -> the label; anything malformed raises `LabelError`.

        Tolerant of the order and of repeats of the nations in a ``REL`` list; strict
        about everything else (upper case, single spaces, 2-3 letter codes).
        """
        if not isinstance(text, str):
            raise LabelError(f"a label is text, not {type(text).__name__}")
        return _parse(text)

    @cached_property
    def text(self) -> str:
        """The canonical text, accepted by `RELEASABILITY_PATTERN`: ``REL LT PL``."""
        if self.kind == "NATO":
            return "NATO"
        return " ".join([self.kind, *sorted(self.nations)])

    def __str__(self) -> str:
        return self.text

    # ------------------------------------------------------------------ release

    @property
    def is_nato(self) -> bool:
        return self.kind == "NATO"

    def releasable_to(self, nation: str) -> bool:
        """Whether ``nation`` may receive a message with this label."""
        check_nation(nation, self.text)
        return self.kind == "NATO" or nation in self.nations

    def recipients(self, alliance: Iterable[str]) -> set[str]:
        """The nations of ``alliance`` that may receive it."""
        return {nation for nation in alliance if self.releasable_to(nation)}

    def within(self, other: Label) -> bool:
        """Every nation this label releases to, ``other`` releases to as well."""
        return other.kind == "NATO" or (self.kind != "NATO" and self.nations <= other.nations)

    # ------------------------------------------------------------------ lattice

    def compatible(self, other: Label) -> bool:
        """Some nation may receive both (their meet exists)."""
        return (
            self.kind == "NATO"
            or other.kind == "NATO"
            or not self.nations.isdisjoint(other.nations)
        )

    def meet(self, other: Label) -> Label:
        """The most restrictive label both allow; `LabelConflict` if no nation is common."""
        return _meet(self, other)


NATO = Label("NATO")


@lru_cache(maxsize=4096)
def _parse(text: str) -> Label:
    words = text.split(" ")
    match words:
        case ["NATO"]:
            return NATO
        case ["REL", *codes] if codes:
            return Label("REL", frozenset(check_nation(code, text) for code in codes))
        case ["NATIONAL", code]:
            return Label("NATIONAL", frozenset({check_nation(code, text)}))
    raise LabelError(f"label {text!r} must be NATO, 'REL <nations>' or 'NATIONAL <nation>'")


@lru_cache(maxsize=4096)
def _meet(first: Label, second: Label) -> Label:
    if first.kind == "NATO":
        return second
    if second.kind == "NATO" or first == second:
        return first
    common = first.nations & second.nations
    if not common:
        raise LabelConflict(
            f"labels {first.text!r} and {second.text!r} have no nation in common: "
            "no one may receive what is derived from both"
        )
    national = first.kind == "NATIONAL" or second.kind == "NATIONAL"
    return Label("NATIONAL" if national else "REL", common)


def meet_all(labels: Iterable[Label], start: Label = NATO) -> Label:
    """The meet of ``start`` and every label; `LabelConflict` if they have no common nation."""
    result = start
    for label in labels:
        result = _meet(result, label)
    return result


def _as_label(label: str | Label) -> Label:
    return label if isinstance(label, Label) else Label.parse(label)


def most_restrictive(labels: Iterable[str | Label], default: str | Label = "NATO") -> str:
    """The text of the label for a message derived from messages labelled ``labels``.

    ``default`` is the label the caller would give the message on its own (its configured
    label): the result is never wider than it, and it is the result when ``labels`` is
    empty. Labels with no nation in common resolve to the national label of the first
    label that names a nation, ``default`` first (see the module's docstring). A label
    that does not parse raises `LabelError`.
    """
    given = [default, *labels]
    parsed = [_as_label(label) for label in given]
    try:
        return meet_all(parsed).text
    except LabelConflict:
        raw, first = next((g, p) for g, p in zip(given, parsed, strict=True) if not p.is_nato)
        # The nation the caller named first; a Label has no order, so its first code.
        nation = raw.split(" ")[1] if isinstance(raw, str) else min(first.nations)
        return f"NATIONAL {nation}"


class LabelTable:
    """Labels interned as small integers, with their meets cached.

    For stages that label thousands of messages a second: a message's label text is
    looked up once in a dict, and from then on tracks carry integers.
    """

    def __init__(self) -> None:
        self._labels: list[Label] = []
        self._ids: dict[Label, int] = {}
        self._text_ids: dict[str, int] = {}
        self._meets: dict[tuple[int, int], int] = {}
        self._common: frozenset[str] | None = None  # nations in every label; None: all NATO

    @property
    def conflicting(self) -> bool:
        """Whether some combination of the interned labels has no nation in common (when
        not, every meet exists and no check is needed)."""
        return self._common is not None and not self._common

    def __len__(self) -> int:
        return len(self._labels)

    def intern(self, label: str | Label) -> int:
        """The id of a label (its text parsed once); `LabelError` if it does not parse."""
        if isinstance(label, str):
            found = self._text_ids.get(label)
            if found is not None:
                return found
            identifier = self._intern_label(Label.parse(label))
            self._text_ids[label] = identifier
            return identifier
        return self._intern_label(label)

    def _intern_label(self, label: Label) -> int:
        found = self._ids.get(label)
        if found is not None:
            return found
        identifier = len(self._labels)
        if not label.is_nato:
            self._common = label.nations if self._common is None else self._common & label.nations
        self._labels.append(label)
        self._ids[label] = identifier
        return identifier

    def label(self, identifier: int) -> Label:
        return self._labels[identifier]

    def text(self, identifier: int) -> str:
        return self._labels[identifier].text

    def meet(self, first: int, second: int) -> int:
        """The id of the meet of two ids; -1 (no label) is the identity. Raises
        `LabelConflict` when they have no nation in common."""
        if first < 0 or first == second:
            return second
        if second < 0:
            return first
        key = (first, second) if first < second else (second, first)
        found = self._meets.get(key)
        if found is None:
            found = self._intern_label(self._labels[first].meet(self._labels[second]))
            self._meets[key] = found
        return found

    def compatible(self, first: int, second: int) -> bool:
        if first < 0 or second < 0:
            return True
        return self._labels[first].compatible(self._labels[second])
