"""Who may see a response: `hotzone.types.labels` applied to the viewer's nations.

A label that does not parse is never released: withholding is the safe failure.
"""

from __future__ import annotations

from hotzone.types.labels import Label, LabelError


def releasable_to_all(label: str, nations: tuple[str, ...]) -> bool:
    """Releasable to every nation in ``nations`` (a user, and the nation it views as)."""
    try:
        parsed = Label.parse(label)
        return all(parsed.releasable_to(nation) for nation in nations)
    except LabelError:
        return False
