"""Clarofinlore order entry over REST for ``tickwire.trade`` (seed-venues.md).

Documented: ``POST /v1/orders`` with ``symbol``, ``side``, ``quantity``, order ``type`` (market/limit),
``price`` for a limit order and a ``client_order_id`` for idempotency — a retried request with the
same id does not create a second order; several scripts on one key keep apart by a client-order-id
prefix (the session's ``strategy``); ``GET /v1/account`` to verify margin and positions; error bodies
with precise codes (1001 insufficient margin); HTTP 429 with ``Retry-After``; the kill switch (cancel
every open order, close every position); the TWAP endpoint (``twap.py``).

Defaults where the document is silent — the simulator's (``tickwire.sim.venues.clarofinlore``), which
a user holding the venue's real specification can check against:

- field spellings and values: lower-case ``buy``/``sell``, ``market``/``limit``; an optional
  ``time_in_force`` (``ioc``/``fok``; absent means GTC, so a GTC order carries only documented
  fields); no post-only or reduce-only (refused before sending);
- ``GET``/``DELETE /v1/orders/{order_id}`` and ``/v1/orders/client/{client_order_id}`` (status,
  cancel), ``GET /v1/orders[?symbol=]`` (open orders), ``POST /v1/orders/cancel-all`` with
  ``{"symbol"}`` (one symbol) or ``{}`` (all; with ``POST /v1/positions/close-all`` the kill switch),
  ``GET /v1/fills``, ``GET /v1/instruments``, ``GET /v1/security/logs`` (``{"logs": [...]}``);
- answers: an order is ``{"order_id", "client_order_id", "symbol", "side", "type", "time_in_force",
  "quantity", "price", "filled", "avg_price", "status", "ts", "fills"}``; lists come wrapped in a
  one-key object (``{"orders": [...]}``); ``GET /v1/account`` has ``balances``, ``equity``,
  ``margin_used``, ``available_margin``, ``leverage`` and ``positions``;
- errors ``{"code", "message"}`` with the HTTP status: 1001 (documented) is ``InsufficientFunds``;
  401/403 ``AuthError``; 404 ``OrderNotFound``; 429 ``RateLimitError``; other 4xx ``OrderRejected``;
  5xx ``UnknownOutcome``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from tickwire.audit import excerpt
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for, invalid_order
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_seed_instrument
from tickwire.trading.venue import Balance, Call, Position
from tickwire.venues.clarofinlore import limits as rate
from tickwire.venues.clarofinlore.signer import Signer
from tickwire.venues.clarofinlore.tokens import TokenAuth
from tickwire.venues.clarofinlore.twap import Twap, TwapCalls

__all__ = ["Account", "Orders"]

VENUE = "clarofinlore"
_STATUS: dict[str, Status] = {
    "new": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}
_TIF: dict[str, Tif] = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK"}


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _dec(x: Any) -> Decimal | None:
    return Decimal(str(x)) if x not in (None, "") else None


def _ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms not in (None, "") else None


@dataclass(frozen=True, slots=True)
class Account:
    """``GET /v1/account``: collateral and margin (quote asset), leverage, balances and positions.
    The figures are the venue's; ``margin_for`` follows the simulator's (undocumented) rule."""

    leverage: Decimal
    equity: Decimal | None
    margin_used: Decimal | None
    available_margin: Decimal | None
    balances: Mapping[str, Balance]
    positions: Mapping[str, Position]

    def margin_for(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        """Margin an order locks: the part that adds to the position, ``notional / leverage`` (the part
        that reduces a position needs none)."""
        pos = self.positions.get(symbol)
        held = pos.qty if pos is not None else Decimal(0)
        reducing = min(qty, max(Decimal(0), -held if side == "buy" else held))
        return (qty - reducing) * price / self.leverage

    def check(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> None:
        """``InsufficientFunds`` (sending nothing) when the order needs more margin than is free. An
        account the venue shows no margin figures for (never funded) passes."""
        if self.available_margin is None:
            return
        need = self.margin_for(symbol, side, qty, price)
        if need > self.available_margin:
            raise error_for(
                VENUE,
                1001,
                f"insufficient margin: {format_decimal(need)} needed, "
                f"{format_decimal(self.available_margin)} available (checked before sending)",
            )


class Orders(TwapCalls):
    """The grammar ``tickwire.trade("clarofinlore")`` uses (see the module docstring for which parts
    are documented). Every answer states the order's whole state and its executions, so no follow-up
    query is needed after a place or a cancel."""

    venue = VENUE
    # Rate limits (``tickwire.limits``): as the venue counts them (see ``limits``).
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)

    def token_auth(self, signer: Signer) -> TokenAuth:
        """The session's JWT (``tokens.py``): fresh before every signed request, a new log-in after
        the venue refuses it (``tickwire.trading.wire``'s token hook)."""
        return TokenAuth(signer, self.read_answer)

    def new_order(self, order: Order) -> Call:
        if order.post_only or order.reduce_only:
            what = "post-only" if order.post_only else "reduce-only"
            raise invalid_order(f"{VENUE}: {what} orders are not documented", rule="type")
        body: dict[str, str] = {
            "symbol": order.symbol,
            "side": order.side,
            "quantity": format_decimal(order.qty),
            "type": order.type,
        }
        if order.type == "limit":
            assert order.price is not None
            body["price"] = format_decimal(order.price)
            if order.tif != "GTC":
                body["time_in_force"] = order.tif.lower()
        body["client_order_id"] = order.client_id
        return Call("POST", "/v1/orders", body=_json(body))

    @staticmethod
    def _path(client_id: str | None, order_id: str | None) -> str:
        if order_id is not None:
            return f"/v1/orders/{order_id}"
        return f"/v1/orders/client/{client_id or ''}"

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return Call("DELETE", self._path(client_id, order_id))

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        return Call("GET", self._path(client_id, order_id))

    def open_orders(self, symbol: str | None) -> Call:
        return Call("GET", "/v1/orders", {"symbol": symbol} if symbol else {})

    def cancel_all(self, symbol: str) -> Call | None:
        return Call("POST", "/v1/orders/cancel-all", body=_json({"symbol": symbol}))

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        return [self.cancel(symbol, o.client_id or None, o.order_id) for o in orders]

    def kill_switch(self) -> Call:
        """Cancels every open order and closes every position (documented; path a default)."""
        return Call("POST", "/v1/positions/close-all", body="{}")

    def cancel_everything(self) -> Call:
        """``TradingSession.kill``'s cancel: every open order, every symbol (path a default)."""
        return Call("POST", "/v1/orders/cancel-all", body="{}")

    def close_all(self) -> Call:
        """``TradingSession.kill``'s close: the documented kill switch (it cancels again, then sends
        market orders flattening every position)."""
        return self.kill_switch()

    @staticmethod
    def read_close_all(body: Any) -> list[Any]:
        """The closing orders of a ``close-all`` answer (each read by ``read_order``)."""
        return list(body.get("closing_orders") or ()) if isinstance(body, dict) else []

    def security_logs(self, since_ms: int | None) -> Call:
        """The documented security logs (failed logins; path and ``since`` default)."""
        return Call("GET", "/v1/security/logs", {"since": str(since_ms)} if since_ms is not None else {})

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"symbol": symbol}
        if since_ms is not None:
            p["since"] = str(since_ms)
        return Call("GET", "/v1/fills", p)

    def account(self) -> Call:
        """``GET /v1/account`` (documented): balances, margin and positions in one answer."""
        return Call("GET", "/v1/account")

    def balances(self) -> Call:
        return self.account()

    def positions(self) -> Call:
        return self.account()

    def instruments(self) -> Call:
        return Call("GET", "/v1/instruments")

    # answers -----------------------------------------------------------------------------------------

    def read_order(self, body: Any) -> list[OrderEvent]:
        """The order's state, then one event per execution the answer lists."""
        o = body
        cid, oid = str(o.get("client_order_id") or ""), str(o["order_id"])
        symbol = str(o["symbol"])
        side: Side = "buy" if o["side"] == "buy" else "sell"
        kind: OrderType = "market" if o["type"] == "market" else "limit"
        filled = _dec(o.get("filled")) or Decimal(0)
        events = [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=oid,
                status=_STATUS.get(str(o["status"]), "new"),
                filled_cum=filled,
                avg_price=_dec(o.get("avg_price")) if filled > 0 else None,
                ts_ns=_ns(o.get("ts")),
                venue=VENUE,
                symbol=symbol,
                side=side,
                type=kind,
                tif=_TIF.get(str(o.get("time_in_force", "gtc")), "GTC"),
                price=_dec(o.get("price")) if kind == "limit" else None,
                qty=Decimal(str(o["quantity"])),
            )
        ]
        for f in o.get("fills") or ():
            fill = self._fill(f, symbol, side, cid, oid)
            events.append(OrderEvent(source="rest", client_id=cid, order_id=oid, fill=fill))
        return events

    @staticmethod
    def _fill(f: Mapping[str, Any], symbol: str, side: Side, cid: str, oid: str) -> Fill:
        return Fill(
            venue=VENUE,
            symbol=symbol,
            client_id=cid,
            order_id=oid,
            trade_id=str(f["trade_id"]),
            side=side,
            price=Decimal(str(f["price"])),
            qty=Decimal(str(f["quantity"])),
            fee=_dec(f.get("fee")) or Decimal(0),
            liquidity="maker" if f.get("liquidity") == "maker" else "taker",
            ts_ns=_ns(f.get("ts")),
        )

    def read_fills(self, body: Any) -> list[Fill]:
        out = []
        for f in body:
            side: Side = "buy" if f["side"] == "buy" else "sell"
            cid = str(f.get("client_order_id") or "")
            out.append(self._fill(f, str(f["symbol"]), side, cid, str(f["order_id"])))
        return out

    def read_account(self, body: Any) -> Account:
        return Account(
            leverage=_dec(body.get("leverage")) or Decimal(1),
            equity=_dec(body.get("equity")),
            margin_used=_dec(body.get("margin_used")),
            available_margin=_dec(body.get("available_margin")),
            balances=self.read_balances(body),
            positions=self.read_positions(body),
        )

    def read_balances(self, body: Any) -> dict[str, Balance]:
        out: dict[str, Balance] = {}
        for b in body.get("balances") or ():
            asset = str(b["asset"])
            out[asset] = Balance(asset, Decimal(str(b["free"])), Decimal(str(b["locked"])))
        return out

    def read_positions(self, body: Any) -> dict[str, Position]:
        out: dict[str, Position] = {}
        for p in body.get("positions") or ():
            qty = Decimal(str(p["quantity"]))
            symbol = str(p["symbol"])
            out[symbol] = Position(
                symbol, qty if p.get("side") != "short" else -qty, entry_price=_dec(p.get("entry_price"))
            )
        return out

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {str(i["symbol"]): from_seed_instrument(i) for i in body}

    def read_answer(self, status: int, body: bytes) -> Any:
        """The decoded answer (a list the venue wraps in a one-key object unwrapped), or the error of
        ``{"code", "message"}`` and the HTTP status."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if 200 <= status < 300 and msg is not None:
            if isinstance(msg, dict) and len(msg) == 1:
                [inner] = msg.values()
                if isinstance(inner, list):
                    return inner
            return msg
        if isinstance(msg, dict) and "code" in msg:
            raise error_for(VENUE, msg["code"], str(msg.get("message", "")), http_status=status)
        raise error_for(VENUE, None, excerpt(body), http_status=status)

    def read_twap(self, body: Any) -> Twap:
        return Twap.read(body, self.read_order)

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)
