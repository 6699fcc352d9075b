"""The symbol table: every class x identity gets a SIDC and a CoT type that milsymbol draws.

milsymbol (npm, pinned in package.json, installed by ``npm ci`` in the Makefile) is the
reference: the symbology library the web picture uses, run under node.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hotzone.share.symbols import (
    COT_AFFILIATION,
    IDENTITY_DIGIT,
    SymbolContext,
    cot_type_for,
    sidc_for,
    symbol_rows,
)
from hotzone.types import StandardIdentity, TargetClass

REPO = Path(__file__).parents[2]
MILSYMBOL = REPO / "node_modules" / "milsymbol"
DOC = REPO / "docs" / "symbols.md"

# Reads a JSON list of SIDCs on stdin, answers each one's validity and metadata.
_NODE_SCRIPT = """
const ms = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((sidc) => {
    const symbol = new ms.Symbol(sidc);
    const meta = symbol.getMetadata();
    return {
      sidc: sidc,
      valid: symbol.isValid(),
      affiliation: meta.affiliation,
      dimension: meta.dimension,
      dimensionUnknown: meta.dimensionUnknown,
      numberSIDC: meta.numberSIDC,
    };
  });
  process.stdout.write(JSON.stringify(out));
});
"""

# milsymbol draws frames by family: these identities share a frame shape.
FRAME_FAMILY = {
    StandardIdentity.PENDING: "Unknown",
    StandardIdentity.UNKNOWN: "Unknown",
    StandardIdentity.ASSUMED_FRIEND: "Friend",
    StandardIdentity.FRIEND: "Friend",
    StandardIdentity.NEUTRAL: "Neutral",
    StandardIdentity.SUSPECT: "Hostile",
    StandardIdentity.HOSTILE: "Hostile",
}


def milsymbol_check(codes: list[str]) -> list[dict[str, Any]]:
    node = shutil.which("node") or "/usr/bin/node"
    if not Path(node).exists():
        pytest.fail("node is not installed: the symbol table is validated with npm milsymbol")
    if not (MILSYMBOL / "package.json").exists():
        pytest.fail(f"{MILSYMBOL} is missing: run `npm ci` in {REPO} (the Makefile does)")
    completed = subprocess.run(
        [node, "-e", _NODE_SCRIPT, str(MILSYMBOL)],
        input=json.dumps(codes),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def letter_sidc_of_cot_type(cot_type: str) -> str:
    """CoT type -> the 2525B/C 15-character SIDC it was derived from (scheme S)."""
    atom, affiliation, dimension, *function = cot_type.split("-")
    assert atom == "a"
    return ("S" + affiliation.upper() + dimension + "P" + "".join(function)).ljust(10, "-")


@pytest.fixture(scope="module")
def rows() -> list[tuple[TargetClass, StandardIdentity, str, str]]:
    return symbol_rows()


def test_table_covers_every_class_and_identity(
    rows: list[tuple[TargetClass, StandardIdentity, str, str]],
) -> None:
    assert {(row[0], row[1]) for row in rows} == {
        (target_class, identity) for target_class in TargetClass for identity in StandardIdentity
    }


def test_sidc_layout_encodes_version_context_and_identity(
    rows: list[tuple[TargetClass, StandardIdentity, str, str]],
) -> None:
    for _, identity, sidc, _ in rows:
        assert re.fullmatch(r"\d{20}", sidc), sidc
        assert sidc[:2] == "10"  # 2525D
        assert sidc[2] == "0"  # reality
        assert sidc[3] == IDENTITY_DIGIT[identity]
        assert sidc[6:10] == "0000"  # present, no HQ/TF/dummy, no amplifier
    simulated = sidc_for(TargetClass.SMALL_UAV, StandardIdentity.HOSTILE, SymbolContext.SIMULATION)
    assert simulated[2] == "2"
    assert simulated[3:] == sidc_for(TargetClass.SMALL_UAV, StandardIdentity.HOSTILE)[3:]


def test_cot_types_follow_the_atom_affiliation_dimension_convention(
    rows: list[tuple[TargetClass, StandardIdentity, str, str]],
) -> None:
    xsd_type_pattern = re.compile(r"\w+(-\w+)*(;[^;]*)?")  # Event-PUBLIC.xsd, attribute type
    for _, identity, _, cot_type in rows:
        assert xsd_type_pattern.fullmatch(cot_type), cot_type
        fields = cot_type.split("-")
        assert fields[0] == "a"
        assert fields[1] == COT_AFFILIATION[identity]
        assert fields[2] in {"A", "G", "S", "Z"}
        assert all(len(field) == 1 for field in fields[3:]), cot_type


def test_the_examples_integrators_expect() -> None:
    # The codes TAK operators know by heart (CoT convention from 2525B).
    assert cot_type_for(TargetClass.SMALL_UAV, StandardIdentity.HOSTILE) == "a-h-A-M-F-Q"
    assert cot_type_for(TargetClass.AIRLINER, StandardIdentity.NEUTRAL) == "a-n-A-C-F"
    assert cot_type_for(TargetClass.VESSEL, StandardIdentity.UNKNOWN) == "a-u-S"
    assert cot_type_for(TargetClass.GROUND_VEHICLE, StandardIdentity.HOSTILE) == "a-h-G-E-V"
    assert cot_type_for(TargetClass.CRUISE_MISSILE, StandardIdentity.HOSTILE).startswith(
        "a-h-A-W-M"
    )
    assert cot_type_for(TargetClass.ONE_WAY_ATTACK_DRONE, StandardIdentity.HOSTILE).startswith(
        "a-h-A-M-F-Q"
    )
    # 2525D: air symbol set 01, military UAV entity 110300; civil fixed wing 120100.
    hostile_uav = sidc_for(TargetClass.SMALL_UAV, StandardIdentity.HOSTILE)
    assert hostile_uav[4:6] == "01"
    assert hostile_uav[10:16] == "110300"
    assert sidc_for(TargetClass.AIRLINER, StandardIdentity.NEUTRAL)[10:16] == "120100"
    assert sidc_for(TargetClass.BALLISTIC_MISSILE, StandardIdentity.HOSTILE)[4:6] == "02"


def test_neutral_aircraft_are_civil_and_hostile_ones_military() -> None:
    assert cot_type_for(TargetClass.HELICOPTER, StandardIdentity.NEUTRAL) == "a-n-A-C-H"
    assert cot_type_for(TargetClass.HELICOPTER, StandardIdentity.HOSTILE) == "a-h-A-M-H"
    neutral = sidc_for(TargetClass.HELICOPTER, StandardIdentity.NEUTRAL)
    hostile = sidc_for(TargetClass.HELICOPTER, StandardIdentity.HOSTILE)
    assert neutral[10:12] == "12"  # civilian
    assert hostile[10:12] == "11"  # military


def test_milsymbol_draws_every_sidc_with_the_right_frame(
    rows: list[tuple[TargetClass, StandardIdentity, str, str]],
) -> None:
    results = milsymbol_check([row[2] for row in rows])
    for (target_class, identity, sidc, _), result in zip(rows, results, strict=True):
        where = f"{target_class}/{identity} {sidc}"
        assert result["sidc"] == sidc
        assert result["numberSIDC"] is True, where
        assert result["valid"] is True, f"milsymbol: {where} is not a valid 2525D symbol"
        assert result["affiliation"] == FRAME_FAMILY[identity], where


def test_milsymbol_draws_the_2525_symbol_behind_every_cot_type(
    rows: list[tuple[TargetClass, StandardIdentity, str, str]],
) -> None:
    letter_codes = [letter_sidc_of_cot_type(row[3]) for row in rows]
    number_results = milsymbol_check([row[2] for row in rows])
    letter_results = milsymbol_check(letter_codes)
    for row, number, letter in zip(rows, number_results, letter_results, strict=True):
        where = f"{row[0]}/{row[1]} {row[3]} ({letter['sidc']})"
        assert letter["valid"] is True, f"milsymbol: {where} is not a valid 2525C symbol"
        assert letter["affiliation"] == FRAME_FAMILY[row[1]], where
        # The CoT type and the SIDC describe the same kind of object.
        assert letter["dimensionUnknown"] == number["dimensionUnknown"], where
        if not number["dimensionUnknown"]:
            assert letter["dimension"] == number["dimension"], where


def test_the_milsymbol_check_can_fail() -> None:
    # A land unit entity that does not exist, and a truncated code: milsymbol refuses both,
    # so the checks above are not vacuous.
    results = milsymbol_check(["10061000001101040000", "SHAPQQQQ--"])
    assert [result["valid"] for result in results] == [False, False]


def test_docs_list_every_row(rows: list[tuple[TargetClass, StandardIdentity, str, str]]) -> None:
    text = DOC.read_text()
    for target_class, identity, sidc, cot_type in rows:
        line = f"| {target_class} | {identity} | `{sidc}` | `{cot_type}` |"
        assert line in text, f"docs/symbols.md lacks: {line}"
