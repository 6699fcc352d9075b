"""Bus subject names (DESIGN.md §4) and NATS-style wildcard matching.

Subjects are dot-separated tokens. In a pattern ``*`` matches exactly one token and ``>``
(last token only) matches one or more tokens, as in NATS, so the in-process bus, the NATS
bus and the store's replay filter agree on what a pattern selects.
"""

from __future__ import annotations

import re

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


class SubjectError(ValueError):
    """A subject or pattern that is not well formed."""


def _check_token(token: str, subject: str) -> str:
    if not _TOKEN_RE.match(token):
        raise SubjectError(f"subject {subject!r}: token {token!r} must be letters, digits, _ or -")
    return token


def subject(*tokens: str) -> str:
    """Join tokens into a subject, refusing empty tokens, dots and wildcards inside them."""
    joined = ".".join(tokens)
    for token in tokens:
        _check_token(token, joined)
    return joined


def detection_subject(nation: str, sector: str, sensor_id: str) -> str:
    return subject("hz", nation, "det", sector or "none", sensor_id)


def track_subject(nation: str, sector: str) -> str:
    return subject("hz", nation, "trk", sector or "none")


def alliance_track_subject(nation: str) -> str:
    """The tracks a nation fuses from its own and its allies' tracks: not ``trk``, so no
    stage of its own takes them as its tracks and nothing shares them onward."""
    return subject("hz", nation, "alliance", "trk")


def alert_subject(nation: str) -> str:
    return subject("hz", nation, "alert")


C2_KINDS = ("proposal", "decision", "order", "status", "outcome", "state")
"""c2 subjects: proposals, decisions in, orders out, proposal status, decision outcomes and
the node's state (run mode, abort)."""


def c2_subject(nation: str, kind: str) -> str:
    if kind not in C2_KINDS:
        raise SubjectError(f"c2 subject kind must be one of {', '.join(C2_KINDS)}, not {kind!r}")
    return subject("hz", nation, "c2", kind)


def audit_subject(nation: str) -> str:
    return subject("hz", nation, "audit")


def checkpoint_subject(nation: str) -> str:
    """Signed heads of the nation's audit chain (shared with allies as witnesses)."""
    return subject("hz", nation, "audit", "checkpoint")


def as_token(text: str) -> str:
    """``text`` made a valid subject token: other characters become ``_`` (``fusion/sat-1``
    -> ``fusion_sat-1``), so free-form names such as a dead letter's source can route."""
    token = re.sub(r"[^A-Za-z0-9_\-]", "_", text)
    return token or "_"


def dead_letter_subject(nation: str, source: str) -> str:
    return subject("hz", nation, "dead", as_token(source))


def share_subject(label: str) -> str:
    """``hz.share.{label}``; spaces in a label such as ``REL PL LT`` become ``_``."""
    return subject("hz", "share", label.replace(" ", "_"))


def clock_subject(nation: str) -> str:
    """Ticks of the (possibly simulated) clock that tell stages a scan window is complete."""
    return subject("hz", nation, "clock")


def validate_pattern(pattern: str) -> list[str]:
    tokens = pattern.split(".")
    for index, token in enumerate(tokens):
        if token == ">":
            if index != len(tokens) - 1:
                raise SubjectError(f"pattern {pattern!r}: '>' may only be the last token")
        elif token != "*":
            _check_token(token, pattern)
    return tokens


def subject_matches(pattern: str, candidate: str) -> bool:
    """Whether ``candidate`` (a concrete subject) is selected by ``pattern``."""
    pattern_tokens = pattern.split(".")
    subject_tokens = candidate.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens):
            return False
        if token != "*" and token != subject_tokens[index]:
            return False
    return len(subject_tokens) == len(pattern_tokens)
