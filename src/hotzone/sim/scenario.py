"""The scenario file: what exists, where, and when, for one simulated run.

A scenario is a YAML file decoded into the msgspec structs below, so every field is
checked for type, range and unit on load, and no unknown field passes. Quantities with a
unit (``speed: 120 kt``, ``altitude: FL350``, ``radius: 5 km``, ``start: 2 min``) are
described in `hotzone.sim.units`; times inside the run are offsets from ``start``.
Sensors are `hotzone.sim.sensors.SensorConfig` entries; targets are
`hotzone.sim.targets.TargetSpec` entries.

``load_scenario("suwalki-drones")`` loads a shipped scenario (``src/hotzone/sim/data/``,
also reachable as ``scenarios/`` at the repository root); any other argument is a path.
Every problem raises `ScenarioError` with one line: file, line, field path and what was
expected, e.g. ``x.yaml:14: $.targets[2].position.lat_deg: expected a value <= 90.0, got 95``.
"""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

from hotzone.geo import LocalFrame
from hotzone.sim.sensors import SensorConfig
from hotzone.sim.targets import (
    Latitude,
    Longitude,
    Place,
    TargetSpec,
    TrajectoryError,
    build_targets,
)
from hotzone.sim.units import Distance, Duration, quantity_decode_hook
from hotzone.types.messages import RELEASABILITY_PATTERN

SHIPPED_SCENARIO_PACKAGE = "hotzone.sim"
SHIPPED_SCENARIO_FOLDER = "data"

Name = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="letters, digits, '_', '-', '.' (it may become a bus subject token)",
    ),
]
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2")]
LatLon = tuple[Latitude, Longitude]
Polyline = Annotated[list[LatLon], msgspec.Meta(min_length=2)]
UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
Releasability = Annotated[str, msgspec.Meta(pattern=RELEASABILITY_PATTERN)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0.0, le=7 * 86_400.0)]


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message is one line naming file and field."""


class Area(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The bounding box of the scenario (the map view, the region of interest)."""

    south_deg: Latitude
    west_deg: Longitude
    north_deg: Latitude
    east_deg: Longitude


class Sector(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A fusion sector with the origin of its local East-North-Up frame."""

    name: Name
    origin: Place


class DefendedAsset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    position: Place
    radius: Distance
    kind: str = ""


class Border(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A border line; ``countries`` are the states on either side, e.g. [PL, BY]."""

    countries: tuple[CountryCode, CountryCode]
    points: Polyline
    name: str = ""


class JammingAreaSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GNSS interference from ``start`` to ``end`` (offsets; no end: the end of the run)."""

    center: Place
    radius: Distance
    start: Duration = Duration(0.0)
    end: Duration | None = None
    strength: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 1.0
    name: str = ""


class CyberAttackSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An attack on the site of ``sensor`` from ``start`` to ``end`` (offsets)."""

    sensor: str
    start: Duration
    end: Duration
    kind: str = "intrusion"
    severity: Annotated[int, msgspec.Meta(ge=0, le=10)] = 7


class InfrastructureLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A subsea cable or pipeline that anomaly detection watches over."""

    name: str
    kind: Literal["power_cable", "telecom_cable", "gas_pipeline", "oil_pipeline"]
    points: Polyline


class ScenarioSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Everything a scenario file may say."""

    name: Name
    start: UtcTime
    duration_s: PositiveSeconds
    area: Area
    sectors: Annotated[list[Sector], msgspec.Meta(min_length=1)]
    description: str = ""
    step_s: PositiveSeconds = 1.0
    releasability: Releasability = "NATO"
    # The c2 file (effectors, rules of engagement, national authority), relative to the
    # scenario file; none: the c2 file shipped under the scenario's name, if any.
    c2: str | None = None
    defended_assets: list[DefendedAsset] = msgspec.field(default_factory=list)
    borders: list[Border] = msgspec.field(default_factory=list)
    # Policy, not geography: the states a border crossing from which makes a track suspect.
    hostile_states: list[CountryCode] = msgspec.field(default_factory=list)
    jamming_areas: list[JammingAreaSpec] = msgspec.field(default_factory=list)
    cyber_attacks: list[CyberAttackSpec] = msgspec.field(default_factory=list)
    infrastructure: list[InfrastructureLine] = msgspec.field(default_factory=list)
    sensors: list[SensorConfig] = msgspec.field(default_factory=list)
    targets: list[TargetSpec] = msgspec.field(default_factory=list)


class Scenario(ScenarioSpec, frozen=True, kw_only=True):
    """A loaded scenario and the file it came from (None when built in code)."""

    source_path: Path | None = None

    @property
    def frame(self) -> LocalFrame:
        """The scenario frame: the ENU frame of the first sector, used by all truth."""
        origin = self.sectors[0].origin
        return LocalFrame(origin.lat_deg, origin.lon_deg, float(origin.altitude))

    @property
    def start_posix(self) -> float:
        return self.start.timestamp()

    def named_c2_path(self) -> Path | None:
        """The c2 file this scenario names (``c2:``), resolved beside the scenario file."""
        if self.c2 is None:
            return None
        named = Path(self.c2)
        if named.is_absolute() or self.source_path is None:
            return named
        return Path(self.source_path).parent / named

    def sector_frames(self) -> dict[str, LocalFrame]:
        return {
            sector.name: LocalFrame(
                sector.origin.lat_deg, sector.origin.lon_deg, float(sector.origin.altitude)
            )
            for sector in self.sectors
        }


# --------------------------------------------------------------------------- loading


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with hotzone."""
    folder = resources.files(SHIPPED_SCENARIO_PACKAGE) / SHIPPED_SCENARIO_FOLDER
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def shipped_scenario_path(name: str) -> Path:
    folder = resources.files(SHIPPED_SCENARIO_PACKAGE) / SHIPPED_SCENARIO_FOLDER
    return Path(str(folder / f"{name}.yaml"))


def _resolve(path_or_name: str | Path) -> Path:
    path = Path(path_or_name)
    if path.is_file():
        return path
    text = str(path_or_name)
    looks_like_name = "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml"))
    if looks_like_name:
        shipped = shipped_scenario_path(text)
        if shipped.is_file():
            return shipped
        names = ", ".join(shipped_scenarios())
        raise ScenarioError(f"{text}: no such scenario file or shipped scenario (shipped: {names})")
    if path.exists():
        raise ScenarioError(f"{text}: is not a file")
    raise ScenarioError(f"{text}: no such scenario file")


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load and check a scenario file or shipped scenario; raises `ScenarioError`."""
    path = _resolve(path_or_name)
    shown = str(path_or_name) if Path(path_or_name).is_file() else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{shown}: cannot read: {error}") from None
    return parse_scenario(text, shown, source_path=path)


def parse_scenario(
    text: str, shown: str = "<scenario>", source_path: Path | None = None
) -> Scenario:
    """Decode and check scenario YAML ``text``; ``shown`` names it in error messages."""
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        problem = error.problem or error.context or "unreadable"
        raise ScenarioError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{shown}: invalid YAML: {_one_line(str(error))}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{shown}: $: expected a mapping of scenario fields, got {_describe(raw)}"
        )
    try:
        spec = msgspec.convert(raw, ScenarioSpec, dec_hook=quantity_decode_hook)
    except msgspec.ValidationError as error:
        path, message = _split_msgspec_error(str(error))
        message = _explain(message, path, raw)
        unknown = re.match(r"Object contains unknown field `(?P<name>[^`]*)`", str(error))
        if unknown:
            path = f"{path}.{unknown['name']}"
        raise ScenarioError(_locate(shown, text, path, message)) from None
    scenario = Scenario(**msgspec.structs.asdict(spec), source_path=source_path)
    try:
        check_scenario(scenario)
    except _FieldError as error:
        raise ScenarioError(_locate(shown, text, error.path, error.message)) from None
    return scenario


class _FieldError(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def check_scenario(scenario: Scenario) -> None:
    """Rules spanning several fields (unique names, references, time order, routes)."""
    area = scenario.area
    if area.south_deg >= area.north_deg:
        raise _FieldError(
            "$.area.north_deg", f"expected a value above south_deg ({area.south_deg})"
        )
    if area.west_deg >= area.east_deg:
        raise _FieldError("$.area.east_deg", f"expected a value above west_deg ({area.west_deg})")
    _check_unique("$.sectors", "name", [sector.name for sector in scenario.sectors])
    _check_unique("$.sensors", "id", [sensor.id for sensor in scenario.sensors])
    _check_unique("$.targets", "id", [target.id for target in scenario.targets])
    sector_names = {sector.name for sector in scenario.sectors}
    sensor_ids = {sensor.id for sensor in scenario.sensors}
    for index, sensor in enumerate(scenario.sensors):
        if sensor.sector is not None and sensor.sector not in sector_names:
            raise _FieldError(
                f"$.sensors[{index}].sector",
                f"expected one of the sectors {sorted(sector_names)}, got {sensor.sector!r}",
            )
        for monitored in getattr(sensor, "monitored_sensor_ids", ()):
            if monitored not in sensor_ids:
                raise _FieldError(
                    f"$.sensors[{index}].monitored_sensor_ids",
                    f"no sensor has the id {monitored!r}",
                )
    for index, attack in enumerate(scenario.cyber_attacks):
        path = f"$.cyber_attacks[{index}]"
        if attack.sensor not in sensor_ids:
            raise _FieldError(f"{path}.sensor", f"no sensor has the id {attack.sensor!r}")
        if attack.end <= attack.start:
            raise _FieldError(f"{path}.end", f"expected a time after start ({attack.start:g} s)")
    for index, jamming in enumerate(scenario.jamming_areas):
        if jamming.end is not None and jamming.end <= jamming.start:
            raise _FieldError(
                f"$.jamming_areas[{index}].end",
                f"expected a time after start ({jamming.start:g} s)",
            )
        if jamming.radius <= 0.0:
            raise _FieldError(f"$.jamming_areas[{index}].radius", "expected a positive radius")
    for index, asset in enumerate(scenario.defended_assets):
        if asset.radius <= 0.0:
            raise _FieldError(f"$.defended_assets[{index}].radius", "expected a positive radius")
    try:
        build_targets(scenario.targets, scenario.frame, scenario.start_posix)
    except TrajectoryError as error:
        raise _FieldError(error.path, error.message) from None


def _check_unique(path: str, field: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise _FieldError(f"{path}[{index}].{field}", f"duplicate {field} {name!r}")
        seen.add(name)


# --------------------------------------------------------------------------- error text

_MSGSPEC_PATH_RE = re.compile(r"^(?P<message>.*) - at `(?P<path>\$[^`]*)`$", re.DOTALL)
_PATH_TOKEN_RE = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_TYPE_WORDS = {
    "float": "a number",
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "object": "a mapping",
    "array": "a list",
    "datetime": "a date-time with a timezone (e.g. 2025-03-14T02:00:00Z)",
    "null": "nothing",
}


def _split_msgspec_error(text: str) -> tuple[str, str]:
    match = _MSGSPEC_PATH_RE.match(text)
    if match is None:
        return "$", text
    return match["path"], match["message"]


def _path_tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for key, index in _PATH_TOKEN_RE.findall(path.removeprefix("$")):
        tokens.append(int(index) if index else key)
    return tokens


_MISSING = object()


def _value_at(raw: Any, path: str) -> Any:
    value = raw
    for token in _path_tokens(path):
        in_list = isinstance(token, int) and isinstance(value, list) and token < len(value)
        in_mapping = isinstance(token, str) and isinstance(value, dict) and token in value
        if not (in_list or in_mapping):
            return _MISSING
        value = value[token]
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | str | int | float):
        return repr(value) if not isinstance(value, datetime) else value.isoformat()
    return type(value).__name__


def _explain(message: str, path: str, raw: Any) -> str:
    """msgspec's wording -> plain words, with the allowed values and the value found."""
    unknown = re.match(r"Object contains unknown field `(?P<name>[^`]*)`", message)
    if unknown:
        allowed = _allowed_fields(path, raw)
        hint = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        return f"unknown field {unknown['name']!r}{hint}"
    missing = re.match(r"Object missing required field `(?P<name>[^`]*)`", message)
    if missing:
        return f"missing required field {missing['name']!r}"
    if message.startswith(("Invalid enum value", "Invalid value")):
        choices = _allowed_values(path, raw)
        found = _value_at(raw, path)
        shown = _describe(found) if found is not _MISSING else "another value"
        if choices:
            return f"expected one of {', '.join(choices)}; got {shown}"
        return f"invalid value {shown}"
    if message.startswith("Expected"):
        text = "expected" + message[len("Expected") :]
        text = re.sub(r"`(\w+)`", lambda match: _TYPE_WORDS.get(match[1], match[1]), text)
        text = text.replace("a number <=", "a value <=").replace("a number >=", "a value >=")
        text = text.replace("a number <", "a value <").replace("a number >", "a value >")
        text = re.sub(r", got (a |an )?(\w+)$", "", text)
        found = _value_at(raw, path)
        if found is not _MISSING:
            text = f"{text}, got {_describe(found)}"
        return text
    return message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message


def _type_at(path: str, raw: Any) -> Any:
    """The msgspec.inspect type expected at ``path`` (picking union members by tag)."""
    current: Any = msgspec.inspect.type_info(ScenarioSpec)
    value: Any = raw
    for token in [*_path_tokens(path), None]:
        current = _unwrap(current, value)
        if token is None:
            return current
        if isinstance(current, msgspec.inspect.StructType) and isinstance(token, str):
            fields = {field.encode_name: field.type for field in current.fields}
            if token not in fields:
                return None
            current = fields[token]
        elif isinstance(current, msgspec.inspect.ListType | msgspec.inspect.TupleType):
            current = (
                current.item_type
                if isinstance(current, msgspec.inspect.ListType)
                else current.item_types[token if isinstance(token, int) else 0]
            )
        elif isinstance(current, msgspec.inspect.VarTupleType):
            current = current.item_type
        else:
            return None
        value = _step(value, token)
    return current


def _step(value: Any, token: str | int) -> Any:
    if isinstance(token, int) and isinstance(value, list) and token < len(value):
        return value[token]
    if isinstance(token, str) and isinstance(value, dict):
        return value.get(token)
    return None


def _unwrap(current: Any, value: Any) -> Any:
    while isinstance(current, msgspec.inspect.Metadata):
        current = current.type
    if isinstance(current, msgspec.inspect.UnionType):
        members = [
            member for member in current.types if not isinstance(member, msgspec.inspect.NoneType)
        ]
        structs = [member for member in members if isinstance(member, msgspec.inspect.StructType)]
        if len(structs) > 1 and isinstance(value, dict):
            tag_field = structs[0].tag_field
            for member in structs:
                if tag_field is not None and value.get(tag_field) == member.tag:
                    return member
            return current
        if len(members) == 1:
            return _unwrap(members[0], value)
    return current


def _allowed_fields(path: str, raw: Any) -> list[str]:
    found = _type_at(path, raw)
    if isinstance(found, msgspec.inspect.StructType):
        return [field.encode_name for field in found.fields]
    return []


def _allowed_values(path: str, raw: Any) -> list[str]:
    tokens = _path_tokens(path)
    found = _type_at(path, raw)
    if isinstance(found, msgspec.inspect.EnumType):
        return [str(member.value) for member in found.cls]
    if isinstance(found, msgspec.inspect.LiteralType):
        return [str(value) for value in found.values]
    if tokens and isinstance(tokens[-1], str):
        # A tag: the union of structs sits one level up.
        parent_path = path[: path.rfind(".")]
        parent: Any = msgspec.inspect.type_info(ScenarioSpec)
        parent = _type_at(parent_path, raw)
        if isinstance(parent, msgspec.inspect.UnionType):
            return [
                str(member.tag)
                for member in parent.types
                if isinstance(member, msgspec.inspect.StructType) and member.tag is not None
            ]
    return []


def _line_of(text: str, path: str) -> int | None:
    """1-based line of the YAML node at ``path`` (or of its nearest existing parent)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None if node is None else node.start_mark.line + 1
    for token in _path_tokens(path):
        if isinstance(node, yaml.MappingNode) and isinstance(token, str):
            for key_node, value_node in node.value:
                if key_node.value == token:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(token, int):
            if token >= len(node.value):
                return line
            node = node.value[token]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _locate(shown: str, text: str, path: str, message: str) -> str:
    line = _line_of(text, path)
    where = f"{shown}:{line}" if line is not None else shown
    return f"{where}: {path}: {_one_line(message)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
