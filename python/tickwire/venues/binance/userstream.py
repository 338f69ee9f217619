"""The USDⓈ-M user data stream, kept by listenKey (venues.md §9; derivatives docs "User Data Streams /
Connect"): ``POST /fapi/v1/listenKey`` (API key header, no signature) gives the account's key, the
stream is ``<private base>?listenKey=<key>&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired``,
a ``PUT`` keeps the key alive for another 60 minutes, and a key not kept alive expires with a
``listenKeyExpired`` event (delivered where asked for, as any other) and no further events.

The key and the events are query parameters since Binance split ``fstream`` into ``/public``,
``/market`` and ``/private`` (its "Important WebSocket Change Notice", 2026-03-06; the old URLs retired
on 2026-04-23): on production the path form ``/private/ws/<listenKey>`` opens and delivers nothing,
and without ``events`` nothing is delivered either (unicorn-binance-websocket-api PRs #445/#446,
tested on production 2026-05-21). Binance's older "User Data Streams" page still shows the path form.

``ListenKeyStream`` is a :class:`~tickwire.trading.stream.PrivateStream` whose URL comes from a REST
call: it creates the key before connecting, keeps it alive on a timer (every 30 minutes by default,
well inside the hour), and rotates it — new key, reconnect, reconcile — on ``listenKeyExpired`` or
when a keep-alive is refused with -1125 ("This listenKey does not exist."). Every reconnect runs the
session's reconciliation, as for any private stream. The key is never deleted on close: the venue
hands the same active key to every script on the API key, and a DELETE would cut their streams too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.errors import RateLimitError, TickwireError, TransportError
from tickwire.streams import Endpoint
from tickwire.trading.orders import OrderEvent
from tickwire.trading.stream import PrivateStream
from tickwire.trading.venue import Call, Position
from tickwire.transport.http import HttpClient
from tickwire.venues.binance.usdm import UsdmOrders

if TYPE_CHECKING:
    from tickwire.trading.wire import Wire

log = logging.getLogger("tickwire.trading")

KEEPALIVE_S = 1800.0
KEY_GONE = "-1125"
# The events asked for: every one ``UsdmOrders`` reads, its key's expiry too. The stream delivers the
# events named and no others, and the change notice makes no exception for ``listenKeyExpired``: not
# asked for, an expiry would be found only by the next keep-alive's -1125, up to ``KEEPALIVE_S``
# later — that long with no fill or cancel streamed.
EVENTS = ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "listenKeyExpired")


class ListenKeyStream(PrivateStream):
    """The private stream of a ``binance-usdm`` session. ``rotations`` counts keys replaced after an
    expiry; ``wallet`` and ``positions`` hold what the last ``ACCOUNT_UPDATE`` events said."""

    name = "user data stream"

    def __init__(
        self,
        grammar: UsdmOrders,
        signer: Any,
        endpoint: Endpoint,
        apply: Callable[[OrderEvent], object],
        on_resubscribed: Callable[[], Awaitable[None]],
        *,
        connect_timeout: float = 5.0,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        base = endpoint.ws[grammar.stream_label].rstrip("/")
        # The grammar has no subscribe step (the key is in the URL): PrivateStream's own on_connected,
        # which sends one, is replaced below.
        super().__init__(grammar, signer, base, apply, on_resubscribed, connect_timeout=connect_timeout)  # type: ignore[arg-type]
        self.usdm = grammar
        self.base = base
        self.rest_url = endpoint.rest or ""
        self.keepalive_s = keepalive_s
        self.key = ""
        self.rotations = 0
        self.keepalives = 0
        self.wallet: dict[str, Decimal] = {}
        self.positions: dict[str, Position] = {}
        self._http: HttpClient | None = None
        # The session's request path (``Channels``): its budget counts the listenKey calls.
        self.wire: Wire | None = None
        self._fresh = False  # the key was just issued: no keep-alive needed before connecting
        self._timer: asyncio.Task[None] | None = None
        self._rotating: asyncio.Task[None] | None = None

    async def _call(self, call: Call) -> Any:
        """``call`` (API key header, no signature) on the stream's own connection, counted as the
        venue counts it (weight 1, per IP): through the session's budget when it has one (``wire``,
        set by the session) — room waited for, the usage headers read, a 429/418 blocking every
        session for its Retry-After."""
        if self._http is None:
            raise TransportError(f"{self.venue} {self.name}: closed")
        wire = self.wire
        if wire is None:
            r = await self._http.request(
                call.method, call.path, query=dict(call.params), headers=self.signer.headers()
            )
            return self.usdm.read_answer(r.status, r.body)
        cost = wire.cost(call)
        await wire.cleared(cost, "query", f"{call.method} {call.path}")  # RateLimitError, unsent
        # Made right after the take: a write late behind a connect counted from the write, a resend
        # charged again (as ``Wire.send``'s requests are).
        gate = wire.late_gate(cost, "query")
        t0 = time.perf_counter()
        r = await self._http.request(
            call.method, call.path, query=dict(call.params), headers=self.signer.headers(), gate=gate
        )
        try:
            # The usage it reports is as of its request: what was taken since is added to it, and it
            # lowers nothing a newer answer reported (``RateBudget.observe``).
            return wire.read_answer(r.status, r.body, r.headers, call, time.perf_counter() - t0)
        except RateLimitError as e:
            wire.rate_refused(call, e, cost)
            raise

    async def _new_key(self) -> None:
        body = await self._call(self.usdm.listen_key())
        self.key = str(body["listenKey"])
        self.url = f"{self.base}?listenKey={self.key}&events={'/'.join(EVENTS)}"
        self._fresh = True

    async def _keep_alive(self) -> bool:
        """Extends the key; False when the venue no longer knows it (expired)."""
        try:
            await self._call(self.usdm.keep_alive(self.key))
        except TickwireError as e:
            if str(getattr(e, "code", "")) == KEY_GONE:
                return False
            raise
        self.keepalives += 1
        return True

    async def start(self, timeout: float = 5.0) -> None:
        self._http = HttpClient(self.rest_url, timeout=self.connect_timeout)
        await self._http.connect()
        await self._new_key()
        self._timer = asyncio.create_task(self._keep_alive_loop(), name=f"tickwire-{self.venue}-listenkey")
        await super().start(timeout)

    async def close(self) -> None:
        for task in (self._timer, self._rotating):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await super().close()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def on_connected(self) -> None:
        # A reconnect on the same key (a dropped socket) first checks the key still lives: a stream on
        # an expired key is silent, not refused.
        if not self._fresh and not await self._keep_alive():
            await self._new_key()
            self.rotations += 1
            raise TransportError(f"{self.venue} {self.name}: listenKey expired; reconnecting with a new one")
        self._fresh = False
        if self.connects >= 1:
            # In a task, as every private stream's: up (its events applied, a watchdog seeing it)
            # while the queries run. Awaited here, it counted as down for as long as they took.
            self.reconcile_soon()

    def on_message(self, msg: Any) -> None:
        if self.usdm.key_expired(msg):
            log.warning("%s %s: listenKey expired; rotating", self.venue, self.name)
            if self._rotating is None or self._rotating.done():
                self._rotating = asyncio.create_task(self._rotate())
            return
        account = self.read(self.usdm.read_account_update, msg)  # each reader guarded, as the base's
        if account is not None:
            self.wallet.update(account[0])
            self.positions.update(account[1])
            return
        for ev in self.read(lambda m: list(self.usdm.read_stream(m)), msg) or ():
            self.events += 1
            self.apply(ev)

    async def _rotate(self) -> None:
        """A new key, then a reconnect on it (which reconciles what the silent stream missed)."""
        try:
            await self._new_key()
        except (TickwireError, OSError) as e:
            log.warning("%s %s: new listenKey failed: %s", self.venue, self.name, e)
            return  # the keep-alive timer retries: its PUT on the dead key gets -1125
        self.rotations += 1
        self.drop()

    async def _keep_alive_loop(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            try:
                alive = await self._keep_alive()
            except (TickwireError, OSError) as e:
                log.warning("%s %s: listenKey keep-alive failed: %s", self.venue, self.name, e)
                continue
            if not alive:
                await self._rotate()
