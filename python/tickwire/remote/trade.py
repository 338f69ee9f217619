"""``tickwire.remote.trade(nats_url, venue, account)``: a venue account's order entry through the gateway
that owns it (``tickwire gateway``), with the local session's methods, objects and callbacks::

    async with tickwire.trade("binance", credentials=signer, strategy="mm1", on_order=cb) as tr:
    async with tickwire.remote.trade("nats://gw:4222", "binance", "fund-a", strategy="mm1",
                                     on_order=cb) as tr:

What differs, and why:

- ``strategy`` is the client-id prefix the gateway holds this client to: ids are made here, in the
  venue's format, so a request whose answer is lost can be asked about by its id;
- ``on_order``/``on_fill`` and ``events()`` are fed from the account's JetStream events (durable
  consumer ``durable``, by default one per account and strategy), after the gateway's session saw
  them: an order's own events may come after ``place_order`` returned, and a client started again
  under the same durable name gets exactly the events it had not handled;
- ``resume()`` is a coroutine (it asks the gateway);
- ``cancel_all`` and ``kill`` act on the whole account, as they do locally on a shared key.

A request whose answer does not come within ``timeout`` is never sent again: the client asks the
gateway for that request's outcome (waiting while it is still being worked on), so a place returns the
order the venue has, raises the venue's error it met, or raises ``TransportError`` when it provably
never ran; ``UnknownOutcome`` only when even that question goes unanswered (the gateway gone). While
the gateway's heartbeat is missing, requests fail at once with ``TransportError`` and ``health()``
says ``gateway_alive: False``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import nats.errors
import orjson

from tickwire.bus import codec, subjects
from tickwire.bus.client import connect as bus_connect
from tickwire.bus.client import drain_or_close
from tickwire.errors import RequestTimeoutError, TickwireError, TransportError, UnknownOutcome
from tickwire.remote.consumer import EventConsumer, durable_name
from tickwire.remote.liveness import GatewayWatch
from tickwire.trading.client_ids import FORMATS, ClientIds
from tickwire.trading.codes import unknown_outcome
from tickwire.trading.delivery import EventFeed
from tickwire.trading.kill import KillReport
from tickwire.trading.numbers import to_decimal
from tickwire.trading.orders import TERMINAL, Fill, Order, OrderType, Side, Tif
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.venue import Balance, Position

log = logging.getLogger("tickwire.remote")

# Fills remembered by trade id to drop one heard again: far more than a gap's catch-up retells.
FILLS_REMEMBERED = 100_000
# Orders remembered by client id, with what their last event said, to drop an older one heard after it.
ORDERS_REMEMBERED = 100_000
# Ended for good: not "rejected", which a reconciliation that found no trace of an order states and the
# venue's later word of the order undoes (``OrderTracker.mark_absent``).
FINAL = TERMINAL - {"rejected"}
# What the client compares a later event of an order with: whether its last one ended it for good, the
# quantity filled it stated and its venue time — not the whole ``Order`` (~1.2 KB an order against
# ~0.3: 120 MB at ``ORDERS_REMEMBERED`` before 2026-12-07).
Heard = tuple[bool, Decimal, int | None]


def _num(x: Any, what: str) -> str | None:
    # Checked here as locally (floats, NaN, negatives refused with InvalidOrder) and sent as exact text.
    return None if x is None else str(to_decimal(x, what))


class RemoteTrading:
    """One venue account's orders through its gateway. Build with :func:`trade`."""

    def __init__(
        self,
        nats_url: str | Sequence[str],
        venue: str,
        account: str,
        *,
        strategy: str = "tw",
        on_order: Callable[[Order], None] | None = None,
        on_fill: Callable[[Fill], None] | None = None,
        timeout: float = 5.0,
        durable: str | None = None,
        start_seq: int | None = None,
        all_orders: bool = False,
        missed: int = 3,
    ) -> None:
        self.nats_url = nats_url
        self.venue = venue
        self.account = account
        self.strategy = strategy
        self.timeout = timeout
        self.on_order = on_order
        self.on_fill = on_fill
        # All the account's events (a monitor), not only this strategy's orders.
        self.all_orders = all_orders
        self.missed = missed
        self.client_ids = ClientIds(FORMATS[venue], strategy)
        self.durable = durable_name(venue, account, durable or strategy)
        self.start_seq = start_seq
        self.rules: dict[str, InstrumentRules] = {}
        self.gateway: str | None = None
        self.gateway_alive = False
        self.settle_s = timeout
        self.nc: Any = None
        self.watch: GatewayWatch | None = None
        self.consumer: EventConsumer | None = None
        self._events = EventFeed()
        self._tasks: set[asyncio.Task[None]] = set()
        self._rid_stem = f"{strategy}.{secrets.token_hex(6)}."
        self._rid = 0
        self.requests = 0
        self.timeouts = 0
        self.unknown_outcomes = 0
        self.repeated_fills = 0  # fills heard again, by trade id, and not passed on
        self._fills_heard: dict[tuple[str, str, str], None] = {}  # the newest FILLS_REMEMBERED, in order
        self.stale_orders = 0  # order events older than one heard before, and not passed on
        self._orders_heard: dict[str, Heard] = {}  # by client id, the newest ORDERS_REMEMBERED

    # lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> RemoteTrading:
        try:
            self.nc = await bus_connect(self.nats_url, name=f"tickwire-remote-{self.strategy}")
            self.watch = GatewayWatch(self.nc, missed=self.missed, on_change=self._gateway_change)
            await self.watch.start()
            key = f"{self.venue}/{self.account}"
            try:
                st = await self.watch.wait_for(lambda s: key in s.body.get("accounts", ()), self.timeout)
            except TimeoutError:
                why = f"no gateway's heartbeat names {key} (waited {self.timeout:g} s)"
                raise TransportError(why) from None
            self.gateway, self.gateway_alive = st.name, True
            await self._hello()
            self.consumer = await EventConsumer(
                self.nc, self.venue, self.account, self.durable, self._on_event, start_seq=self.start_seq
            ).start()
        except BaseException:
            await self.close()
            raise
        return self

    async def _hello(self) -> None:
        h = await self._request("hello", {"strategy": self.strategy})
        self.rules = codec.load_rules(h["rules"])
        self.settle_s = max(self.timeout, float(h["settle_s"]))

    def _gateway_change(self, name: str, alive: bool) -> None:
        if name == self.gateway:
            self.gateway_alive = alive
            if alive:  # back, perhaps a new instance: register again, refresh the rules
                t = asyncio.get_running_loop().create_task(self._rehello())
                self._tasks.add(t)
                t.add_done_callback(self._tasks.discard)

    async def _follow(self) -> bool:
        """The account taken over by a gateway of another name (a standby that took the lease): bound
        to it, registered again; False when no live gateway's beat names the account."""
        key = f"{self.venue}/{self.account}"
        if self.watch is None:
            return False
        for st in list(self.watch.gateways.values()):
            if st.alive and st.name != self.gateway and key in st.body.get("accounts", ()):
                log.warning("%s: served by gateway %s now (was %s)", key, st.name, self.gateway)
                self.gateway, self.gateway_alive = st.name, True
                await self._hello()
                return True
        return False

    async def _rehello(self) -> None:
        with contextlib.suppress(Exception):
            await self._hello()

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self.consumer is not None:
            await self.consumer.close()
        if self.watch is not None:
            await self.watch.stop()
        if self.nc is not None:
            await drain_or_close(self.nc)
        self._events.close()

    async def __aenter__(self) -> RemoteTrading:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def health(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "account": self.account,
            "gateway": self.gateway,
            "gateway_alive": self.gateway_alive,
            "connected": bool(self.nc is not None and self.nc.is_connected),
            "requests": self.requests,
            "timeouts": self.timeouts,
            "unknown_outcomes": self.unknown_outcomes,
            "repeated_fills": self.repeated_fills,
            "stale_orders": self.stale_orders,
            "events": None if self.consumer is None else self.consumer.health(),
        }

    async def gateway_health(self) -> dict[str, Any]:
        """The gateway's view of this account: its session's ``health()``, events published, …"""
        out: dict[str, Any] = await self._request("health", {})
        return out

    # events ----------------------------------------------------------------------------------------

    def _on_event(self, kind: str, value: Any) -> None:
        if not self.all_orders and not self.client_ids.has_prefix(value.client_id):
            return
        if kind == "order" and self._stale(value):
            self.stale_orders += 1
            return
        if kind == "fill":
            # A fill the gateway stored twice (told again after a gap longer than the stream's
            # duplicate window) is heard once: its trade id is the venue's key for it — with its
            # order's, as both sides of a self-trade carry one trade id.
            key = (value.symbol, value.trade_id, value.client_id)
            if key in self._fills_heard:
                self.repeated_fills += 1
                return
            self._fills_heard[key] = None
            if len(self._fills_heard) > FILLS_REMEMBERED:
                del self._fills_heard[next(iter(self._fills_heard))]
        cb = self.on_order if kind == "order" else self.on_fill
        if cb is not None:
            try:
                cb(value)
            except Exception:
                log.exception("remote trading callback %r raised", cb)  # it must not stop the events
        self._events.put(kind, value)

    def _stale(self, o: Order) -> bool:
        """Whether ``o`` is older than the order's last event heard: a gateway that stepped down sends
        what it queued while cut off (nats-py even sends what it buffered then, before the gateway can
        find the lease gone) after its successor told newer states — an ended order reopened, a fill
        undone or an earlier venue time would leave the client with a state the venue left behind.
        And an order's end heard again, as ended and filled as before: its stepped-down gateway's
        copy of it, which the stream's duplicate window does not drop (published past the window, or
        under another message id — the same price written ``59996.7`` and ``59996.70``)."""
        last = self._orders_heard.pop(o.client_id, None)
        if last is not None:
            final, filled, updated_ns = last
            if (
                (final and o.is_open)
                or (final and o.status in FINAL and o.filled == filled)
                or o.filled < filled
                or (o.updated_ns is not None and updated_ns is not None and o.updated_ns < updated_ns)
            ):
                self._orders_heard[o.client_id] = last
                return True
        self._orders_heard[o.client_id] = (o.status in FINAL, o.filled, o.updated_ns)
        if len(self._orders_heard) > ORDERS_REMEMBERED:
            del self._orders_heard[next(iter(self._orders_heard))]
        return False

    def events(self) -> AsyncIterator[tuple[str, Any]]:
        """``async for kind, value in tr.events()``: ("order", Order), ("fill", Fill), from the first
        call on (nothing is queued before it, as for a local session)."""
        return self._events.events()

    # requests --------------------------------------------------------------------------------------

    async def _request(self, op: str, body: dict[str, Any], timeout: float | None = None) -> Any:
        if not self.gateway_alive and self.gateway is not None and not await self._follow():
            raise TransportError(f"gateway {self.gateway} is gone (no heartbeat): {op} not sent")
        self.requests += 1
        body.setdefault("strategy", self.strategy)  # what the gateway confines per-order requests to
        subject = subjects.orders(self.venue, self.account, op)
        try:
            msg = await self.nc.request(subject, orjson.dumps(body), timeout=timeout or self.timeout)
        except nats.errors.NoRespondersError as e:
            raise TransportError(f"no gateway serves {self.venue}/{self.account}: {op} not sent") from e
        except nats.errors.TimeoutError as e:
            why = f"{self.venue}/{self.account}: no answer to {op} from the gateway"
            raise RequestTimeoutError(why) from e
        except nats.errors.Error as e:
            raise TransportError(f"{self.venue}/{self.account}: {op}: {e}") from e
        return _result(orjson.loads(msg.data))

    async def _mutate(self, op: str, body: dict[str, Any]) -> Any:
        self._rid += 1
        # When this client stops waiting (Unix ms): a request nats-py held while the link was down
        # and sends once it is back — after this client said "unknown" and may have acted on it — is
        # refused unrun by the gateway rather than run late.
        until_ms = time.time_ns() // 1_000_000 + int(self.timeout * 1000)
        body.update(rid=self._rid_stem + str(self._rid), strategy=self.strategy, until_ms=until_ms)
        try:
            return await self._request(op, body)
        except RequestTimeoutError as e:
            self.timeouts += 1
            return await self._settle(op, body, e)

    async def _settle(self, op: str, body: dict[str, Any], why: Exception) -> Any:
        """The outcome of a request whose answer was lost, asked of the gateway (never resent)."""
        ask = {k: body.get(k) for k in ("rid", "client_id", "symbol")}
        if op == "place_many":  # each order's venue view, should the gateway answering never have seen it
            ask["orders"] = [{"client_id": e["client_id"], "symbol": e["symbol"]} for e in body["orders"]]
        try:
            out = await self._request("outcome", ask, timeout=self.settle_s + self.timeout)
        except TickwireError as e:
            # Whatever kept the answer from coming (the link, the venue's 429 to the gateway's
            # query): the outcome is not known, never "refused" — a place may be at the venue.
            raise self._unknown(op, body, f"answer lost ({why}); asking the gateway failed too: {e}") from e
        if out["state"] == "done":
            return _result(out["reply"])
        # Unseen by the gateway answering now, which may not be the one that got the request
        # (restarted since). What the venue has of the order tells for a place or a cancel.
        if op == "place_many":
            not_done = TransportError(
                f"{self.venue}/{self.account}: {op} never reached the gateway ({why}); not done"
            )
            return [{"result": o} if o is not None else codec.dump_error(not_done) for o in out["orders"]]
        order = out.get("order")
        if op == "place" and order is not None:
            return order  # placed by a gateway that answered no more
        if op == "cancel" and order is not None and order.get("status") in TERMINAL:
            return order  # ended, maybe by a gateway that answered no more: what a cancel returns
        if op == "place" or (op == "cancel" and order is not None):
            # A place the venue has no trace of, a cancel whose order is still open: not done.
            raise TransportError(
                f"{self.venue}/{self.account}: {op} never reached the gateway ({why}); not done"
            )
        raise self._unknown(op, body, f"answer lost ({why}); the gateway answering now never saw it")

    def _unknown(self, op: str, body: dict[str, Any], text: str) -> UnknownOutcome:
        """``op``'s outcome is not known (with the order's client id where it names one)."""
        self.unknown_outcomes += 1
        cid = body.get("client_id")
        return (
            unknown_outcome(cid, f"{op}: {text}", venue=self.venue)
            if cid
            else UnknownOutcome(f"{op}: {text}")
        )

    async def place_order(
        self,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Any,
        price: Any = None,
        *,
        tif: Tif = "GTC",
        post_only: bool = False,
        reduce_only: bool = False,
        client_id: str | None = None,
    ) -> Order:
        body = self._place_body(symbol, side, type, qty, price, tif, post_only, reduce_only, client_id)
        return codec.load_order(await self._mutate("place", body))

    async def place_orders(self, orders: Sequence[Mapping[str, Any]]) -> list[Order | TickwireError]:
        """Several orders in one request; the gateway's session places them in the venue's batch
        request where it has one (:meth:`TradingSession.place_orders`). Each order a mapping of
        :meth:`place_order`'s arguments (``symbol``, ``side``, ``type``, ``qty``, ``price``, ``tif``…).
        One result per order, in their order: the order, or the typed error that refused it. A lost
        answer is settled as :meth:`place_order`'s, order by order (never resent)."""
        entries = [
            self._place_body(
                o["symbol"],
                o["side"],
                o["type"],
                o["qty"],
                o.get("price"),
                o.get("tif", "GTC"),
                # As given, for the gateway to refuse anything but a bool as ``place_order`` does:
                # read with ``bool()`` here, a text "false" placed a post-only order.
                o.get("post_only", False),
                o.get("reduce_only", False),
                o.get("client_id"),
            )
            for o in orders
        ]
        replies = await self._mutate("place_many", {"orders": entries})
        return [codec.load_order(r["result"]) if "result" in r else codec.error_from(r) for r in replies]

    def _place_body(
        self, symbol: str, side: Side, type: OrderType, qty: Any, price: Any, tif: Tif,
        post_only: bool, reduce_only: bool, client_id: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        return {
            "symbol": symbol, "side": side, "type": type, "qty": _num(qty, "qty"),
            "price": _num(price, "price"), "tif": tif, "post_only": post_only, "reduce_only": reduce_only,
            "client_id": client_id if client_id is not None else self.client_ids.next(),
        }  # fmt: skip

    async def cancel_order(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        body = {"symbol": symbol, "client_id": client_id, "order_id": order_id}
        return codec.load_order(await self._mutate("cancel", body))

    async def amend_order(
        self,
        symbol: str,
        *,
        client_id: str | None = None,
        order_id: str | None = None,
        qty: Any = None,
        price: Any = None,
    ) -> Order:
        body = {
            "symbol": symbol, "client_id": client_id, "order_id": order_id,
            "qty": _num(qty, "qty"), "price": _num(price, "price"),
        }  # fmt: skip
        return codec.load_order(await self._mutate("amend", body))

    async def cancel_all(self, symbol: str | None = None) -> list[Order]:
        return codec.load_orders(await self._mutate("cancel_all", {"symbol": symbol}))

    async def kill(self, reason: str) -> KillReport:
        """The account's kill switch, for every client of the gateway: see ``TradingSession.kill``."""
        return codec.load_kill(await self._mutate("kill", {"reason": reason}))

    async def resume(self) -> None:
        await self._mutate("resume", {})

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        body = {"symbol": symbol, "client_id": client_id, "order_id": order_id}
        return codec.load_order(await self._request("status", body))

    async def reconcile(self, client_id: str, symbol: str | None = None) -> Order | None:
        """What the venue knows of ``client_id`` (None: no trace); ``symbol`` for an order the gateway
        does not track (placed before it started)."""
        got = await self._request("reconcile", {"client_id": client_id, "symbol": symbol})
        return None if got is None else codec.load_order(got)

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return codec.load_orders(await self._request("open_orders", {"symbol": symbol}))

    async def balances(self) -> Mapping[str, Balance]:
        return codec.load_balances(await self._request("balances", {}))

    async def positions(self) -> Mapping[str, Position]:
        return codec.load_positions(await self._request("positions", {}))

    async def fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        got = await self._request("fills", {"symbol": symbol, "since_ms": since_ms})
        return [codec.load_fill(f) for f in got]


def _result(reply: Mapping[str, Any]) -> Any:
    if "error" in reply:
        raise codec.error_from(reply)
    return reply.get("result")


def trade(
    nats_url: str | Sequence[str],
    venue: str,
    account: str,
    *,
    strategy: str = "tw",
    on_order: Callable[[Order], None] | None = None,
    on_fill: Callable[[Fill], None] | None = None,
    timeout: float = 5.0,
    durable: str | None = None,
    **opts: Any,
) -> RemoteTrading:
    """``async with tickwire.remote.trade(nats_url, venue, account, strategy=...) as tr``: the account's
    order entry through the gateway that owns it. ``durable``: the name this client's event consumer
    keeps its place under (default: ``strategy``); ``start_seq=`` replays a new durable from that
    stream sequence; ``all_orders=True`` reports every client's orders of the account, not only this
    strategy's."""
    return RemoteTrading(
        nats_url, venue, account, strategy=strategy, on_order=on_order, on_fill=on_fill,
        timeout=timeout, durable=durable, **opts,
    )  # fmt: skip
