"""Tradefence OAuth 2.0 (seed-venues.md): the authorization-code flow and Bearer tokens.

**doc** The user's browser goes to ``https://auth.tradefence.com/authorize?client_id=…&redirect_uri=…
&response_type=code&scope=trading:read trading:write``; the code it brings back is exchanged with
``POST https://auth.tradefence.com/token`` (form-encoded ``grant_type=authorization_code``, ``code``,
``client_id``, ``client_secret``) for ``access_token`` (``token_type`` Bearer, ``expires_in`` 3600) and
``refresh_token``; every API request carries ``Authorization: Bearer <access_token>``.

**default** (the document is silent): the token request also sends ``redirect_uri`` (RFC 6749 §4.1.3
requires it when the authorization request had one); a ``state`` guards the redirect; refresh is
``grant_type=refresh_token`` with the client credentials, a new refresh token replacing the old one
when the answer has one; for scripts, :meth:`Signer.authorize` captures the code on a loopback
redirect URI. Tokens are kept in memory only; ``on_tokens`` hands them to whatever store the user
chooses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote, urlencode, urlsplit

import orjson

from tickwire.auth import Credentials, SignedRequest, Source, encode_params, http_method
from tickwire.errors import AuthError
from tickwire.transport.http import HttpClient
from tickwire.venues.tradefence.httpd import HttpRequest, HttpServer

__all__ = ["AUTH_URL", "SCOPE", "Signer", "Tokens"]

log = logging.getLogger("tickwire.tradefence")

AUTH_URL = "https://auth.tradefence.com"
SCOPE = "trading:read trading:write"
DEFAULT_REDIRECT = "http://127.0.0.1:8765/callback"
# Refresh once this share of a token's life has passed (a session that keeps signing never finds its
# token expired); a token already expired is refused before anything is sent.
REFRESH_AT = 0.8


@dataclass(frozen=True, repr=False)
class Tokens:
    """What ``/token`` answered, with the monotonic time the access token expires."""

    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str
    expires_at: float

    def __repr__(self) -> str:
        return f"Tokens(access_token=<set>, refresh_token=<{'set' if self.refresh_token else 'unset'}>, ...)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Tokens cannot be pickled (they hold the OAuth tokens); on_tokens hands them over")


OpenUrl = Callable[[str], Awaitable[object] | object]


class Signer:
    """Bearer tokens for ``tickwire.trade("tradefence")``, from the authorization-code flow.

    >>> s = Signer(client_id, client_secret, redirect_uri="http://127.0.0.1:8765/callback")
    >>> await s.authorize()            # opens the browser, captures the code on the loopback URI
    >>> s.sign_request("GET", "/v1/account").headers   # {"Authorization": "Bearer …"}

    or ``await s.exchange(code)`` with a code obtained elsewhere, or ``refresh_token=`` from a store
    (then ``await s.refresh()``). Neither secret nor token appears in ``repr``, logs or errors."""

    venue = "tradefence"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str = DEFAULT_REDIRECT,
        scope: str = SCOPE,
        auth_url: str = AUTH_URL,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: float = 3600.0,
        on_tokens: Callable[[Tokens], None] | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.auth_url = auth_url.rstrip("/")
        self.on_tokens = on_tokens
        self.timeout = timeout
        # Unlike the HMAC signers' (Unix milliseconds stamped into requests), this clock times the
        # tokens' lives: monotonic seconds. Nothing signed carries it, so no venue clock replaces it.
        self.clock = clock
        self._tokens: Tokens | None = None
        self._refresh_token = refresh_token
        self._refreshing: asyncio.Task[None] | None = None
        if access_token:
            self._tokens = Tokens(access_token, refresh_token, int(expires_in), scope, clock() + expires_in)

    def __repr__(self) -> str:
        state = "authorized" if self._tokens is not None else "not authorized"
        return f"Signer(client_id={self.client_id!r}, client_secret=<set>, {state})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Signer cannot be pickled (it holds secrets)")

    @classmethod
    def from_env(cls, prefix: str = "TRADEFENCE", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """``{prefix}_API_KEY`` is the OAuth client id, ``{prefix}_API_SECRET`` the client secret; the
        optional ``{prefix}_REFRESH_TOKEN`` and ``{prefix}_REDIRECT_URI`` are used when set."""
        c = Credentials.from_env(prefix, environ=environ)
        p = c.prefix
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:  # from the same source as the rest (a vault callable too)
            v = env(f"{p}_{name}") if callable(env) else env.get(f"{p}_{name}")
            return v or None

        refresh = get("REFRESH_TOKEN")
        redirect = get("REDIRECT_URI")
        if redirect:
            kwargs.setdefault("redirect_uri", redirect)
        return cls(c.api_key, c.require_secret(), refresh_token=refresh, **kwargs)

    # the code flow -----------------------------------------------------------------------------

    def authorize_url(self, state: str) -> str:
        """The documented ``/authorize`` URL (parameters in the document's order, plus ``state``)."""
        q = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "response_type": "code"}
        q |= {"scope": self.scope, "state": state}
        return f"{self.auth_url}/authorize?{urlencode(q, quote_via=quote)}"

    async def authorize(self, open_url: OpenUrl = webbrowser.open) -> Tokens:
        """Runs the code flow on a loopback ``redirect_uri`` (``http://127.0.0.1:PORT/path``): listens
        there, calls ``open_url`` with the authorization URL (the browser by default), takes the code
        the redirect brings (checking ``state``) and exchanges it."""
        u = urlsplit(self.redirect_uri)
        if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1") or not u.port:
            raise ValueError("authorize() needs a loopback redirect_uri such as http://127.0.0.1:8765/cb")
        state = secrets.token_urlsafe(16)
        got: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def on_redirect(req: HttpRequest) -> tuple[int, bytes]:
            if req.method != "GET" or req.path != (u.path or "/"):
                return 404, b"not found"
            if req.query.get("state") != state:
                return 400, b"state does not match"
            if not got.done():
                code = req.query.get("code")
                if code:
                    got.set_result(code)
                else:
                    got.set_exception(AuthError(f"tradefence authorize: {req.query.get('error', 'no code')}"))
            return 200, b"Tradefence authorization received; you may close this window."

        server = await HttpServer(on_redirect).start(u.hostname, u.port)
        try:
            opened = open_url(self.authorize_url(state))
            if asyncio.iscoroutine(opened):
                await opened
            code = await got
        finally:
            await server.close()
        return await self.exchange(code)

    async def exchange(self, code: str) -> Tokens:
        """``POST /token`` with ``grant_type=authorization_code``."""
        form = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        form |= {"client_secret": self._secret, "redirect_uri": self.redirect_uri}
        return await self._token(form)

    async def refresh(self) -> Tokens:
        """``POST /token`` with ``grant_type=refresh_token``."""
        token = self._tokens.refresh_token if self._tokens is not None else None
        token = token or self._refresh_token
        if not token:
            raise AuthError("tradefence: no refresh token; run the authorization-code flow")
        form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": self.client_id}
        return await self._token(form | {"client_secret": self._secret})

    async def _token(self, form: Mapping[str, str]) -> Tokens:
        u = urlsplit(self.auth_url)
        async with HttpClient(f"{u.scheme}://{u.netloc}", timeout=self.timeout) as http:
            hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
            r = await http.post(f"{u.path}/token", body=urlencode(form), headers=hdrs)
        try:
            msg = orjson.loads(r.body)
        except orjson.JSONDecodeError:
            msg = None
        if r.status != 200 or not isinstance(msg, dict) or not msg.get("access_token"):
            # The OAuth error name only: the answer might echo what was sent.
            err = msg.get("error", "") if isinstance(msg, dict) else ""
            raise AuthError(f"tradefence token request refused: HTTP {r.status} {err}".rstrip())
        if str(msg.get("token_type", "Bearer")).lower() != "bearer":
            raise AuthError(f"tradefence: unsupported token_type {msg.get('token_type')!r}")
        ttl = int(msg.get("expires_in", 3600))
        refresh = msg.get("refresh_token") or form.get("refresh_token") or None
        tokens = Tokens(str(msg["access_token"]), refresh, ttl, str(msg.get("scope", self.scope)),
                        self.clock() + ttl)  # fmt: skip
        self._tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return tokens

    async def ensure_token(self) -> None:
        """A valid access token now: kept if it has one, else refreshed from the refresh token (one
        from ``from_env``'s ``TRADEFENCE_REFRESH_TOKEN``, say); :class:`AuthError` when neither exists
        (run :meth:`authorize` or :meth:`exchange` first). What a session would call as it starts."""
        if not self.authorized:
            await self.refresh()

    # signing -----------------------------------------------------------------------------------

    @property
    def authorized(self) -> bool:
        return self._tokens is not None and self._tokens.expires_at > self.clock()

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """``Authorization: Bearer <access_token>`` (nothing is signed: ``timestamp`` is accepted for
        the common signer interface and unused). :class:`AuthError` before anything is sent when
        there is no valid token; past ``REFRESH_AT`` of its life a refresh starts in the background."""
        http_method(method)
        t = self._tokens
        now = self.clock()
        if t is None or t.expires_at <= now:
            raise AuthError("tradefence: no valid access token; authorize() or refresh() first")
        if t.refresh_token and now >= t.expires_at - t.expires_in * (1 - REFRESH_AT):
            self._refresh_soon()
        return SignedRequest({"Authorization": f"Bearer {t.access_token}"}, encode_params(params), body)

    def _refresh_soon(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to run it on: the caller refreshes
        self._refreshing = loop.create_task(self._background_refresh())

    async def _background_refresh(self) -> None:
        try:
            await self.refresh()
        except Exception as e:  # the next sign_request tries again; expiry then says so
            log.warning("tradefence: token refresh failed: %s", e)
