"""The invariant in the source itself: only `Authority.issue_order` constructs TaskOrders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hotzone.c2 import authority
from hotzone.c2.authority import AuthorizedTasking
from tests.c2.factories import make_proposal

SOURCE = Path(authority.__file__).resolve().parents[1]
AUTHORITY_FILE = Path(authority.__file__).resolve()


def _names_task_order(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "TaskOrder") or (
        isinstance(node, ast.Attribute) and node.attr == "TaskOrder"
    )


def _constructions(path: Path) -> list[int]:
    """Lines that build a TaskOrder: a call of it, or msgspec.convert/replace into it."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in ("isinstance", "issubclass"):
            continue  # asking what a message is builds nothing
        if _names_task_order(node.func) or any(
            _names_task_order(argument) for argument in node.args
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_a_construction() -> None:
    # The scanner itself must see the one real construction, or the next test proves nothing.
    assert _constructions(AUTHORITY_FILE)


def test_the_scan_finds_constructions_but_not_type_checks(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = TaskOrder(order_id='x')\n"
        "b = msgspec.convert(raw, TaskOrder)\n"
        "c = isinstance(a, TaskOrder)\n"
        "d = types.TaskOrder(order_id='y')\n"
    )
    assert _constructions(sample) == [1, 2, 4]


def test_no_module_but_the_authority_constructs_a_task_order() -> None:
    offenders = {
        str(path.relative_to(SOURCE)): lines
        for path in sorted(SOURCE.rglob("*.py"))
        if path.resolve() != AUTHORITY_FILE and (lines := _constructions(path))
    }
    # The message registry maps the tag to the class (for decoding), which is no call.
    assert offenders == {}


def test_the_authority_builds_an_order_in_one_place_only() -> None:
    tree = ast.parse(AUTHORITY_FILE.read_text(encoding="utf-8"))
    builders = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(call, ast.Call) and _names_task_order(call.func) for call in ast.walk(node)
        )
    ]
    assert builders == ["_order_from"]


def test_an_authorization_cannot_be_minted_outside_the_authority() -> None:
    with pytest.raises(PermissionError):
        AuthorizedTasking(object(), make_proposal(), ())
