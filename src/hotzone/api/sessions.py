"""Logins and sessions of the picture, defended (OWASP ASVS V2/V3 habits).

* `LoginGuard`: failed logins are counted per user name and per client address; after
  ``free_attempts`` failures each further attempt must wait, twice as long each time
  (``base_delay_s`` · 2^k, up to ``max_delay_s``), and is refused with 429 and
  ``Retry-After`` until then, without hashing anything. A success clears the user's count.
* `SessionTable`: a session ends after ``idle_timeout_s`` without a request and after
  ``lifetime_s`` whatever happens; a user holds at most ``max_per_user`` sessions (the
  oldest goes); ending a session closes its WebSockets.

Both are bounded: the tables forget their oldest entries past ``capacity``.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from hotzone.api.users import User

Closer = Callable[[], Awaitable[None]]


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0


@dataclass
class LoginGuard:
    free_attempts: int = 10
    base_delay_s: float = 1.0
    max_delay_s: float = 900.0
    capacity: int = 100_000
    refused: int = 0
    """Attempts refused without looking at the password (for /metrics)."""
    _failures: OrderedDict[str, _Failures] = field(default_factory=OrderedDict)

    def retry_after(self, keys: Iterable[str], now: float | None = None) -> float:
        """Seconds until an attempt for ``keys`` may be tried (0: now)."""
        now = time.monotonic() if now is None else now
        wait = max(
            (self._failures[k].blocked_until - now for k in keys if k in self._failures),
            default=0.0,
        )
        if wait > 0:
            self.refused += 1
        return max(wait, 0.0)

    def failed(self, keys: Iterable[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in keys:
            entry = self._failures.pop(key, None) or _Failures()
            entry.count += 1
            beyond = entry.count - self.free_attempts
            if beyond >= 0:
                delay = min(self.base_delay_s * 2.0**beyond, self.max_delay_s)
                entry.blocked_until = now + delay
            self._failures[key] = entry
            while len(self._failures) > self.capacity:
                self._failures.popitem(last=False)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


@dataclass
class Session:
    user: User
    token: str
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    closers: list[Closer] = field(default_factory=list)


@dataclass
class SessionTable:
    idle_timeout_s: float = 1800.0
    lifetime_s: float = 12 * 3600.0
    max_per_user: int = 5
    capacity: int = 10_000
    _sessions: dict[str, Session] = field(default_factory=dict)

    def open(self, user: User) -> tuple[Session, list[Session]]:
        """A new session for ``user``, and the sessions that had to end for it."""
        ended = [s for s in self._sessions.values() if self._expired(s, time.monotonic())]
        mine = sorted(
            (s for s in self._sessions.values() if s.user.username == user.username),
            key=lambda s: s.created,
        )
        ended += mine[: max(len(mine) - self.max_per_user + 1, 0)]
        if len(self._sessions) - len(ended) >= self.capacity:
            ended += sorted(self._sessions.values(), key=lambda s: s.last_seen)[:1]
        for session in ended:
            self._sessions.pop(session.token, None)
        session = Session(user=user, token=secrets.token_urlsafe(32))
        self._sessions[session.token] = session
        return session, ended

    def get(self, token: str) -> Session | None:
        """The live session of ``token`` (its idle clock restarts), or None."""
        session = self._sessions.get(token)
        now = time.monotonic()
        if session is None:
            return None
        if self._expired(session, now):
            self._sessions.pop(token, None)
            return None
        session.last_seen = now
        return session

    def close(self, token: str) -> Session | None:
        return self._sessions.pop(token, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.last_seen > self.idle_timeout_s or now - session.created > self.lifetime_s
        )


async def close_sockets(sessions: Iterable[Session]) -> None:
    """End the WebSockets opened under ``sessions`` (logout, expiry, eviction)."""
    for session in sessions:
        closers, session.closers = session.closers, []
        for close in closers:
            await close()
