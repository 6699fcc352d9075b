"""Releasability at the sharing boundary: who may receive a message (docs/formats.md).

``NATO`` goes to every member nation, ``REL PL LT`` to the nations named, ``NATIONAL PL``
never leaves Poland. The originating nation always holds its own messages. The labels
themselves, and the rule that derived messages take the most restrictive label of their
inputs, are `hotzone.types.labels`; these functions decide, at the sharing boundary,
which allies a message is released to.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotzone.types.labels import Label, LabelConflict, LabelError, LabelKind, most_restrictive

__all__ = [
    "Label",
    "LabelConflict",
    "LabelError",
    "LabelKind",
    "most_restrictive",
    "parse_label",
    "recipients",
    "releasable_to",
]


def parse_label(text: str) -> Label:
    """``"REL PL LT"`` -> Label("REL", {"PL", "LT"}); anything else malformed is refused."""
    return Label.parse(text)


def releasable_to(label: str | Label, nation: str) -> bool:
    """Whether a message labelled ``label`` may be received by ``nation``."""
    parsed = Label.parse(label) if isinstance(label, str) else label
    return parsed.releasable_to(nation)


def recipients(label: str | Label, alliance: Iterable[str], origin: str) -> list[str]:
    """The allies (other than ``origin``) that a message of ``origin`` is released to."""
    parsed = Label.parse(label) if isinstance(label, str) else label
    return sorted(parsed.recipients(set(alliance)) - {origin})
