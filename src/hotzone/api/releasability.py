"""Who may see a response: `hotzone.share.releasability` applied to the viewer's nations.

A label that does not parse is never released: withholding is the safe failure.
"""

from __future__ import annotations

from hotzone.share.releasability import LabelError, releasable_to


def releasable_to_all(label: str, nations: tuple[str, ...]) -> bool:
    """Releasable to every nation in ``nations`` (a user, and the nation it views as)."""
    try:
        return all(releasable_to(label, nation) for nation in nations)
    except LabelError:
        return False
