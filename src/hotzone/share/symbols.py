"""MIL-STD-2525D / APP-6D symbol codes and Cursor-on-Target type codes, in one table.

Every object hotzone shows or shares is drawn from a `TargetClass` and a `StandardIdentity`.
This module turns that pair into the two codes the field speaks:

- the 2525D / APP-6D **symbol identification code** (SIDC), 20 digits::

      digits  1-2   version            "10" = MIL-STD-2525D / APP-6D
              3     context            0 reality, 1 exercise, 2 simulation
              4     standard identity  0 pending, 1 unknown, 2 assumed friend, 3 friend,
                                       4 neutral, 5 suspect, 6 hostile
              5-6   symbol set         00 unknown, 01 air, 02 air missile, 11 land civilian,
                                       15 land equipment, 30 sea surface
              7     status             0 present
              8     HQ / task force / dummy   0 none
              9-10  amplifier          00 none (echelon / mobility)
              11-16 entity, entity type, entity subtype (2 digits each)
              17-18 sector 1 modifier  e.g. 09 passenger (air), 07 cruise (air missile)
              19-20 sector 2 modifier  e.g. 03 light (air)

- the **CoT type** ``a-<affiliation>-<dimension>-<function...>``: atom ``a``, affiliation
  letter (``p u a f n s h``), battle dimension (``A`` air, ``G`` ground, ``S`` sea surface,
  ``Z`` unknown) and the MIL-STD-2525B/C function code one character per field, the
  convention every TAK client draws (``a-h-A-M-F-Q``: hostile military fixed-wing drone).

The table holds one row per class: the symbol used for every identity, and, for classes
that exist both as military and civil objects, the civil symbol used when the object is
neutral (a neutral helicopter is a civil helicopter; a hostile one is military).
docs/symbols.md lists the resulting code for every class x identity pair.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hotzone.types import StandardIdentity, TargetClass

SIDC_VERSION_2525D = "10"


class SymbolContext(enum.StrEnum):
    """SIDC digit 3: whether the object is real, exercise or simulated."""

    REALITY = "0"
    EXERCISE = "1"
    SIMULATION = "2"


class BattleDimension(enum.StrEnum):
    """The CoT battle dimension letter (third field of an atom's type)."""

    SPACE = "P"
    AIR = "A"
    GROUND = "G"
    SEA_SURFACE = "S"
    SUBSURFACE = "U"
    UNKNOWN = "Z"


#: SIDC digit 4 per standard identity (2525D table A-II).
IDENTITY_DIGIT: dict[StandardIdentity, str] = {
    StandardIdentity.PENDING: "0",
    StandardIdentity.UNKNOWN: "1",
    StandardIdentity.ASSUMED_FRIEND: "2",
    StandardIdentity.FRIEND: "3",
    StandardIdentity.NEUTRAL: "4",
    StandardIdentity.SUSPECT: "5",
    StandardIdentity.HOSTILE: "6",
}

#: CoT affiliation letter (second field of an atom's type) per standard identity.
COT_AFFILIATION: dict[StandardIdentity, str] = {
    StandardIdentity.PENDING: "p",
    StandardIdentity.UNKNOWN: "u",
    StandardIdentity.ASSUMED_FRIEND: "a",
    StandardIdentity.FRIEND: "f",
    StandardIdentity.NEUTRAL: "n",
    StandardIdentity.SUSPECT: "s",
    StandardIdentity.HOSTILE: "h",
}


@dataclass(frozen=True)
class Symbol:
    """One symbol: the identity-free parts of its SIDC and of its CoT type."""

    symbol_set: str  # SIDC digits 5-6
    entity: str  # SIDC digits 11-16: entity, entity type, entity subtype
    dimension: BattleDimension  # CoT battle dimension
    function: str = ""  # CoT function, 2525B/C letters without separators ("MFQ")
    modifier_1: str = "00"  # SIDC digits 17-18
    modifier_2: str = "00"  # SIDC digits 19-20
    description: str = ""


@dataclass(frozen=True)
class ClassSymbols:
    """How one target class is drawn: always ``symbol``, or ``civil`` when neutral."""

    symbol: Symbol
    civil: Symbol | None = None


_CIVIL_FIXED_WING = "120100"
_CIVIL_ROTARY_WING = "120200"
_CIVIL_UAV = "120300"
_MILITARY_ROTARY_WING = "110200"
_MILITARY_UAV = "110300"
_AIR_MISSILE = "110000"
_NO_ICON = "000000"  # the frame alone: dimension and identity, nothing more known

#: The symbol table (2525D symbol sets 01, 02, 11, 15, 30 and 00).
SYMBOLS: dict[TargetClass, ClassSymbols] = {
    TargetClass.AIRLINER: ClassSymbols(
        Symbol(
            "01",
            _CIVIL_FIXED_WING,
            BattleDimension.AIR,
            "CF",
            modifier_1="09",
            description="civil fixed wing, passenger",
        ),
    ),
    TargetClass.LIGHT_AIRCRAFT: ClassSymbols(
        Symbol(
            "01",
            _CIVIL_FIXED_WING,
            BattleDimension.AIR,
            "CF",
            modifier_2="03",
            description="civil fixed wing, light",
        ),
    ),
    TargetClass.HELICOPTER: ClassSymbols(
        Symbol(
            "01",
            _MILITARY_ROTARY_WING,
            BattleDimension.AIR,
            "MH",
            description="military rotary wing",
        ),
        civil=Symbol(
            "01", _CIVIL_ROTARY_WING, BattleDimension.AIR, "CH", description="civil rotary wing"
        ),
    ),
    TargetClass.SMALL_UAV: ClassSymbols(
        Symbol(
            "01",
            _MILITARY_UAV,
            BattleDimension.AIR,
            "MFQ",
            description="military unmanned aerial vehicle",
        ),
        # 2525B/C (and so CoT) have no civil drone: CoT keeps the drone function.
        civil=Symbol(
            "01",
            _CIVIL_UAV,
            BattleDimension.AIR,
            "MFQ",
            description="civil unmanned aerial vehicle",
        ),
    ),
    TargetClass.ONE_WAY_ATTACK_DRONE: ClassSymbols(
        Symbol(
            "01",
            _MILITARY_UAV,
            BattleDimension.AIR,
            "MFQA",
            modifier_1="01",
            description="military unmanned aerial vehicle, attack",
        ),
    ),
    TargetClass.CRUISE_MISSILE: ClassSymbols(
        Symbol(
            "02",
            _AIR_MISSILE,
            BattleDimension.AIR,
            "WMCM",
            modifier_1="07",
            description="missile in flight, cruise",
        ),
    ),
    TargetClass.BALLISTIC_MISSILE: ClassSymbols(
        Symbol(
            "02",
            _AIR_MISSILE,
            BattleDimension.AIR,
            "WMB",
            modifier_1="06",
            description="missile in flight, ballistic",
        ),
    ),
    # 2525D has no symbol for birds: an air track with the frame alone.
    TargetClass.BIRD_FLOCK: ClassSymbols(
        Symbol("01", _NO_ICON, BattleDimension.AIR, description="air track, no icon"),
    ),
    TargetClass.GROUND_VEHICLE: ClassSymbols(
        Symbol(
            "15",
            "140100",
            BattleDimension.GROUND,
            "EV",
            description="ground vehicle (utility vehicle)",
        ),
        civil=Symbol(
            "15",
            "160100",
            BattleDimension.GROUND,
            "EVC",
            description="civilian vehicle, automobile",
        ),
    ),
    # A person is not assumed to be a soldier: 2525D's civilian individual; CoT draws
    # non-neutral dismounts as infantry, the TAK convention (2525B/C has no individual).
    TargetClass.PERSON: ClassSymbols(
        Symbol(
            "11", "110300", BattleDimension.GROUND, "UCI", description="individual (dismounted)"
        ),
        civil=Symbol("11", "110300", BattleDimension.GROUND, description="civilian individual"),
    ),
    TargetClass.VESSEL: ClassSymbols(
        Symbol("30", _NO_ICON, BattleDimension.SEA_SURFACE, description="sea surface track"),
        civil=Symbol(
            "30",
            "140000",
            BattleDimension.SEA_SURFACE,
            "X",
            description="civilian (non-military) vessel",
        ),
    ),
    TargetClass.CLUTTER: ClassSymbols(
        Symbol("00", _NO_ICON, BattleDimension.UNKNOWN, description="unknown dimension"),
    ),
    TargetClass.UNKNOWN: ClassSymbols(
        Symbol("00", _NO_ICON, BattleDimension.UNKNOWN, description="unknown dimension"),
    ),
}


def symbol_for(target_class: TargetClass, identity: StandardIdentity) -> Symbol:
    """The symbol drawn for one class with one standard identity."""
    row = SYMBOLS[TargetClass(target_class)]
    if row.civil is not None and identity == StandardIdentity.NEUTRAL:
        return row.civil
    return row.symbol


def sidc_for(
    target_class: TargetClass,
    identity: StandardIdentity,
    context: SymbolContext = SymbolContext.REALITY,
) -> str:
    """The 20-digit MIL-STD-2525D / APP-6D SIDC of one class with one identity."""
    symbol = symbol_for(target_class, identity)
    return "".join(
        (
            SIDC_VERSION_2525D,
            SymbolContext(context).value,
            IDENTITY_DIGIT[StandardIdentity(identity)],
            symbol.symbol_set,
            "0",  # status: present
            "0",  # no headquarters, task force or dummy
            "00",  # no echelon or mobility amplifier
            symbol.entity,
            symbol.modifier_1,
            symbol.modifier_2,
        )
    )


def cot_type_from_parts(
    identity: StandardIdentity, dimension: BattleDimension, function: str
) -> str:
    """``a-<affiliation>-<dimension>[-<function letter>...]``, one letter per field."""
    fields = ["a", COT_AFFILIATION[StandardIdentity(identity)], BattleDimension(dimension).value]
    fields.extend(function)
    return "-".join(fields)


def cot_type_for(target_class: TargetClass, identity: StandardIdentity) -> str:
    """The CoT type of one class with one identity, e.g. ``a-h-A-M-F-Q`` for a hostile UAV."""
    symbol = symbol_for(target_class, identity)
    return cot_type_from_parts(identity, symbol.dimension, symbol.function)


def symbol_rows() -> list[tuple[TargetClass, StandardIdentity, str, str]]:
    """Every (class, identity, SIDC, CoT type) hotzone uses, in enum order (for docs, tests)."""
    return [
        (
            target_class,
            identity,
            sidc_for(target_class, identity),
            cot_type_for(target_class, identity),
        )
        for target_class in TargetClass
        for identity in StandardIdentity
    ]
