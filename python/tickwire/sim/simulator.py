"""The simulator: venues on loopback servers, a book process per symbol, faults and a control port."""

from __future__ import annotations

import asyncio
import importlib
import logging
import ssl
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any

from tickwire.sim.http import HttpServer
from tickwire.sim.market import BookView
from tickwire.sim.server import VenueServer
from tickwire.sim.venues import VENUES
from tickwire.sim.venues.base import Venue, VenueConfig

log = logging.getLogger("tickwire.sim")

# A tick of the driver: due steps are computed from elapsed time, so the rate holds even if a tick
# runs late; the cap keeps one tick from starving the servers when the loop falls behind.
TICK_S = 0.001
MAX_STEPS_PER_TICK = 4096
# A client that lets this much pile up unsent is cut, as real venues cut slow consumers.
MAX_BUFFERED = 64 * 1024 * 1024


def _decimal_places(x: str) -> str | None:
    """Decimal ``x`` as a count of decimal places shows it: 10 to a power of 0 or less, spelt with
    that many places ("0.10" is "0.1", a list of decimal places showing 1); None where ``x`` is no
    such power ("0.05", "10"). A value that is no positive decimal is returned as it is, for
    ``Grids.change`` to refuse in its own words."""
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        return x
    if not d.is_finite() or d <= 0:
        return x
    t = d.normalize().as_tuple()
    if t.digits != (1,) or int(t.exponent) > 0:
        return None
    return f"{Decimal(1).scaleb(int(t.exponent)):f}"


def venue_class(name: str) -> type[Venue]:
    if name not in VENUES:
        raise ValueError(f"unknown venue {name!r}; one of {', '.join(sorted(VENUES))}")
    mod = importlib.import_module(f"tickwire.sim.venues.{VENUES[name][0]}")
    cls: type[Venue] = getattr(mod, VENUES[name][1])
    return cls


class Simulator:
    """``async with Simulator(venues=["binance", "okx"], seed=7) as sim: sim.urls()``

    ``rate`` is book steps per second per symbol (0: only ``advance()`` moves the books, which makes
    tests exact). ``endpoints`` gives a venue several independent endpoints (failover tests).
    ``max_buffered``: a client with more unsent bytes than this is cut (a slow consumer).
    ``time_scale`` shrinks every venue interval and time-out (pings, heartbeats) for fast tests.
    ``symbols`` restricts a venue to some of its instruments (``{"binance": ["BTCUSDT"]}``).
    ``profiles`` sets per-venue choices the venue documents leave open, e.g.
    ``{"clarofinlore": {"compression": "deflate"}}``. ``tls`` serves a venue over TLS with the given
    server context (``tickwire.sim.tls.server_context``; Clarofinlore demands mutual TLS 1.3).
    """

    def __init__(
        self,
        venues: Iterable[str] = ("binance",),
        seed: int = 1,
        rate: float = 50.0,
        *,
        endpoints: Mapping[str, int] | None = None,
        time_scale: float = 1.0,
        timeouts: Mapping[str, float] | None = None,
        depth: int | None = None,
        profiles: Mapping[str, Mapping[str, Any]] | None = None,
        symbols: Mapping[str, Iterable[str]] | None = None,
        host: str = "127.0.0.1",
        control: bool = True,
        max_buffered: int = MAX_BUFFERED,
        tls: Mapping[str, ssl.SSLContext] | None = None,
    ) -> None:
        self.seed = seed
        self.max_buffered = max_buffered
        self.rate = rate
        self.host = host
        self.venues: dict[str, Venue] = {}
        counts = dict(endpoints or {})
        for name in venues:
            cfg = VenueConfig(
                seed=seed,
                time_scale=time_scale,
                timeouts=dict(timeouts or {}),
                depth=depth,
                profile=dict((profiles or {}).get(name, {})),
                symbols=list(symbols[name]) if symbols and name in symbols else None,
                tls=(tls or {}).get(name),
            )
            v = venue_class(name)(cfg)
            v.endpoints.extend(VenueServer(v, i, host) for i in range(counts.get(name, 1)))
            self.venues[name] = v
        self.control = HttpServer(self._control, host) if control else None
        self._tasks: list[asyncio.Task[None]] = []
        # Exceptions raised inside the simulator's own loops (a bug in a venue module): the loops
        # keep running, and tests assert this stays empty.
        self.errors: list[BaseException] = []
        self._paused = False

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> Simulator:
        for v in self.venues.values():
            for ep in v.endpoints:
                await ep.start()
                self._tasks.append(asyncio.get_running_loop().create_task(self._housekeeping(v, ep)))
        if self.control is not None:
            await self.control.listen()
        self._tasks.append(asyncio.get_running_loop().create_task(self._drive()))
        return self

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for v in self.venues.values():
            await v.stop()
            for ep in v.endpoints:
                await ep.stop()
        if self.control is not None:
            await self.control.close()
        await asyncio.sleep(0)  # let transports finish closing

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # access ------------------------------------------------------------------------------------

    def venue(self, name: str) -> Venue:
        return self.venues[name]

    def endpoint(self, venue: str, index: int = 0) -> VenueServer:
        return self.venues[venue].endpoints[index]

    def urls(self) -> dict[str, Any]:
        """Per venue, a list of endpoints each with its WebSocket URLs and REST base URL."""
        out: dict[str, Any] = {name: [ep.urls() for ep in v.endpoints] for name, v in self.venues.items()}
        if self.control is not None:
            out["control"] = self.control.url
        return out

    def pending_faults(self) -> dict[str, list[dict[str, list[str]]]]:
        """Per venue, per endpoint (as in :meth:`urls`): the book faults still waiting for a message
        to hit. A test that freezes the market to compare books waits for none to be left, since a
        skipped last message is a gap no client can see until the next one arrives."""
        return {name: [ep.pending_faults() for ep in v.endpoints] for name, v in self.venues.items()}

    def book(self, venue: str, symbol: str, depth: int | None = None) -> BookView:
        """The ground truth: the simulator's current book for ``symbol`` at ``venue``."""
        return self.venues[venue].books[symbol].view(depth)

    def fund(self, venue: str, account: str, amounts: Mapping[str, Any]) -> None:
        """Give ``account`` (the venue's account key: API key, OAuth client id…) these balances
        (asset -> amount; margin venues: collateral). From then on its orders are checked against
        them ("insufficient funds/margin"); an account never funded trades without limits."""
        self.venues[venue].engine.ledger.fund(account, amounts)

    def set_status(self, venue: str, symbol: str, status: str) -> None:
        """What trades on ``symbol`` from now: "open" (everything, as at the start), "cancel_only"
        (cancels only) or "closed" (a halt). Either way new orders are refused as the venue refuses
        them and cancels still go. Shown in the venue's instrument list in its own words, refused
        with its code (where a venue does not document which code a status gets, the closest one):

        - Binance spot: ``CANCEL_ONLY``/``HALT``; -2010 "Market is closed." (a ``HALT``'s cancel of one
          order: -2011 "Market is closed.", CHANGELOG 2019-03-12)
        - Binance USDⓈ-M: ``SETTLING``; -4140 "Invalid symbol status for opening position" (an amend:
          -5024)
        - OKX: ``suspend``; sCode 51022 "Contract suspended." (51021 for a profile ``preopen`` pair)
        - Bybit: ``Closed``; 170157 (spot), 110074 (derivatives)
        - HTX: ``suspend`` (cancel-only) / ``offline`` (closed); ``order-disabled`` /
          ``base-symbol-trade-disabled``
        - Coinbase: ``cancel_only`` / ``trading_disabled`` flags; ``UNTRADABLE_PRODUCT``
        - Kraken: ``cancel_only`` (its pair statuses have no halt); ``EService:Market in cancel_only
          mode``

        ``ValueError`` on the other venues, whose lists do not show it."""
        v = self.venues[venue]
        if not v.shows_status:  # a test meaning to close a market would run on an open one
            raise ValueError(f"{venue}: the simulator shows no trading status there")
        if symbol not in v.instruments:
            raise ValueError(f"{venue} has no symbol {symbol!r}")
        if status not in ("open", "cancel_only", "closed"):
            raise ValueError(f"status is 'open', 'cancel_only' or 'closed', not {status!r}")
        if status == "open":
            v.status.pop(symbol, None)
        else:
            v.status[symbol] = status

    def set_grid(
        self,
        venue: str,
        symbol: str,
        *,
        tick: str | None = None,
        lot: str | None = None,
        min_qty: str | None = None,
        at_ms: int | None = None,
    ) -> None:
        """Changes ``symbol``'s price tick, quantity step (lot) and/or minimum size, given as decimal
        strings in the venue's own units ("0.05"): from now on — or, where the venue announces such
        changes (OKX ``upcChg``: ``tickSz``, ``minSz``), from ``at_ms`` on the venue's clock (Unix
        ms), listed as upcoming until then. The venue's instrument list shows the grid in force and
        its order entry (REST, its order socket, places and amends) refuses an order off it, before
        the matching engine, with the venue's own code; resting orders stay:

        - Binance spot: -1013 ``Filter failure: PRICE_FILTER`` / ``LOT_SIZE`` (``MARKET_LOT_SIZE``)
        - Binance USDⓈ-M: -4014 "Price not increased by tick size.", -4023 "Quantity not increased
          by step size.", -4004 "Quantity less than min quantity."; -1111 "Precision is over the
          maximum defined for this asset." first, for a number past the listed precision
        - OKX: 51000 ``Parameter px error``, 51121 (``lotSz``), 51020 (``minSz``)
        - Bybit spot (tick, lot: ``basePrecision``; spot's ``minOrderQty`` is no longer checked):
          170134 "Order price decimal too long.", 170137 "Order volume decimal too long"
        - Kraken (tick, ``ordermin``; ``lot_decimals`` stays): ``EOrder:Tick size check failed``,
          ``EOrder:Order minimum not met``
        - Coinbase: ``INVALID_LIMIT_PRICE_PRECISION``, ``INVALID_SIZE_PRECISION``,
          ``PREVIEW_INVALID_BASE_SIZE_TOO_SMALL`` (an edit: the ``PREVIEW_`` precision reasons)
        - HTX (tick and lot as ``price-precision``/``amount-precision``: powers of ten):
          ``order-orderprice-precision-error``, ``order-orderamount-precision-error``,
          ``order-limitorder-amount-min-error``

        A tick or lot must be a whole multiple of the simulator's own (its books move on those);
        ``ValueError`` on a venue whose grid cannot be changed here (those above can), for a value its
        list does not show, and for one it lists in decimal places that is not a power of ten of 1 or less
        (one spelt with trailing zeros, "0.10", is the power it is: listed and enforced as 0.1)."""
        v = self.venues[venue]
        if not v.sets_grid:  # a test meaning to change the grid would run on the old one
            raise ValueError(
                f"{venue}: the simulator cannot change a grid there "
                "(Binance spot and USDⓈ-M, OKX, Bybit, Kraken, Coinbase, HTX can)"
            )
        if symbol not in v.instruments:
            raise ValueError(f"{venue} has no symbol {symbol!r}")
        named = {"tick": tick, "lot": lot, "min_qty": min_qty}
        unlisted = sorted(k for k, x in named.items() if x is not None and k not in v.grid_params)
        if unlisted:  # a change the venue's list would not show, or its order entry not check
            raise ValueError(f"{venue} lists and checks no {', '.join(unlisted)} the simulator could change")
        for k in sorted(v.grid_decimals):
            x = named[k]
            if x is None:
                continue
            places = _decimal_places(x)
            if places is None:
                raise ValueError(
                    f"{venue} lists its {k} in decimal places: {x!r} is not a power of ten, 1 or less"
                )
            named[k] = places  # as the list shows it: "0.10" would be listed 2 places, enforced 0.1
        tick, lot, min_qty = named["tick"], named["lot"], named["min_qty"]
        if at_ms is not None:
            unsaid = sorted(k for k, x in named.items() if x is not None and k not in v.announces_grid)
            if unsaid:
                raise ValueError(f"{venue} announces no {', '.join(unsaid)} change before it takes effect")
        v.grids.change(symbol, tick, lot, min_qty, at_ms)

    def pause(self) -> None:
        """Stop the clock-driven book process (``advance()`` still works)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def advance(self, steps: int = 1, venue: str | None = None, symbol: str | None = None) -> None:
        """Move books ``steps`` events forward now, publishing each one."""
        if venue is not None and venue not in self.venues:
            raise ValueError(f"no venue {venue!r} in this simulator")
        if symbol is not None and not any(symbol in v.books for v in self.venues.values()):
            raise ValueError(f"no symbol {symbol!r} in this simulator")
        for name, v in self.venues.items():
            if venue is not None and name != venue:
                continue
            for sym in v.books:
                if symbol is not None and sym != symbol:
                    continue
                for _ in range(steps):
                    v.book_step(sym)

    # loops -------------------------------------------------------------------------------------

    async def _drive(self) -> None:
        if self.rate <= 0:
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        done = 0
        pairs = [(v, sym) for v in self.venues.values() for sym in v.books]
        # Sleep about one step's worth (at most 20 ms): a slow rate should not cost 1000 wake-ups/s.
        nap = max(TICK_S, min(0.02, 1.0 / self.rate))
        while True:
            await asyncio.sleep(nap)
            if self._paused:
                start = loop.time()
                done = 0
                continue
            due = min(int((loop.time() - start) * self.rate) - done, MAX_STEPS_PER_TICK)
            if due <= 0:
                continue
            done += due
            for v, sym in pairs:
                book_step = v.book_step
                try:
                    for _ in range(due):
                        book_step(sym)
                except Exception as e:
                    self._error(e)
            if done > 1_000_000_000:
                start, done = loop.time(), 0

    async def _housekeeping(self, v: Venue, ep: VenueServer) -> None:
        # Fault expiries (stall/down for N seconds) need a finer clock than most venue timers.
        period = min(v.timer_period, 0.02)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            try:
                ep.housekeeping(now)
                v.private_faults.flush(now)
                if not ep.is_down:
                    v.on_timer(ep, now)
                for c in list(ep.conns.values()):
                    if c.buffered > self.max_buffered:
                        c.abort()
            except Exception as e:
                self._error(e)

    def _error(self, e: BaseException) -> None:
        if len(self.errors) < 100:
            self.errors.append(e)
        log.exception("simulator loop error", exc_info=e)

    # control endpoint --------------------------------------------------------------------------

    async def _control(self, req: Any) -> Any:
        from tickwire.sim.control import handle

        return await handle(self, req)
