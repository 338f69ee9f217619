"""Binance spot trade history for reconciliation, from the matching engine's own fill records:
``GET /api/v3/myTrades`` (``symbol``; ``orderId``, ``startTime``/``endTime``, ``fromId``, ``limit``
≤ 1000, default 500) and ``GET /api/v3/allOrders`` (``symbol``; ``orderId`` = from that id,
``startTime``/``endTime``, ``limit``), also as the WS API's ``myTrades`` and ``allOrders``. Each fill
is listed once, under the trade id it had on the public ``@trade`` stream, oldest first; without
``fromId`` or ``startTime``, the most recent ``limit`` of them (of orders: without ``orderId`` or
``startTime``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.engine import Fill, Order
from tickwire.sim.http import Response, json_response
from tickwire.sim.market import BID
from tickwire.sim.venues.binance.auth import err

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext

OrderJson = Callable[[Order, int, bool], dict[str, Any]]


def _int(params: dict[str, str], name: str) -> int | None:
    v = params.get(name, "")
    return int(v) if v.lstrip("-").isdigit() else None


class BinanceHistory:
    def __init__(self, ctx: VenueContext, order_json: OrderJson) -> None:
        self.ctx = ctx
        self.order_json = order_json

    def _query(self, params: dict[str, str]) -> tuple[str, int, Response | None]:
        symbol = params.get("symbol", "")
        if not symbol:
            return (
                "",
                0,
                err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
            )
        if symbol not in self.ctx.books:
            return "", 0, err(-1121, "Invalid symbol.")
        limit = _int(params, "limit") or 500
        if not 1 <= limit <= 1000:
            return (
                "",
                0,
                err(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'."),
            )
        return symbol, limit, None

    def executions(
        self, account: str, params: dict[str, str]
    ) -> tuple[str, list[tuple[Order, Fill]]] | Response:
        """The account's fills on ``symbol`` the query selects (``orderId``, ``startTime``/``endTime``,
        ``fromId``, ``limit``), by trade id; or the refusal."""
        symbol, limit, refused = self._query(params)
        if refused is not None:
            return refused
        oid, start, end, from_id = (_int(params, k) for k in ("orderId", "startTime", "endTime", "fromId"))
        rows = [
            (o, f)
            for o in self.ctx.engine.orders.values()
            if o.account == account and o.symbol == symbol and oid in (None, o.id)
            for f in o.fills
            if (from_id is None or f.trade_id >= from_id)
            and (start is None or f.time_ms >= start)
            and (end is None or f.time_ms <= end)
        ]
        rows.sort(key=lambda r: (r[1].trade_id, r[0].id))
        # "If fromId is set, it will get id >= that fromId. Otherwise most recent trades are
        # returned" (still oldest first); from a start time, the first after it.
        if from_id is None and start is None:
            return symbol, rows[-limit:]
        return symbol, rows[:limit]

    def my_trades(self, account: str, params: dict[str, str]) -> Response:
        got = self.executions(account, params)
        if isinstance(got, Response):
            return got
        symbol, rows = got
        inst = self.ctx.instruments[symbol]
        fp, fq = self.ctx.fmt[symbol]
        quote_asset = split_symbol(symbol)[1]
        return json_response(
            [
                {
                    "symbol": symbol,
                    "id": f.trade_id,
                    "orderId": o.id,
                    "orderListId": -1,
                    "price": fp(f.price),
                    "qty": fq(f.qty),
                    "quoteQty": f"{Decimal(f.price * f.qty) * inst.tick * inst.lot:.8f}",
                    "commission": "0.00000000",
                    "commissionAsset": quote_asset,
                    "time": f.time_ms,
                    "isBuyer": o.side == BID,
                    "isMaker": f.maker,
                    "isBestMatch": True,
                }
                for o, f in rows
            ]
        )

    def all_orders(self, account: str, params: dict[str, str], now_ms: int) -> Response:
        symbol, limit, refused = self._query(params)
        if refused is not None:
            return refused
        oid, start, end = (_int(params, k) for k in ("orderId", "startTime", "endTime"))
        orders = [
            o
            for o in sorted(self.ctx.engine.orders.values(), key=lambda o: o.id)
            if o.account == account
            and o.symbol == symbol
            and (oid is None or o.id >= oid)
            and (start is None or o.time_ms >= start)
            and (end is None or o.time_ms <= end)
        ]
        # "If orderId is set, it will get orders >= that orderId. Otherwise most recent orders are
        # returned" (still oldest first); from a start time, the first after it.
        page = orders[-limit:] if oid is None and start is None else orders[:limit]
        return json_response([self.order_json(o, now_ms, False) for o in page])
