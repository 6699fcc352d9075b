"""What c2 is given per scenario: effectors, rules of engagement, defended assets.

These live in their own YAML file named after the scenario (``c2/data/<scenario>.yaml``),
so the simulator's scenario format stays c2-agnostic and the same effector and ROE file can be
used with live inputs. Unknown fields are refused, with the path of the bad field.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import msgspec
import yaml

from hotzone.types import EffectClass, GeoPoint, StandardIdentity, TargetClass

if TYPE_CHECKING:
    from hotzone.sim.scenario import Scenario

Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Positive = Annotated[float, msgspec.Meta(gt=0.0)]


class C2ConfigError(ValueError):
    """A c2 file that cannot be used, with the reason and where."""


class EffectorKind(enum.StrEnum):
    CAMERA = "camera"
    RADAR = "radar"
    INTERCEPTOR_DRONE = "interceptor_drone"
    SHORAD = "shorad"
    MRAD = "mrad"
    EW_JAMMER = "ew_jammer"
    QUICK_REACTION_TEAM = "quick_reaction_team"
    UGV = "ugv"


class Readiness(enum.StrEnum):
    """How soon an effector can act: ``standby`` triples the reaction time."""

    READY = "ready"
    STANDBY = "standby"
    UNAVAILABLE = "unavailable"


class EffectorSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One effector: where it is, what it reaches, how fast, how many times, at what cost."""

    id: str
    kind: EffectorKind
    effect_class: EffectClass
    country: str  # ISO 3166-1 alpha-2 of the nation operating it
    position: GeoPoint
    max_range_m: Positive
    min_range_m: NonNegative = 0.0
    max_altitude_m: float = 15_000.0
    speed_mps: Positive = 300_000_000.0  # of the effect: interceptor, missile, team; light for EW
    reaction_s: NonNegative = 0.0
    capacity: Annotated[int, msgspec.Meta(ge=0)] = 1
    # Probability that one engagement stops a target of each class; absent classes: 0.
    probability_of_effect: dict[TargetClass, Probability] = msgspec.field(default_factory=dict)
    cost_eur: NonNegative = 0.0
    readiness: Readiness = Readiness.READY
    action: str = "engage"


class AreaSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A named area given by its corners ``[lat_deg, lon_deg]``; heights bound corridors."""

    name: str
    points: list[tuple[float, float]]
    min_height_m: float = -1_000.0
    max_height_m: float = 100_000.0


class WeaponControlStatus(enum.StrEnum):
    """Air-defence weapon control: ``free`` (not friend), ``tight`` (hostile only), ``hold``."""

    FREE = "free"
    TIGHT = "tight"
    HOLD = "hold"


_DEFAULT_PROTECTED_IDENTITIES = [
    StandardIdentity.PENDING,
    StandardIdentity.UNKNOWN,
    StandardIdentity.ASSUMED_FRIEND,
    StandardIdentity.FRIEND,
    StandardIdentity.NEUTRAL,
]
_DEFAULT_PROTECTED_CLASSES = [
    TargetClass.AIRLINER,
    TargetClass.LIGHT_AIRCRAFT,
    TargetClass.HELICOPTER,
    TargetClass.PERSON,
    TargetClass.BIRD_FLOCK,
]


class SectorRoe(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Rules of engagement of one sector (``sector: "*"`` applies where none is named)."""

    sector: str
    weapon_control_status: WeaponControlStatus = WeaponControlStatus.TIGHT
    own_countries: list[str] = msgspec.field(default_factory=list)
    no_fire_areas: list[AreaSpec] = msgspec.field(default_factory=list)
    civil_air_corridors: list[AreaSpec] = msgspec.field(default_factory=list)
    protected_identities: list[StandardIdentity] = msgspec.field(
        default_factory=lambda: list(_DEFAULT_PROTECTED_IDENTITIES)
    )
    protected_classes: list[TargetClass] = msgspec.field(
        default_factory=lambda: list(_DEFAULT_PROTECTED_CLASSES)
    )


class AssetSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A defended asset: threats are ranked by how soon they reach one."""

    name: str
    position: GeoPoint
    radius_m: Positive


class ApprovalRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How many distinct people must approve an effect class, and whether one of them must
    be a commander (the two-person rule for lethal effects)."""

    count: Annotated[int, msgspec.Meta(ge=1)] = 1
    commander: bool = False


class CoalitionRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Operators of ``deciders`` may decide on effectors of ``effector_country`` too."""

    effector_country: str
    deciders: list[str]


def _default_approvals() -> dict[EffectClass, ApprovalRule]:
    return {
        EffectClass.NON_KINETIC: ApprovalRule(count=1),
        EffectClass.KINETIC: ApprovalRule(count=2, commander=True),
    }


class AuthoritySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """National authority (docs/operators.md): who may decide on which nation's effectors and
    who may abort. By default only operators of the effector's own nation decide on it and
    only the node's own nation aborts; coalition rules widen that, as data."""

    approvals: dict[EffectClass, ApprovalRule] = msgspec.field(default_factory=_default_approvals)
    coalition: list[CoalitionRule] = msgspec.field(default_factory=list)
    abort_nations: list[str] = msgspec.field(default_factory=list)


class C2Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Everything c2 needs to know about a scenario."""

    effectors: list[EffectorSpec]
    roe: list[SectorRoe]
    assets: list[AssetSpec] = msgspec.field(default_factory=list)
    authority: AuthoritySpec = msgspec.field(default_factory=AuthoritySpec)
    proposal_lifetime_s: Positive = 60.0
    position_tolerance_m: Positive = 3_000.0
    min_threat_score: Probability = 0.3

    def effector(self, effector_id: str) -> EffectorSpec:
        for effector in self.effectors:
            if effector.id == effector_id:
                return effector
        raise C2ConfigError(f"no effector {effector_id!r}")

    def roe_for(self, sector: str) -> SectorRoe | None:
        by_sector = {roe.sector: roe for roe in self.roe}
        return by_sector.get(sector, by_sector.get("*"))


def shipped_c2_path(scenario_name: str) -> Path:
    """The c2 file shipped for a scenario: ``c2/data/<name>.yaml``."""
    return Path(__file__).resolve().parent / "data" / f"{scenario_name}.yaml"


_Spec = TypeVar("_Spec")


def convert_yaml(text: str, source: str, kind: type[_Spec], error: type[ValueError]) -> _Spec:
    """``text`` (YAML) as a ``kind``; anything wrong is one line: ``error`` naming
    ``source`` and, for a field, its path (what the c2 and the gateway files share)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        # PyYAML points at the place over several lines; an error here is one line.
        raise error(f"{source}: not YAML: {' '.join(str(problem).split())}") from None
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as problem:
        raise error(f"{source}: {problem}") from None


def read_data_file(
    path_or_scenario: Path | str, shipped: Callable[[str], Path], error: type[ValueError]
) -> tuple[str, str]:
    """(text, its path) of a file given by path, or of the one ``shipped`` with the
    scenario of that name (a name has no suffix); a file that cannot be read is ``error``."""
    path = Path(path_or_scenario)
    if not path.suffix:
        path = shipped(str(path_or_scenario))
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as problem:
        raise error(f"{path}: {problem.strerror}") from None


def parse_c2_spec(text: str, source: str = "<c2 spec>") -> C2Spec:
    spec = convert_yaml(text, source, C2Spec, C2ConfigError)
    _check(spec, source)
    return spec


def c2_config_path(scenario: Scenario) -> Path | None:
    """The c2 file of ``scenario``: the one it names, else the one shipped under its name.

    None when there is neither (a run without a response stage, which says so); a named
    file that does not exist is an error, never a silent run without c2.
    """
    named = scenario.named_c2_path()
    if named is not None:
        if not named.is_file():
            raise C2ConfigError(f"{named}: no such c2 file (named by scenario {scenario.name})")
        return named
    shipped = shipped_c2_path(scenario.name)
    return shipped if shipped.is_file() else None


def load_c2_spec(path_or_scenario: Path | str) -> C2Spec:
    """Load a c2 file by path, or the one shipped with a scenario by the scenario's name."""
    return parse_c2_spec(*read_data_file(path_or_scenario, shipped_c2_path, C2ConfigError))


def _check(spec: C2Spec, source: str) -> None:
    seen: set[str] = set()
    for index, effector in enumerate(spec.effectors):
        if effector.id in seen:
            raise C2ConfigError(f"{source}: effectors[{index}].id {effector.id!r} repeats")
        seen.add(effector.id)
        if effector.min_range_m >= effector.max_range_m:
            raise C2ConfigError(
                f"{source}: effectors[{index}] ({effector.id}): min_range_m must be below "
                f"max_range_m"
            )
    for index, roe in enumerate(spec.roe):
        for kind, areas in (
            ("no_fire_areas", roe.no_fire_areas),
            ("civil_air_corridors", roe.civil_air_corridors),
        ):
            for area_index, area in enumerate(areas):
                if len(area.points) < 3:
                    raise C2ConfigError(
                        f"{source}: roe[{index}].{kind}[{area_index}] ({area.name}) needs at "
                        f"least 3 points"
                    )
                for lat, lon in area.points:
                    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                        raise C2ConfigError(
                            f"{source}: roe[{index}].{kind}[{area_index}] ({area.name}): "
                            f"point ({lat}, {lon}) is not on Earth"
                        )
