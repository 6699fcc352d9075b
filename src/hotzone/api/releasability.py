"""Who may see a message: its releasability label against the viewer's nation.

A stand-in for `hotzone.share.releasability` until federation lands: labels are ``NATO``
(every member), ``REL PL LT`` (the listed nations) and ``NATIONAL PL`` (that nation only).
An unknown label is never released: withholding is the safe failure.
"""

from __future__ import annotations

NATO_MEMBERS = frozenset(
    {
        "AL",
        "BE",
        "BG",
        "CA",
        "HR",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IS",
        "IT",
        "LV",
        "LT",
        "LU",
        "ME",
        "NL",
        "MK",
        "NO",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "TR",
        "GB",
        "US",
    }
)


def releasable_to(label: str, nation: str) -> bool:
    """Whether a message labelled ``label`` may be shown to a user of ``nation``."""
    tokens = label.split()
    if tokens == ["NATO"]:
        return nation in NATO_MEMBERS
    if len(tokens) >= 2 and tokens[0] == "REL":
        return nation in tokens[1:]
    if len(tokens) == 2 and tokens[0] == "NATIONAL":
        return nation == tokens[1]
    return False


def releasable_to_all(label: str, nations: tuple[str, ...]) -> bool:
    """Releasable to every nation in ``nations`` (a user viewing as another nation)."""
    return all(releasable_to(label, nation) for nation in nations)
