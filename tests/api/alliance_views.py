"""What a nation's page draws of its own, its allies' and its alliance tracks, from the
API's track views: the rule of `shown` in cop.js, and the check that each object is
drawn once."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from hotzone.geo import LocalFrame

View = dict[str, Any]


def drawn(view: View, by_id: dict[str, View]) -> bool:
    """Confirmed, and not under a confirmed alliance track the page holds (cop.js)."""
    cover = by_id.get(view["fused_into"] or "")
    return view["status"] == "confirmed" and not (cover and cover["status"] == "confirmed")


def close(first: View, second: View, within_m: float = 300.0) -> bool:
    """Two national tracks of one object: within ``within_m`` of each other."""
    frame = LocalFrame(first["lat_deg"], first["lon_deg"], 0.0)
    east, north, _ = frame.geodetic_to_enu(
        second["lat_deg"], second["lon_deg"], first["altitude_m"]
    )
    return bool(math.hypot(float(east), float(north)) < within_m)


def objects_drawn(views: list[View], time: str) -> dict[int, int]:
    """For each object tracked at ``time`` (national tracks of that time, grouped by
    distance), how many tracks the page draws for it: its drawn national tracks and the
    alliance tracks over them."""
    by_id = {view["track_id"]: view for view in views}
    nationals = [v for v in views if not v["contributions"] and v["time"] == time]
    objects: dict[int, list[View]] = defaultdict(list)
    for view in nationals:
        objects[min(i for i, other in enumerate(nationals) if close(view, other))].append(view)
    counts = {}
    for key, members in objects.items():
        covers = {m["fused_into"] for m in members if m["fused_into"]}
        covers = {c for c in covers if by_id[c]["status"] == "confirmed"}
        counts[key] = sum(drawn(m, by_id) for m in members) + len(covers)
    return counts
