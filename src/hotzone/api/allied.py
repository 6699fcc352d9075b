"""Allied copies in a nation's picture, named after their origin.

An ally's tracks, assessments and alerts reach a nation as ``hz.{nation}.ally.{origin}.…``
with the ids their origin gave them, and two nations running the same scenario name their
tracks alike (``suwalki-1`` in PL and in LT). The picture names an allied copy after its
origin (``PL:suwalki-1``, its alerts ``PL:A7``), so an ally's track never overwrites an
own track, whether the picture follows the bus live or replays a nation's store. The
stores and the bus keep the ids the origin gave (what the origin's audit and decisions
refer to).
"""

from __future__ import annotations

import msgspec

from hotzone.types import Alert, AnyMessage, Assessment, Track


def allied_origin(subject: str) -> str | None:
    """``hz.LT.ally.PL.trk.x`` -> ``PL``; an own subject -> None."""
    tokens = subject.split(".")
    if len(tokens) < 5 or tokens[0] != "hz" or tokens[2] != "ally":
        return None
    return tokens[3]


def name_allied_copy(subject: str, message: AnyMessage) -> AnyMessage:
    """The message as the picture shows it: an allied track or alert named after its
    origin; anything else, and everything on an own subject, unchanged."""
    origin = allied_origin(subject)
    if origin is None:
        return message
    match message:
        case Track() | Assessment():
            return msgspec.structs.replace(message, track_id=f"{origin}:{message.track_id}")
        case Alert():
            track_id = message.track_id
            return msgspec.structs.replace(
                message,
                alert_id=f"{origin}:{message.alert_id}",
                # The summary names the origin's track ids: say whose they are.
                summary=f"{origin}: {message.summary}",
                track_id=None if track_id is None else f"{origin}:{track_id}",
            )
        case _:
            return message
