"""Kraken private REST signing: ``API-Sign = base64(HMAC-SHA512(base64decode(secret), uri_path +
SHA256(nonce + postdata)))`` over the form-encoded body, with nonces that always increase."""

from __future__ import annotations

import threading
import types
import weakref
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from tickwire import _core, auth
from tickwire.auth import Clock, Credentials, SignedRequest, Source, encode_params, http_method, now_ms

__all__ = ["SENT", "Signer"]

# The path and parameters of the private request this task signed last. Kraken's answers to AddOrder,
# CancelOrder and AmendOrder do not name the order (``txid`` list, ``count``, ``amend_id``), and the
# session hands the grammar the answer without its request: the grammar's ``read_answer`` takes the
# order's ids from here. The request is signed right before it is sent and its answer read right after,
# in the same task, so this is always that answer's request (asyncio tasks each have their own context).
SENT: ContextVar[tuple[str, dict[str, str]] | None] = ContextVar("tickwire_kraken_sent", default=None)


class _Nonces:
    """The last nonce sent from this process per API key and clock. Kraken keeps one nonce per key, not
    per client: two signers of one key (two sessions, each ``Signer.from_env()``) each counting only
    their own sent the clock's reading, below the other's once a burst bumped it past the clock or the
    host's clock stepped back — refused, and refused again after the remedy's resend. A signer given a
    clock of its own draws its nonces from that clock's sequence, not the host's.

    An entry lives as long as its clock can still be called: keyed by the clock's identity, it goes
    when the clock is collected. A dict keyed by the clock itself pinned every session's clock (and
    what a bound method's ``__self__`` holds, ~1.3 KB) for the process's life in a bot that re-creates
    sessions for days. Nothing is lost by forgetting it: no signer can draw from a clock that is gone,
    and every signer still using one keeps it, and so its entry, alive. A bound method is keyed by its
    object and function (as Python compares bound methods), so a new session given ``clock.now_ms``
    again continues the sequence of the one before. A clock no weak reference can be taken to is
    kept, as before (rare: a callable object of a class with ``__slots__`` and no ``__weakref__``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id(owner) → (a weak reference to the owner, or the owner itself; {(api key, function): last})
        self._by_owner: dict[int, tuple[object, dict[tuple[str, object], int]]] = {}

    def __len__(self) -> int:
        return sum(len(last) for _, last in list(self._by_owner.values()))

    def next(self, api_key: str, clock: Clock, own_last: int) -> int:
        """The next nonce for ``api_key`` on ``clock``: its reading, bumped above ``own_last`` and above
        every nonce sent for the key on that clock."""
        owner, func = _owner(clock)
        with self._lock:
            slot = self._by_owner.get(id(owner))
            if slot is None:
                slot = self._by_owner[id(owner)] = (self._watch(owner), {})
            last = slot[1]
            key = (api_key, func)
            nonce = last[key] = max(clock(), own_last + 1, last.get(key, 0) + 1)
            return nonce

    def _watch(self, owner: object) -> object:
        by_owner, i = self._by_owner, id(owner)
        # No lock in the callback: it may run from a collection inside ``next`` (the clock's call), with
        # the lock held; a dict pop needs none. It runs as the owner is freed, before its id can be reused.
        try:
            return weakref.ref(owner, lambda _ref: by_owner.pop(i, None))
        except TypeError:
            return owner


def _owner(clock: Clock) -> tuple[object, object]:
    """The object whose life a clock's entry follows, and what tells its clocks apart."""
    if isinstance(clock, types.MethodType):
        return clock.__self__, clock.__func__
    bound = getattr(clock, "__self__", None)
    if isinstance(clock, types.BuiltinMethodType) and not isinstance(bound, (types.ModuleType, type(None))):
        return bound, clock.__name__  # a C object's method, created anew at each attribute read too
    return clock, None


_KEY_NONCES = _Nonces()


class Signer(_core.KrakenSigner):
    """Signs Kraken private REST calls (``POST /0/private/...``).

    >>> s = Signer("key", "base64-secret==")
    >>> s.rest_signature("/0/private/Balance", 1616492376594, "nonce=1616492376594")
    >>> req = s.sign_request("POST", "/0/private/AddOrder", {"pair": "XBTUSD", "type": "buy"})
    >>> req.headers, req.body   # {'API-Key', 'API-Sign', 'Content-Type'}, 'nonce=…&pair=XBTUSD&type=buy'
    """

    clock: Clock
    _last_nonce: int

    def __new__(cls, api_key: str, secret_b64: str, *, clock: Clock | None = None) -> Signer:
        auth.key_text(api_key)
        self = super().__new__(cls, api_key, secret_b64)
        self.clock = clock or now_ms
        self._last_nonce = 0
        return self

    @classmethod
    def from_env(cls, prefix: str = "KRAKEN", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET`` (base64, as Kraken issues it)."""
        c = Credentials.from_env(prefix, environ=environ)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def next_nonce(self) -> int:
        """The clock in ms, bumped so that it always increases (Kraken rejects a repeated nonce)."""
        self._last_nonce = _KEY_NONCES.next(self.api_key, self.clock, self._last_nonce)
        return self._last_nonce

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """Builds the form body ``nonce=…&<params>&<body>`` and the ``API-Key`` / ``API-Sign`` headers
        (with the form's ``Content-Type``). ``timestamp`` overrides the nonce."""
        http_method(method)
        nonce = self.next_nonce() if timestamp is None else timestamp
        parts = [f"nonce={nonce}", encode_params(params), body]
        postdata = "&".join(p for p in parts if p)
        headers = {
            "API-Key": self.api_key,
            "API-Sign": self.rest_signature(path, nonce, postdata),
            # The session types only JSON bodies; Kraken's private calls are forms.
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if isinstance(params, Mapping):
            SENT.set((path, {str(k): str(v) for k, v in params.items()}))
        return SignedRequest(headers, "", postdata)
