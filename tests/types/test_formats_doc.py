"""docs/formats.md shows one valid example line for every message type."""

from __future__ import annotations

import re
from pathlib import Path

from hotzone.types import MESSAGE_TYPES, from_json

DOC = Path(__file__).parents[2] / "docs" / "formats.md"


def test_every_type_has_a_documented_example_that_decodes() -> None:
    text = DOC.read_text()
    examples = re.findall(r"```json\n(.+?)\n```", text)
    decoded = [from_json(line) for line in examples]
    documented = {type(message) for message in decoded}
    assert documented == set(MESSAGE_TYPES.values())
    for message in decoded:
        tag = type(message).__struct_config__.tag
        assert f"## `{tag}`" in text
