"""The anchored audit log: open record, signed checkpoints, final checkpoint, and
`verify_audit`, which names every kind of tampering (any single deletion, edit or swap)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotzone.c2.audit import (
    AuditKind,
    AuditLog,
    FaultKind,
    decode_checkpoint,
    decode_open,
    verify_audit,
    verify_chain,
)
from hotzone.c2.trust import NodeKey, node_key_for, trusted_node_keys
from hotzone.types import AuditRecord
from hotzone.types.signing import checkpoint_signing_bytes, ed25519_valid
from tests.c2.audit_chains import Chain, build_chain, rewrite
from tests.c2.factories import seconds

EVERY = 7


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTZONE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def key(home: Path) -> NodeKey:
    return node_key_for("PL")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Chain, dict[str, bytes]]:
    """A closed chain of 40 events, a checkpoint every 7 records, and its trusted keys."""
    home = tmp_path_factory.mktemp("home")
    chain = build_chain(node_key_for("PL", home), events=40, every=EVERY)
    return chain, trusted_node_keys(home)


def kinds(records: list[AuditRecord], trusted: dict[str, bytes], **kwargs: object) -> set[str]:
    verdict = verify_audit(records, trusted_keys=trusted, **kwargs)  # type: ignore[arg-type]
    return {fault.kind for fault in verdict.faults}


def test_a_log_opens_signs_every_n_records_and_closes(key: NodeKey, home: Path) -> None:
    log = AuditLog(releasability="REL PL LT", node_key=key, checkpoint_every=5)
    first = log.open(seconds(0), "live", chain_id="run-1")
    assert first.sequence == 1 and first.kind == AuditKind.OPEN
    opened = decode_open(first.payload)
    assert opened is not None
    assert (opened.nation, opened.mode, opened.key_id) == ("PL", "live", key.key_id)
    assert (opened.checkpoint_every, opened.chain_id) == (5, "run-1")
    for index in range(11):
        log.append(seconds(index + 1), AuditKind.CUE, "c2", f"cue {index}")
    closing = log.close(seconds(20))
    records = log.drain()
    checkpoints = log.drain_checkpoints()
    assert [r.sequence for r in records if r.kind == AuditKind.CHECKPOINT] == [6, 11, 15]
    assert [(c.sequence, c.final) for c in checkpoints] == [(5, False), (10, False), (14, True)]
    assert closing is records[-1]
    for record, checkpoint in zip(
        [r for r in records if r.kind == AuditKind.CHECKPOINT], checkpoints, strict=True
    ):
        assert decode_checkpoint(record.payload) == checkpoint
        before = records[record.sequence - 2]
        assert (checkpoint.sequence, checkpoint.record_hash) == (
            before.sequence,
            before.record_hash,
        )
        assert checkpoint.nation == "PL" and checkpoint.releasability == "REL PL LT"
        signed = checkpoint_signing_bytes(checkpoint)
        assert ed25519_valid(key.public_raw, checkpoint.signature, signed)
    assert log.drain_checkpoints() == []
    verdict = verify_audit(records, trusted_keys=trusted_node_keys(), checkpoints=checkpoints)
    assert verdict.intact and verdict.closed
    assert (verdict.records, verdict.checkpoints_checked, verdict.last_signed_sequence) == (
        15,
        3,
        14,
    )


def test_a_resumed_log_marks_its_reopening_and_keeps_signing(key: NodeKey, home: Path) -> None:
    log = AuditLog(node_key=key, checkpoint_every=4)
    log.open(seconds(0), "live")
    log.append(seconds(1), AuditKind.CUE, "c2", "cue")
    log.close(seconds(2))
    head = log.drain()
    resumed = AuditLog(last=head[-1], node_key=key, checkpoint_every=4)
    reopened = resumed.open(seconds(10), "live")
    opened = decode_open(reopened.payload)
    assert opened is not None and opened.resumed_after == head[-1].sequence
    for index in range(5):
        resumed.append(seconds(11 + index), AuditKind.CUE, "c2", f"cue {index}")
    resumed.close(seconds(20))
    records = [*head, *resumed.drain()]
    assert verify_chain(records) is None
    assert verify_audit(records, trusted_keys=trusted_node_keys()).intact


def test_checkpoints_for_allies_may_carry_a_wider_label(key: NodeKey) -> None:
    log = AuditLog(
        releasability="NATIONAL PL",
        node_key=key,
        checkpoint_every=1,
        checkpoint_releasability="NATO",
    )
    log.open(seconds(0), "live")
    assert [c.releasability for c in log.drain_checkpoints()] == ["NATO"]
    assert {r.releasability for r in log.drain()} == {"NATIONAL PL"}


def test_the_log_alone_writes_open_and_checkpoint_records(key: NodeKey) -> None:
    log = AuditLog(node_key=key)
    for kind in (AuditKind.OPEN, AuditKind.CHECKPOINT):
        with pytest.raises(ValueError, match="written by the log itself"):
            log.append(seconds(0), kind, "c2", "{}")
    with pytest.raises(ValueError, match="without a node key"):
        AuditLog().close(seconds(0))
    with pytest.raises(ValueError, match="at least 1"):
        AuditLog(node_key=key, checkpoint_every=0)


def test_a_log_without_a_key_still_chains_but_signs_nothing() -> None:
    log = AuditLog()
    log.open(seconds(0), "replay")
    for index in range(60):
        log.append(seconds(index), AuditKind.ACKNOWLEDGE, "op-1", f"ack {index}")
    records = log.drain()
    assert verify_chain(records) is None and log.drain_checkpoints() == []
    verdict = verify_audit(records, trusted_keys={})
    assert [fault.kind for fault in verdict.faults] == [FaultKind.UNCLOSED]
    assert "no record is covered by a trusted signature" in verdict.summary()
    assert verify_audit(records, trusted_keys={}, expect_closed=False).intact


def test_an_intact_chain_is_summarised(small: tuple[Chain, dict[str, bytes]]) -> None:
    chain, trusted = small
    verdict = verify_audit(
        chain.records,
        trusted_keys=trusted,
        checkpoints=chain.checkpoints,
        witnesses=chain.checkpoints,
        expect_records=True,
    )
    last = chain.records[-1].sequence
    assert verdict.summary() == (
        f"intact: {last} records, {len(chain.checkpoints)} checkpoints "
        f"(last signed at sequence {last - 1}), {len(chain.checkpoints)} witnessed"
    )


def test_an_empty_log_is_a_fault_only_where_c2_ran(
    small: tuple[Chain, dict[str, bytes]],
) -> None:
    chain, trusted = small
    assert verify_audit([], trusted_keys=trusted).intact
    assert kinds([], trusted, expect_records=True) == {FaultKind.EMPTIED}
    assert kinds([], trusted, witnesses=chain.checkpoints) == {FaultKind.TRUNCATED}


def test_a_forged_signature_and_a_foreign_key_are_named(
    small: tuple[Chain, dict[str, bytes]],
) -> None:
    chain, trusted = small
    records = list(chain.records)
    position = next(i for i, r in enumerate(records) if r.kind == AuditKind.CHECKPOINT)
    held = decode_checkpoint(records[position].payload)
    assert held is not None
    forged = msgspec.structs.replace(held, time=held.time + timedelta(seconds=1))
    verdict = verify_audit(chain.records, trusted_keys=trusted, witnesses=[forged])
    assert [f.kind for f in verdict.faults] == [FaultKind.FORGED]
    assert "signature does not match its content" in verdict.summary()
    other = NodeKey.generate("PL")
    both = {**trusted, other.key_id: other.public_raw}
    # A key the auditor trusts (an ally's, say) but not the one the open record names.
    resigned = rewrite(chain.records, other, rename_key=False)
    verdict = verify_audit(resigned.records, trusted_keys=both)
    assert {f.kind for f in verdict.faults} == {FaultKind.UNTRUSTED}
    assert f"but the open record names key {held.key_id}" in verdict.summary()
    # Open record renamed as well: only the genuine checkpoints, witnessed, disagree.
    rewritten = rewrite(chain.records, other, drop=frozenset({10}))
    assert verify_audit(rewritten.records, trusted_keys=both).intact
    verdict = verify_audit(rewritten.records, trusted_keys=both, witnesses=chain.checkpoints)
    assert verdict.faults[0].kind == FaultKind.REWRITTEN


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_deletion_is_named(
    small: tuple[Chain, dict[str, bytes]], data: st.DataObject
) -> None:
    chain, trusted = small
    position = data.draw(st.integers(0, len(chain.records) - 1))
    records = chain.records[:position] + chain.records[position + 1 :]
    expected = FaultKind.UNCLOSED if position == len(chain.records) - 1 else FaultKind.DELETED
    assert expected in kinds(records, trusted)
    assert FaultKind.TRUNCATED in kinds(
        chain.records[:position], trusted, witnesses=chain.checkpoints
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_swap_is_named(small: tuple[Chain, dict[str, bytes]], data: st.DataObject) -> None:
    chain, trusted = small
    first = data.draw(st.integers(0, len(chain.records) - 1))
    second = data.draw(st.integers(0, len(chain.records) - 1).filter(lambda i: i != first))
    records = list(chain.records)
    records[first], records[second] = records[second], records[first]
    assert FaultKind.REORDERED in kinds(records, trusted)


LABELS = ["NATO", "REL PL LT", "NATIONAL PL"]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_single_edit_is_named(
    small: tuple[Chain, dict[str, bytes]], data: st.DataObject
) -> None:
    chain, trusted = small
    position = data.draw(st.integers(0, len(chain.records) - 1))
    record = chain.records[position]
    name = data.draw(
        st.sampled_from(
            [
                "sequence",
                "time",
                "kind",
                "actor",
                "payload",
                "previous_hash",
                "record_hash",
                "releasability",
            ]
        )
    )
    value: object
    if name == "sequence":
        value = record.sequence + data.draw(st.integers(-5, 5).filter(bool))
    elif name == "time":
        value = record.time + timedelta(seconds=data.draw(st.integers(-100, 100).filter(bool)))
    elif name == "releasability":
        value = data.draw(st.sampled_from([x for x in LABELS if x != record.releasability]))
    elif name.endswith("hash"):
        old = getattr(record, name)
        value = data.draw(
            st.text("0123456789abcdef", min_size=64, max_size=64).filter(lambda text: text != old)
        )
    else:
        old = getattr(record, name)
        value = data.draw(st.text(min_size=1).map(lambda text: old + text))
    records = list(chain.records)
    records[position] = msgspec.structs.replace(record, **{name: value})
    assert FaultKind.EDITED in kinds(records, trusted)
