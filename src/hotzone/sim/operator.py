"""A simulated operator for evaluation runs: decides proposals after a reaction time.

It lives in `sim/` (docs/architecture.md, "Run modes") and exists only in runs the command starts as
simulations. Its Ed25519 key is made afresh for each run (never derived from anything
public) and registered in c2 as a simulation key (``simulation: true``), which c2 refuses
in any run that is not a simulation. It signs exactly the bytes c2 verifies
(`hotzone.types.signing`) without importing c2: the simulator sits below c2.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotzone.types import Decision, OperatorRole, Proposal, Verdict
from hotzone.types.signing import decision_signing_bytes, key_id_of


@dataclass
class SimulatedOperator:
    """Approves each proposal after ``reaction_time_s``, or rejects it with a probability.

    Decides only proposals that passed every rules-of-engagement check, like a trained
    operator; the others are left to expire.
    """

    operator_id: str
    role: OperatorRole
    reaction_time_s: float = 15.0
    reject_probability: float = 0.1
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _private_key: Ed25519PrivateKey = field(init=False, repr=False)
    _queue: dict[str, tuple[datetime, Proposal]] = field(init=False, default_factory=dict)
    _decided: set[str] = field(init=False, default_factory=set)
    _counter: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.reject_probability <= 1.0:
            raise ValueError(f"reject_probability must be in [0, 1], got {self.reject_probability}")
        if self.reaction_time_s < 0.0:
            raise ValueError(f"reaction_time_s must not be negative, got {self.reaction_time_s}")
        self._rng = random.Random(self.seed)
        # Verdicts repeat with the seed; the key is new for every run, so nobody outside the
        # run can sign as a simulated operator.
        self._private_key = Ed25519PrivateKey.generate()

    @property
    def public_key_raw(self) -> bytes:
        return self._private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key_raw).decode("ascii")

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key_raw)

    def registry_entry(self) -> dict[str, object]:
        """The entry for c2's operator registry, marked as a simulation key."""
        return {
            "operator_id": self.operator_id,
            "role": str(self.role),
            "public_key": self.public_key_b64,
            "simulation": True,
        }

    def observe(self, proposals: list[Proposal]) -> None:
        """Put new proposals in front of the operator."""
        for proposal in proposals:
            if proposal.content_hash in self._decided or proposal.content_hash in self._queue:
                continue
            if not all(check.passed for check in proposal.roe_checks):
                continue
            due = proposal.time + timedelta(seconds=self.reaction_time_s)
            self._queue[proposal.content_hash] = (due, proposal)

    def decide(self, time: datetime) -> list[Decision]:
        """Signed decisions on every proposal whose reaction time has passed by ``time``."""
        decisions = []
        for content_hash, (due, proposal) in sorted(self._queue.items(), key=lambda i: i[1][0]):
            if due > time:
                continue
            del self._queue[content_hash]
            self._decided.add(content_hash)
            if due > proposal.expires_at:
                continue  # too slow: the proposal expired before the operator got to it
            reject = self._rng.random() < self.reject_probability
            decisions.append(
                self._signed(proposal, Verdict.REJECT if reject else Verdict.APPROVE, due)
            )
        return decisions

    def _signed(self, proposal: Proposal, verdict: Verdict, time: datetime) -> Decision:
        self._counter += 1
        unsigned = Decision(
            decision_id=f"{self.operator_id}-{self._counter:05d}",
            time=time,
            proposal_hash=proposal.content_hash,
            verdict=verdict,
            operator_id=self.operator_id,
            role=self.role,
            key_id=self.key_id,
            signature="",
            releasability=proposal.releasability,
        )
        signature = self._private_key.sign(decision_signing_bytes(unsigned))
        return Decision(
            decision_id=unsigned.decision_id,
            time=unsigned.time,
            proposal_hash=unsigned.proposal_hash,
            verdict=unsigned.verdict,
            operator_id=unsigned.operator_id,
            role=unsigned.role,
            key_id=unsigned.key_id,
            signature=base64.b64encode(signature).decode("ascii"),
            releasability=unsigned.releasability,
        )
