"""`signature_fault` with real signatures: WebAuthn assertions from a software authenticator
(a P-256 key signing what a security key signs) and Ed25519 key files."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import yaml

from hotzone.c2.keys import OperatorKey, OperatorRegistry, RegistryFile, SigningKey
from hotzone.c2.webauthn import RelyingParty, SignatureCheck, from_base64url, signature_fault
from hotzone.types import Decision, OperatorRole, Verdict, WebAuthnAssertion
from hotzone.types.signing import decision_challenge
from tests.c2.software_authenticator import USER_PRESENT, USER_VERIFIED, SoftwareAuthenticator

RP = RelyingParty("c2.hotzone.test", frozenset({"https://c2.hotzone.test"}))
ORIGIN = "https://c2.hotzone.test"
T = datetime(2025, 3, 14, 2, 0, 30, tzinfo=UTC)
PROPOSAL = "a" * 64


def unsigned(
    operator_id: str,
    role: OperatorRole,
    key_id: str,
    verdict: Verdict = Verdict.APPROVE,
    proposal_hash: str = PROPOSAL,
    decision_id: str = "dec-1",
) -> Decision:
    return Decision(
        decision_id=decision_id,
        time=T,
        proposal_hash=proposal_hash,
        verdict=verdict,
        operator_id=operator_id,
        role=role,
        key_id=key_id,
        signature="",
    )


def with_assertion(decision: Decision, assertion: WebAuthnAssertion) -> Decision:
    return msgspec.structs.replace(decision, assertion=assertion)


class Commander:
    """A commander whose authenticator is enrolled for c2.hotzone.test."""

    def __init__(self, operator_id: str = "cdr-kowalski") -> None:
        self.operator_id = operator_id
        self.authenticator = SoftwareAuthenticator(RP.rp_id)
        self.key = self.authenticator.enrolled(operator_id, OperatorRole.COMMANDER)

    def decision(self, **kwargs: object) -> Decision:
        return unsigned(self.operator_id, OperatorRole.COMMANDER, self.key.key_id, **kwargs)  # type: ignore[arg-type]

    def signed(self, **assertion_kwargs: object) -> Decision:
        decision = self.decision()
        assertion = self.authenticator.get_assertion(
            decision_challenge(decision),
            **{"origin": ORIGIN, **assertion_kwargs},  # type: ignore[arg-type]
        )
        return with_assertion(decision, assertion)


def refused(check: SignatureCheck, reason: str) -> None:
    assert check.fault is not None and reason in check.fault, check.fault
    assert check.sign_count is None
    assert "\n" not in check.fault


# ---- WebAuthn ----------------------------------------------------------------------------


def test_a_valid_assertion_verifies_and_reports_the_counter() -> None:
    commander = Commander()
    check = signature_fault(commander.signed(), commander.key, RP)
    assert check == SignatureCheck(fault=None, sign_count=1)
    assert check.ok


def test_an_assertion_for_another_decision_is_refused() -> None:
    commander = Commander()
    rejected = commander.decision(verdict=Verdict.REJECT)
    approved = commander.decision(verdict=Verdict.APPROVE)
    assertion = commander.authenticator.get_assertion(decision_challenge(rejected), ORIGIN)
    assert signature_fault(with_assertion(rejected, assertion), commander.key, RP).ok
    # The same assertion put on an approval of the same proposal: another challenge.
    refused(
        signature_fault(with_assertion(approved, assertion), commander.key, RP),
        "WebAuthn challenge does not match this decision",
    )
    other_proposal = commander.decision(proposal_hash="b" * 64)
    refused(
        signature_fault(with_assertion(other_proposal, assertion), commander.key, RP),
        "WebAuthn challenge does not match this decision",
    )


def test_an_assertion_made_on_another_origin_is_refused() -> None:
    commander = Commander()
    refused(
        signature_fault(commander.signed(origin="http://evil"), commander.key, RP),
        "origin http://evil not allowed",
    )


def test_an_assertion_for_another_relying_party_is_refused() -> None:
    commander = Commander()
    refused(
        signature_fault(commander.signed(rp_id="evil.example"), commander.key, RP),
        "another relying party than c2.hotzone.test",
    )


def test_an_assertion_without_user_verification_or_presence_is_refused() -> None:
    commander = Commander()
    refused(
        signature_fault(commander.signed(flags=USER_PRESENT), commander.key, RP),
        "did not verify the user (UV flag not set)",
    )
    refused(
        signature_fault(commander.signed(flags=USER_VERIFIED), commander.key, RP),
        "did not see the user present (UP flag not set)",
    )


def test_a_registration_response_is_not_an_assertion() -> None:
    commander = Commander()
    refused(
        signature_fault(commander.signed(client_data_type="webauthn.create"), commander.key, RP),
        "client data type is 'webauthn.create', not 'webauthn.get'",
    )


def test_a_replayed_assertion_is_refused_once_its_counter_is_recorded(tmp_path: Path) -> None:
    commander = Commander()
    file = RegistryFile(tmp_path / "operators.yaml")
    file.enroll(commander.key)
    decision = commander.signed()
    check = signature_fault(decision, file.current().get(commander.key.key_id), RP)  # type: ignore[arg-type]
    assert check.ok and check.sign_count == 1
    file.record_sign_count(commander.key.key_id, check.sign_count)
    key = file.current().get(commander.key.key_id)
    assert key is not None and key.sign_count == 1
    refused(
        signature_fault(decision, key, RP),
        f"signature counter of credential {key.key_id} did not increase (1, last seen 1)",
    )
    # The counter is in the file too: a restarted c2 refuses the replay as well.
    assert RegistryFile(file.path).current().get(key.key_id) == key
    # The authenticator's next assertion (counter 2) is accepted.
    assert signature_fault(commander.signed(), key, RP) == SignatureCheck(None, 2)


def test_a_revoked_credential_is_refused(tmp_path: Path) -> None:
    commander = Commander()
    file = RegistryFile(tmp_path / "operators.yaml")
    file.enroll(commander.key)
    assert file.revoke(commander.key.key_id) == 1
    key = file.current().get(commander.key.key_id)
    assert key is not None and key.revoked
    refused(
        signature_fault(commander.signed(), key, RP),
        f"revoked key {commander.key.key_id} of cdr-kowalski",
    )


def test_another_operators_credential_is_refused() -> None:
    alice, bob = Commander("cdr-alice"), Commander("cdr-bob")
    # Bob signs his own decision but names Alice's credential (and claims it in the
    # assertion): the key c2 looks up is Alice's, enrolled for another operator.
    decision = unsigned("cdr-bob", OperatorRole.COMMANDER, alice.key.key_id)
    assertion = bob.authenticator.get_assertion(
        decision_challenge(decision), ORIGIN, credential_id=alice.key.key_id
    )
    refused(
        signature_fault(with_assertion(decision, assertion), alice.key, RP),
        f"key {alice.key.key_id} belongs to cdr-alice (commander), not cdr-bob (commander)",
    )
    # Bob poses as Alice: her operator id and credential, his authenticator's signature.
    posing = unsigned("cdr-alice", OperatorRole.COMMANDER, alice.key.key_id)
    assertion = bob.authenticator.get_assertion(
        decision_challenge(posing), ORIGIN, credential_id=alice.key.key_id
    )
    refused(
        signature_fault(with_assertion(posing, assertion), alice.key, RP),
        f"WebAuthn signature does not verify with credential {alice.key.key_id}",
    )
    # Bob's own assertion on a decision that names Alice's credential.
    assertion = bob.authenticator.get_assertion(decision_challenge(posing), ORIGIN)
    refused(
        signature_fault(with_assertion(posing, assertion), alice.key, RP),
        f"assertion is by credential {bob.key.key_id}, decision names {alice.key.key_id}",
    )


def test_a_tampered_signature_is_refused() -> None:
    commander = Commander()
    decision = commander.signed()
    assert decision.assertion is not None
    signature = bytearray(from_base64url(decision.assertion.signature))
    signature[-1] ^= 0x01
    tampered = msgspec.structs.replace(
        decision.assertion,
        signature=base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode(),
    )
    refused(
        signature_fault(with_assertion(decision, tampered), commander.key, RP),
        f"WebAuthn signature does not verify with credential {commander.key.key_id}",
    )


def test_a_webauthn_decision_needs_an_assertion_and_a_relying_party() -> None:
    commander = Commander()
    refused(
        signature_fault(commander.decision(), commander.key, RP),
        f"names WebAuthn credential {commander.key.key_id} but has no assertion",
    )
    refused(
        signature_fault(commander.signed(), commander.key, None),
        "no WebAuthn relying party is configured",
    )


# ---- Ed25519 key files -------------------------------------------------------------------


def test_an_ed25519_decision_verifies(tmp_path: Path) -> None:
    key = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    registry = OperatorRegistry([key.public])
    decision = key.decide(PROPOSAL, Verdict.APPROVE, T)
    enrolled = registry.get(decision.key_id)
    assert enrolled is not None
    assert signature_fault(decision, enrolled, RP) == SignatureCheck(fault=None)
    assert signature_fault(decision, enrolled, None).ok  # no relying party needed


def test_an_edited_key_file_signs_nothing(tmp_path: Path) -> None:
    key = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    registry = OperatorRegistry([key.public])
    path = tmp_path / "op-nowak.key"
    key.save(path)
    # Someone puts another private key into the operator's file, same operator and role.
    document = yaml.safe_load(path.read_text())
    other = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    other.save(tmp_path / "other.key")
    document["private_key"] = yaml.safe_load((tmp_path / "other.key").read_text())["private_key"]
    path.write_text(yaml.safe_dump(document))
    edited = SigningKey.load(path)
    decision = edited.decide(PROPOSAL, Verdict.APPROVE, T)
    # Its key id is not enrolled...
    assert registry.get(decision.key_id) is None
    # ...and naming the enrolled key id does not make the signature the enrolled key's.
    posing = edited.sign(msgspec.structs.replace(decision, key_id=key.key_id))
    refused(
        signature_fault(posing, key.public, RP),
        f"signature of decision {decision.decision_id} is not valid for key {key.key_id}",
    )


def test_an_unregistered_key_is_not_the_key_named() -> None:
    enrolled = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    stranger = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    decision = stranger.decide(PROPOSAL, Verdict.APPROVE, T)
    assert OperatorRegistry([enrolled.public]).get(decision.key_id) is None
    refused(
        signature_fault(decision, enrolled.public, RP),
        f"names key {stranger.key_id}, not {enrolled.key_id}",
    )


def test_an_observer_cannot_sign_as_a_commander() -> None:
    observer = SigningKey.generate("obs-wisniewska", OperatorRole.OBSERVER)
    honest = observer.decide(PROPOSAL, Verdict.APPROVE, T)
    assert signature_fault(honest, observer.public, RP).ok  # roles are c2's policy
    claimed = observer.sign(msgspec.structs.replace(honest, role=OperatorRole.COMMANDER))
    refused(
        signature_fault(claimed, observer.public, RP),
        f"key {observer.key_id} belongs to obs-wisniewska (observer), not "
        "obs-wisniewska (commander)",
    )


def test_a_revoked_ed25519_key_is_refused(tmp_path: Path) -> None:
    key = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    file = RegistryFile(tmp_path / "operators.yaml")
    file.enroll(key.public)
    decision = key.decide(PROPOSAL, Verdict.APPROVE, T)
    assert signature_fault(decision, file.current().get(key.key_id), RP).ok  # type: ignore[arg-type]
    assert file.revoke("op-nowak") == 1
    revoked = file.current().get(key.key_id)
    assert revoked is not None
    refused(signature_fault(decision, revoked, RP), f"revoked key {key.key_id} of op-nowak")


def test_an_ed25519_decision_carries_no_assertion() -> None:
    key = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    authenticator = SoftwareAuthenticator(RP.rp_id)
    decision = key.decide(PROPOSAL, Verdict.APPROVE, T)
    mixed = with_assertion(
        decision, authenticator.get_assertion(decision_challenge(decision), ORIGIN)
    )
    refused(signature_fault(mixed, key.public, RP), "carries a WebAuthn assertion")


# ---- the registry file -------------------------------------------------------------------


def test_the_registry_file_sees_enrollments_and_revocations_at_once(tmp_path: Path) -> None:
    path = tmp_path / "operators.yaml"
    c2_view, cli_view = RegistryFile(path), RegistryFile(path)
    assert len(c2_view.current()) == 0  # no file yet: nobody enrolled
    commander = Commander()
    cli_view.enroll(commander.key)
    operator = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    cli_view.enroll(msgspec.structs.replace(operator.public, nation="PL"))
    assert [k.operator_id for k in c2_view.current()] == ["cdr-kowalski", "op-nowak"]
    assert c2_view.current().get(commander.key.key_id) == commander.key
    cli_view.revoke("op-nowak")
    key = c2_view.current().get(operator.key_id)
    assert key is not None and key.revoked


def test_counters_seen_in_memory_survive_a_reread_of_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "operators.yaml"
    commander = Commander()
    file = RegistryFile(path)
    file.enroll(commander.key)
    file.record_sign_count(commander.key.key_id, 7)
    # Someone writes the file from an old copy (counter 0); c2 keeps the 7 it has seen.
    OperatorRegistry([commander.key]).dump(path)
    key = file.current().get(commander.key.key_id)
    assert key is not None and key.sign_count == 7


def test_the_registry_refuses_a_second_enrollment_of_a_key_and_a_changed_role(
    tmp_path: Path,
) -> None:
    file = RegistryFile(tmp_path / "operators.yaml")
    key = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    file.enroll(key.public)
    with pytest.raises(ValueError, match=f"key {key.key_id} is already enrolled"):
        file.enroll(key.public)
    as_commander = SigningKey.generate("op-nowak", OperatorRole.COMMANDER)
    with pytest.raises(ValueError, match="op-nowak is enrolled as operator"):
        file.enroll(as_commander.public)
    assert len(file.current()) == 1


def test_old_registry_files_still_load(tmp_path: Path) -> None:
    key = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    path = tmp_path / "operators.yaml"
    raw = base64.b64encode(key.public.raw_public_key()).decode()
    path.write_text(
        f"operators:\n- operator_id: op-nowak\n  role: operator\n  public_key: {raw}\n"
        "  simulation: false\n"
    )
    loaded = OperatorRegistry.load(path).get(key.key_id)
    assert loaded == OperatorKey(operator_id="op-nowak", role=OperatorRole.OPERATOR, public_key=raw)
    assert loaded.kind == "ed25519" and not loaded.revoked and loaded.enrolled_at is None


def test_a_key_enrolled_without_a_nation_does_not_block_one_with_a_nation(
    tmp_path: Path,
) -> None:
    file = RegistryFile(tmp_path / "operators.yaml")
    legacy = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    file.enroll(legacy.public)  # as `hotzone decide keygen --registry` writes it
    commander = Commander("op-nowak")
    with pytest.raises(ValueError, match="op-nowak is enrolled as operator of no nation"):
        file.enroll(commander.key)  # the role differs
    browser_key = SoftwareAuthenticator(RP.rp_id).enrolled("op-nowak", OperatorRole.OPERATOR)
    file.enroll(browser_key)
    with pytest.raises(ValueError, match="op-nowak is enrolled as operator of PL"):
        file.enroll(
            msgspec.structs.replace(
                Commander().key, operator_id="op-nowak", role=OperatorRole.OPERATOR, nation="LT"
            )
        )
