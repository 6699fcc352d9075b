"""Allied copies named after their origin, and the tracks fused from several nations.

An ally's tracks, assessments and alerts reach a nation as ``hz.{nation}.ally.{origin}.…``
with the ids their origin gave them, and two nations running the same scenario name their
tracks alike (``suwalki-1`` in PL and in LT). Wherever a nation handles its own and its
allies' tracks together (its picture, its alliance fusion) an allied copy is named after
its origin (``PL:suwalki-1``, its alerts ``PL:A7``), so an ally's track never overwrites
an own track. The stores and the bus keep the ids the origin gave (what the origin's
audit and decisions refer to).

A track a nation fuses from its own and its allies' tracks of one object (an *alliance
track*, `hotzone.fusion.track_to_track`) names what it was made from in
`Track.contributions` as ``NATION:track_id``, the own nation's tracks included.
"""

from __future__ import annotations

import msgspec

from hotzone.types.messages import Alert, AnyMessage, Assessment, Track

ORIGIN_SEPARATOR = ":"


def allied_origin(subject: str) -> str | None:
    """``hz.LT.ally.PL.trk.x`` -> ``PL``; an own subject -> None."""
    tokens = subject.split(".")
    if len(tokens) < 5 or tokens[0] != "hz" or tokens[2] != "ally":
        return None
    return tokens[3]


def split_origin(name: str) -> tuple[str | None, str]:
    """``PL:suwalki-1`` -> (``PL``, ``suwalki-1``); an own id (no origin) -> (None, id)."""
    origin, separator, rest = name.partition(ORIGIN_SEPARATOR)
    if not separator:
        return None, name
    return origin, rest


def contribution(nation: str, track_id: str) -> str:
    """How an alliance track names one national track it was made from: ``PL:suwalki-1``."""
    return f"{nation}{ORIGIN_SEPARATOR}{track_id}"


def contributing_nations(track: Track) -> list[str]:
    """The nations whose tracks an alliance track was fused from, sorted (none for a
    national track)."""
    return sorted({split_origin(name)[0] or "" for name in track.contributions} - {""})


def name_allied_copy(subject: str, message: AnyMessage) -> AnyMessage:
    """The message as a nation handles it beside its own: an allied track or alert named
    after its origin; anything else, and everything on an own subject, unchanged."""
    origin = allied_origin(subject)
    if origin is None:
        return message
    match message:
        case Track():
            # An ally's copy stands for the ally's own track: a claim to be fused from
            # others' (allies never share their alliance tracks) is dropped, so it can
            # neither hide a nation's tracks on its page nor escape being fused.
            return msgspec.structs.replace(
                message, track_id=contribution(origin, message.track_id), contributions=()
            )
        case Assessment():
            return msgspec.structs.replace(message, track_id=contribution(origin, message.track_id))
        case Alert():
            track_id = message.track_id
            return msgspec.structs.replace(
                message,
                alert_id=contribution(origin, message.alert_id),
                # The summary names the origin's track ids: say whose they are.
                summary=f"{origin}: {message.summary}",
                track_id=None if track_id is None else contribution(origin, track_id),
            )
        case _:
            return message
