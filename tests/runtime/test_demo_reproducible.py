"""Two ``hotzone demo`` runs of one seed come out the same, through the real gateways.

The demo's simulated effectors speak SAPIENT and MAVLink over loopback sockets to the
gateways a deployment runs; they act in lockstep with the pipeline's clock ticks
(`hotzone.runtime.effectors.exercise`), so neither the machine's speed nor the sockets'
timing decides which window a gateway's report falls in. The runs are compared message by
message (everything on the bus, in the order recorded), with what is new in every run by
design put in a form that keeps only its pattern:

- the simulated operators' keys, made afresh for each run (their key ids, the decisions'
  signatures, and the decision hashes orders carry),
- order ids (c2 draws them at random), the audit chain's id, its records' hashes and its
  checkpoints' signatures,
- the random part of SAPIENT ULIDs (report and task ids) and the loopback ports the system
  picks for the effectors' links,
- ``received_at`` of what the SAPIENT server decodes: the wall-clock time it read the bytes.

Each such value is replaced by its ordinal of first appearance, so the same value must
stand in the same places in both runs; ``received_at`` is left out. The figures of the
summary (but the processor seconds each stage took) and of the evaluation must be equal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hotzone.store import SQLiteStore
from hotzone.types import Event, to_json
from tests.demo_runs import suwalki_run

# Long enough for an interceptor launched through the MAVLink gateway to reach its target
# (its effect_observed at about 510 s of suwalki-drones, seed 1).
DURATION_S = 540.0
SEED = 1

DRAWN_FIELDS = {
    "key_id",
    "signature",
    "signatures",
    "decision_hashes",
    "record_hash",
    "previous_hash",
    "chain_id",
    "order_id",
}
DRAWN_TEXT = re.compile(
    r"ord-[0-9a-f]{12}"  # order ids
    r"|\b[0-9A-HJKMNP-TV-Z]{26}\b"  # ULIDs
    r"|127\.0\.0\.1:\d+"  # loopback ports
)
WALL_CLOCK_FIELDS = {"received_at"}


class Normalizer:
    """Replaces each drawn value by its ordinal of first appearance."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def name(self, value: str) -> str:
        return self.names.setdefault(value, f"<drawn {len(self.names)}>")

    def clean(self, value: Any, field: str = "") -> Any:
        if isinstance(value, dict):
            return {
                key: self.clean(item, key)
                for key, item in value.items()
                if key not in WALL_CLOCK_FIELDS
            }
        if isinstance(value, list):
            return [self.clean(item, field) for item in value]
        if isinstance(value, str):
            if value.startswith("{"):  # an audit record's payload: a message as JSON
                try:
                    return self.clean(json.loads(value), field)
                except ValueError:
                    pass
            if field in DRAWN_FIELDS:
                return self.name(value)
            return DRAWN_TEXT.sub(lambda match: self.name(match.group(0)), value)
        return value


def recorded(run: Path) -> list[str]:
    """Every message of the run's store, in order, its drawn values named by ordinal."""
    normalizer = Normalizer()
    store = SQLiteStore(run / "hotzone.sqlite")
    try:
        return [
            json.dumps(normalizer.clean(json.loads(to_json(stored.message))), sort_keys=True)
            for stored in store.replay()
        ]
    finally:
        store.close()


def figures(run: Path) -> dict[str, Any]:
    summary = json.loads((run / "summary.json").read_text())
    del summary["stage_processor_seconds"]  # processor time, the machine's
    return {
        "summary": summary,
        "eval": json.loads((run / "outputs" / "eval.json").read_text()),
        "summary.md": (run / "summary.md").read_text(),
    }


def gateway_effects(run: Path) -> list[str]:
    store = SQLiteStore(run / "hotzone.sqlite")
    try:
        return [
            f"{m.time:%H:%M:%S} {m.attributes['effector_id']}"
            for stored in store.replay(types=["event"])
            if isinstance(m := stored.message, Event)
            and m.source_id.startswith("effectors-")
            and m.attributes.get("lifecycle") == "effect_observed"
        ]
    finally:
        store.close()


@pytest.mark.slow(100)
def test_two_demos_of_one_seed_record_the_same_messages(tmp_path: Path) -> None:
    first = suwalki_run(tmp_path / "first", duration_s=DURATION_S, seed=SEED)
    second = suwalki_run(tmp_path / "second", duration_s=DURATION_S, seed=SEED)
    # The runs engaged through a gateway: an interceptor reached its aim point.
    effects = gateway_effects(first)
    print("effect_observed:", effects)
    assert effects
    assert gateway_effects(second) == effects
    first_messages, second_messages = recorded(first), recorded(second)
    assert len(first_messages) == len(second_messages)
    differing = [
        (index, a, b)
        for index, (a, b) in enumerate(zip(first_messages, second_messages, strict=True))
        if a != b
    ]
    assert not differing[:3]
    assert figures(first) == figures(second)
