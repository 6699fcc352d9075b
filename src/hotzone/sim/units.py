"""Physical quantities written with units in scenario files.

Scenario authors think in knots, feet and flight levels; the simulator works in SI. A
field typed `Speed`, `Distance`, `Duration` or `AngularRate` accepts either a plain number
(already SI: m/s, m, s, deg/s) or a string such as ``"120 kt"``, ``"250 km/h"``,
``"300 ft"``, ``"FL350"``, ``"5 min"`` or ``"3 deg/s"``, and holds the SI value. A unit of the
wrong dimension (``"5 kg"`` for a speed) is refused with the units that would fit.
"""

from __future__ import annotations

import math
import re
from typing import Any, TypeVar

_FOOT_M = 0.3048
_NAUTICAL_MILE_M = 1852.0
_STATUTE_MILE_M = 1609.344


class Quantity(float):
    """An SI value parsed from a number or a unit string; subclasses name the dimension."""

    dimension = "quantity"
    si_unit = ""
    units: dict[str, float] = {}  # noqa: RUF012 - a read-only table per subclass


class Distance(Quantity):
    """Metres; also altitudes (height above the WGS-84 ellipsoid) and flight levels."""

    dimension = "distance"
    si_unit = "m"
    units = {  # noqa: RUF012
        "m": 1.0,
        "km": 1000.0,
        "ft": _FOOT_M,
        "nm": _NAUTICAL_MILE_M,
        "nmi": _NAUTICAL_MILE_M,
        "mi": _STATUTE_MILE_M,
    }


class Speed(Quantity):
    """Metres per second."""

    dimension = "speed"
    si_unit = "m/s"
    units = {  # noqa: RUF012
        "m/s": 1.0,
        "km/h": 1000.0 / 3600.0,
        "kmh": 1000.0 / 3600.0,
        "kt": _NAUTICAL_MILE_M / 3600.0,
        "kts": _NAUTICAL_MILE_M / 3600.0,
        "kn": _NAUTICAL_MILE_M / 3600.0,
        "mph": _STATUTE_MILE_M / 3600.0,
        "ft/min": _FOOT_M / 60.0,
        "fpm": _FOOT_M / 60.0,
        "ft/s": _FOOT_M,
    }


class Duration(Quantity):
    """Seconds."""

    dimension = "duration"
    si_unit = "s"
    units = {"s": 1.0, "min": 60.0, "h": 3600.0}  # noqa: RUF012


class AngularRate(Quantity):
    """Degrees per second."""

    dimension = "angular rate"
    si_unit = "deg/s"
    units = {"deg/s": 1.0, "°/s": 1.0, "rad/s": math.degrees(1.0)}  # noqa: RUF012


QuantityT = TypeVar("QuantityT", bound=Quantity)

QUANTITY_TYPES: tuple[type[Quantity], ...] = (Distance, Speed, Duration, AngularRate)

_QUANTITY_RE = re.compile(
    r"^\s*(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>\S*)\s*$"
)
_FLIGHT_LEVEL_RE = re.compile(r"^\s*FL\s*(?P<level>\d{1,3})\s*$", re.IGNORECASE)


def parse_quantity(quantity_type: type[QuantityT], value: Any) -> QuantityT:
    """A number (SI) or a unit string -> the SI value; ValueError says what was expected."""
    expected = _expected_text(quantity_type)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{expected}, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{expected}, got {value!r}")
        return quantity_type(value)
    if quantity_type is Distance and (level := _FLIGHT_LEVEL_RE.match(value)):
        return quantity_type(int(level["level"]) * 100 * _FOOT_M)
    match = _QUANTITY_RE.match(value)
    if match is None:
        raise ValueError(f"{expected}, got {value!r}")
    number = float(match["number"])
    unit = match["unit"]
    if not unit:
        return quantity_type(number)
    factor = _unit_factor(quantity_type.units, unit)
    if factor is None:
        other = _dimension_of(unit)
        reason = f"'{unit}' is a {other} unit" if other else f"unknown unit '{unit}'"
        raise ValueError(f"{expected}, got {value!r} ({reason})")
    return quantity_type(number * factor)


def _unit_factor(units: dict[str, float], unit: str) -> float | None:
    if unit in units:
        return units[unit]
    lowered = {name.lower(): factor for name, factor in units.items()}
    return lowered.get(unit.lower())


def _dimension_of(unit: str) -> str | None:
    for quantity_type in QUANTITY_TYPES:
        if _unit_factor(quantity_type.units, unit) is not None:
            return quantity_type.dimension
    return None


def _expected_text(quantity_type: type[Quantity]) -> str:
    names = ", ".join(quantity_type.units)
    extra = " or a flight level such as FL350" if quantity_type is Distance else ""
    return (
        f"expected a {quantity_type.dimension}: a number in {quantity_type.si_unit} "
        f"or a number with one of the units {names}{extra}"
    )


def quantity_decode_hook(target_type: type, value: Any) -> Any:
    """msgspec ``dec_hook``: builds the `Quantity` fields of scenario structs."""
    if isinstance(target_type, type) and issubclass(target_type, Quantity):
        return parse_quantity(target_type, value)
    raise NotImplementedError(f"no decoder for {target_type!r}")
