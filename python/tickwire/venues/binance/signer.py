"""Binance request signing: ``Signer`` for REST (query + body) and WebSocket API requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tickwire import _core, auth
from tickwire.auth import Clock, Credentials, SignedRequest, Source, encode_params, http_method, now_ms
from tickwire.errors import CredentialsError

if TYPE_CHECKING:
    pass

API_KEY_HEADER = "X-MBX-APIKEY"
# "The default is 5000 and the maximum is 60000" (venues.md §1.1): a larger window is refused with
# -1131 on every signed request.
MAX_RECV_WINDOW = 60_000


class Signer(_core.BinanceSigner):
    """Signs Binance REST and WebSocket API requests.

    >>> s = Signer("my-key", "my-secret")                       # HMAC
    >>> s = Signer("my-key", private_key_pem=pem)                # Ed25519 or RSA
    >>> s.rest_signature("symbol=BTCUSDT&side=BUY&timestamp=1")  # hex (HMAC) / %-encoded base64
    >>> req = s.sign_request("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY"})
    >>> req.headers, req.query   # {'X-MBX-APIKEY': ...}, 'symbol=BTCUSDT&side=BUY&timestamp=…&signature=…'
    """

    clock: Clock
    _recv_window: int | None = None

    def __new__(
        cls,
        api_key: str,
        secret: str | None = None,
        *,
        private_key_pem: str | None = None,
        recv_window: int | None = None,
        clock: Clock | None = None,
    ) -> Signer:
        auth.key_text(api_key)
        self = super().__new__(cls, api_key, secret, private_key_pem=private_key_pem)
        self.clock = clock or now_ms
        self.recv_window = recv_window
        return self

    @property
    def recv_window(self) -> int | None:
        """The ``recvWindow`` signed requests carry (ms), None for the venue's 5000."""
        return self._recv_window

    @recv_window.setter
    def recv_window(self, ms: int | None) -> None:
        self._recv_window = None if ms is None else auth.recv_window_ms(ms, MAX_RECV_WINDOW, "Binance")

    @classmethod
    def from_env(cls, prefix: str = "BINANCE", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` plus ``{prefix}_API_SECRET`` (HMAC) or
        ``{prefix}_PRIVATE_KEY_PEM`` / ``{prefix}_PRIVATE_KEY_PATH`` (Ed25519/RSA)."""
        c = Credentials.from_env(prefix, environ=environ)
        if c.private_key_pem is not None:
            return cls(c.api_key, private_key_pem=c.private_key_pem, **kwargs)
        if c.secret is None:
            p = c.prefix
            raise CredentialsError(
                f"environment variable {p}_API_SECRET "
                f"(or {p}_PRIVATE_KEY_PEM / {p}_PRIVATE_KEY_PATH) is not set"
            )
        return cls(c.api_key, c.secret, **kwargs)

    def headers(self) -> dict[str, str]:
        """The API-key header every authenticated request carries."""
        return {API_KEY_HEADER: self.api_key}

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """Adds ``timestamp`` (and ``recvWindow`` if configured) to the query, signs query + body, and
        appends ``signature``. ``params`` keep their order (REST does not sort)."""
        http_method(method)
        q = encode_params(params)
        ts = self.clock() if timestamp is None else timestamp
        extra = f"recvWindow={self.recv_window}&timestamp={ts}" if self.recv_window else f"timestamp={ts}"
        q = f"{q}&{extra}" if q else extra
        sig = self.rest_signature(q + body)
        return SignedRequest(self.headers(), f"{q}&signature={sig}", body)

    def ws_signed_params(
        self, params: Mapping[str, object], *, timestamp: int | None = None
    ) -> dict[str, object]:
        """``params`` plus ``apiKey``, ``timestamp`` and ``signature``, ready for a WebSocket API request."""
        p: dict[str, object] = dict(params)
        p.setdefault("apiKey", self.api_key)
        p["timestamp"] = self.clock() if timestamp is None else timestamp
        if self.recv_window:
            p.setdefault("recvWindow", self.recv_window)
        p.pop("signature", None)
        p["signature"] = self.ws_signature(p)
        return p
