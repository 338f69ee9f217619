"""Clarofinlore's access token (JWT) for one trading session (seed-venues.md).

Documented: ``POST /v1/auth/token`` "with your key and signed payload" returns an access token (JWT,
15-minute expiry) and a refresh token; the access token is "refreshed automatically via a refresh
token endpoint"; the JWT goes in ``Authorization: Bearer``; after a disconnect a client must
re-authenticate. Defaults where the document is silent (the simulator's): the token request's body is
``{"api_key": <key>}`` (the key inside the signed payload; the venue reads the key from
``X-API-Key``), its answer ``{"access_token", "token_type", "expires_in", "refresh_token"}``; the refresh
is ``POST /v1/auth/refresh`` with ``{"refresh_token"}``, which retires that refresh token and answers
a new pair like the login. Both requests are signed like every other one (the document: every
request is signed; the simulator does not check the refresh's signature).

The token is refreshed ahead of its expiry (a quarter of its life, at most 60 s, plus the 1 s of
``exp``'s whole-second rounding), so a request never races the expiry; a refused refresh falls back
to a full log-in. A token the venue refuses anyway (its 4015, e.g. after a venue restart) is dropped
by the session, which logs in again and resends the refused request once — safe because an
authentication refusal comes before the request is looked at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from tickwire.errors import AuthError
from tickwire.transport.http import HttpClient
from tickwire.venues.clarofinlore.signer import Signer

__all__ = ["LOGIN_PATH", "REFRESH_PATH", "TOKEN_REFUSED", "TokenAuth"]

log = logging.getLogger("tickwire.trading")

LOGIN_PATH = "/v1/auth/token"
REFRESH_PATH = "/v1/auth/refresh"
# The simulator's codes: 4015 "invalid or expired access token", 4016 "invalid refresh token".
TOKEN_REFUSED = 4015
MAX_MARGIN_S = 60.0
EXP_GRANULARITY_S = 1.0


class TokenAuth:
    """Logs in, keeps the access token fresh, and gives the ``Authorization`` header. ``read_answer``
    decodes an answer or raises the venue's typed error (the grammar's). Never shows a token in its
    repr."""

    def __init__(
        self,
        signer: Signer,
        read_answer: Callable[[int, bytes], Any],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.signer = signer
        self.read_answer = read_answer
        self.clock = clock
        self._access = ""
        self._refresh = ""
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self._renewing: asyncio.Task[None] | None = None
        self.logins = 0
        self.refreshes = 0
        # Charges a log-in or refresh (its path) to the session's rate budget before it goes out:
        # the venue counts them like any request (set by the session's wire). Returns the budget's
        # gate for its write: a write late after the take (a new connection's set-up) is counted
        # from the write, as the venue counts it.
        self.charge: Callable[[str], Awaitable[Callable[[], None] | None]] | None = None

    def __repr__(self) -> str:
        return f"TokenAuth(logged_in={bool(self._access)}, logins={self.logins}, refreshes={self.refreshes})"

    @property
    def token(self) -> str:
        """The current access token ("" before the log-in): e.g. the market-data ``Adapter``'s
        ``token_provider=lambda: tr.auth.token``."""
        return self._access

    def current(self, http: HttpClient) -> str:
        """The access token for a request laid out ahead (an order template), without waiting: past
        its renewal time (or with none) the renewal or log-in starts in the background, while the
        token still has the margin of its life left; the template is rebuilt when it changes."""
        if (not self._access or self.clock() >= self._renew_at) and (
            self._renewing is None or self._renewing.done()
        ):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return self._access  # no loop to run it on: the next request renews it
            self._renewing = loop.create_task(self.ensure(http))
            self._renewing.add_done_callback(_renewed)
        return self._access

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access}"} if self._access else {}

    def refused(self, status: int, body: bytes) -> bool:
        """The venue refused a request for its token (401 with code 4015), not for anything else."""
        if status != 401:
            return False
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        return isinstance(msg, dict) and msg.get("code") == TOKEN_REFUSED

    def forget(self, refused: str) -> None:
        """The venue refused ``refused`` (a token we sent): the next request logs in again. A token
        obtained meanwhile by another request is kept."""
        if self._access == refused:
            self._access, self._renew_at = "", 0.0

    async def ensure(self, http: HttpClient) -> None:
        """A valid access token, logging in or refreshing first when it is missing or due."""
        if self._access and self.clock() < self._renew_at:
            return
        async with self._lock:  # one log-in for the requests waiting on it
            if self._access and self.clock() < self._renew_at:
                return
            if self._refresh:
                try:
                    await self._exchange(http, REFRESH_PATH, {"refresh_token": self._refresh})
                    self.refreshes += 1
                    return
                except AuthError:
                    self._refresh = ""  # retired or revoked: log in afresh
            await self._exchange(http, LOGIN_PATH, {"api_key": self.signer.api_key})
            self.logins += 1

    async def _exchange(self, http: HttpClient, path: str, obj: dict[str, str]) -> None:
        gate = None if self.charge is None else await self.charge(path)
        body = orjson.dumps(obj).decode()
        req = self.signer.sign_request("POST", path, None, body)
        headers = {**req.headers, "Content-Type": "application/json"}
        r = await http.request("POST", path, body=body, headers=headers, gate=gate)
        answer = self.read_answer(r.status, r.body)
        try:
            access, refresh = str(answer["access_token"]), str(answer["refresh_token"])
            life = float(answer["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise AuthError(f"clarofinlore {path}: answer without a token") from None
        self._access, self._refresh = access, refresh
        # A JWT's ``exp`` is whole seconds: a token issued late in a second lives up to 1 s less than
        # ``expires_in`` says. Renew that much earlier too, on top of the margin.
        self._renew_at = self.clock() + life - min(MAX_MARGIN_S, life / 4) - EXP_GRANULARITY_S


def _renewed(task: asyncio.Task[None]) -> None:
    """A background renewal's failure, logged (the next request on the slow path tries again)."""
    if not task.cancelled() and (e := task.exception()) is not None:
        log.warning("clarofinlore: access token renewal failed (%s); the next request retries", e)
