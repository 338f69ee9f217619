"""Bybit instrument metadata and trade history for order entry.

``GET /v5/market/instruments-info?category=spot[&symbol=]`` in the shape of the v5 "Get Instruments
Info" reference, every value from the simulator's instruments, which the matching engine enforces
(``priceFilter.tickSize``, ``lotSizeFilter.basePrecision``/``minOrderAmt``/``maxLimitOrderQty``/
``maxMarketOrderQty``). Bybit still lists spot's ``minOrderQty`` and ``maxOrderAmt``, "deprecated, no
longer check[ed]" (docs v5/market/instrument): listed here as Bybit lists them (``LISTED_MIN_QTY``),
not enforced. The simulator lists spot instruments only; ``linear``/``inverse`` answer an empty list,
any other category 10001. A spot grid changed by ``Simulator.set_grid`` (``tickSize``,
``basePrecision``) is listed and enforced from then on.

``GET /v5/execution/list?category=spot[&symbol=][&orderId=|&orderLinkId=][&startTime=][&endTime=]
[&limit=][&cursor=]`` from the engine's own fill records, newest first, 7 days of them at most (an
order's whenever made), ``limit`` (50) a page and ``nextPageCursor`` to the next (the sim's names the
page's last row): each fill once, ``execId`` the trade id it had on the public ``publicTrade`` topic.
Fees are not simulated (``execFee`` "0", in the coin received). The private ``execution`` topic
pushes the same row per fill as it happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.market import BID, Instrument
from tickwire.sim.venues.pages import after_cursor

if TYPE_CHECKING:
    from tickwire.sim.engine import Fill, Order
    from tickwire.sim.venues.context import VenueContext

Result = tuple[int, str, dict[str, Any]]
WEEK_MS = 7 * 86_400_000
MAX_ORDER_AMT = "9999999999"  # the engine enforces no largest order value
POST_ONLY_TIMES = 5  # a spot post-only order's largest size, in maxLimitOrderQty
# Spot's minOrderQty as Bybit lists it for the default instruments, no longer checked by the venue.
LISTED_MIN_QTY = {"BTCUSDT": "0.000048", "ETHUSDT": "0.00062"}


def _s(x: Decimal) -> str:
    return f"{x.normalize():f}"


def instrument(inst: Instrument, status: str = "Trading") -> dict[str, Any]:
    base, quote = split_symbol(inst.symbol)
    most = _s(inst.max_qty) if inst.max_qty else "9999999999"
    return {
        "symbol": inst.symbol,
        "baseCoin": base,
        "quoteCoin": quote,
        "innovation": "0",
        "status": status,
        "marginTrading": "none",
        "lotSizeFilter": {
            "basePrecision": _s(inst.lot),
            "quotePrecision": _s(inst.tick * inst.lot),
            "minOrderQty": LISTED_MIN_QTY.get(inst.symbol) or _s(inst.qty(inst.min_lots)),
            "maxOrderQty": most,
            "minOrderAmt": _s(inst.min_notional) if inst.min_notional else "0",
            "maxOrderAmt": MAX_ORDER_AMT,
            "maxLimitOrderQty": most,  # since 2025-10-16; the engine bounds both types alike
            "maxMarketOrderQty": most,
            # since 2026-01-06: "For post-only and RPI orders, the maximum … is 5x maxLimitOrderQty"
            "postOnlyMaxLimitOrderSize": _s(POST_ONLY_TIMES * inst.max_qty) if inst.max_qty else most,
        },
        "priceFilter": {"tickSize": _s(inst.tick)},
    }


def instruments(
    insts: Mapping[str, Instrument], q: Mapping[str, str], status: Mapping[str, str] | None = None
) -> Result:
    """(retCode, retMsg, result) for ``GET /v5/market/instruments-info``; ``status``: the symbols not
    open (``Simulator.set_status``, cancel-only or closed alike), listed ``Closed`` — Bybit's status
    enum (``PreLaunch``, ``Trading``, ``Delivering``, ``Closed``) has no cancel-only word."""
    cat = q.get("category", "")
    if cat not in ("spot", "linear", "inverse", "option"):
        return 10001, "params error: category invalid", {}
    symbol = q.get("symbol")
    closed = status or {}
    rows = (
        []
        if cat != "spot"
        else [
            instrument(i, "Closed" if s in closed else "Trading")
            for s, i in insts.items()
            if symbol in (None, s)
        ]
    )
    return 0, "OK", {"category": cat, "list": rows, "nextPageCursor": ""}


def execution(ctx: VenueContext, o: Order, f: Fill, order_id: str) -> dict[str, Any]:
    """One fill of ``o`` as ``/v5/execution/list`` and the private ``execution`` topic show it."""
    fp, fq = ctx.fmt[o.symbol]
    inst = ctx.instruments[o.symbol]
    return {
        "symbol": o.symbol,
        "orderId": order_id,
        "orderLinkId": o.client_id,
        "side": "Buy" if o.side == BID else "Sell",
        "orderPrice": fp(o.price) if o.price is not None else "0",
        "orderQty": fq(o.qty),
        "leavesQty": fq(o.qty - o.filled if o.open else 0),
        "orderType": "Market" if o.type == "MARKET" else "Limit",
        "execFee": "0",
        "feeCurrency": split_symbol(o.symbol)[0 if o.side == BID else 1],
        "execId": str(f.trade_id),
        "execPrice": fp(f.price),
        "execQty": fq(f.qty),
        "execType": "Trade",
        "execValue": _s(inst.price(f.price) * inst.qty(f.qty)),
        "execTime": str(f.time_ms),
        "isMaker": f.maker,
        "feeRate": "0",
        "seq": f.trade_id,
    }


def executions(ctx: VenueContext, account: str, q: Mapping[str, str], oid: Any, now_ms: int) -> Result:
    """(retCode, retMsg, result) for ``GET /v5/execution/list``; ``oid(order)`` is its ``orderId``."""
    cat = q.get("category", "")
    if cat not in ("spot", "linear", "inverse", "option"):
        return 10001, "params error: category invalid", {}
    try:
        limit = int(q.get("limit", "50"))
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
    except ValueError:
        return 10001, "params error: limit, startTime or endTime", {}
    if not 1 <= limit <= 100:
        return 10001, "params error: limit", {}
    # "orderId and orderLinkId have a higher priority and as long as these two parameters are in the
    # input parameters, other input parameters will be ignored"; otherwise 7 days at most: the last 7
    # without a time, from startTime or back from endTime with one, refused wider.
    by_order = "orderId" in q or "orderLinkId" in q
    if by_order:
        start = end = None
    elif start is not None and end is not None:
        if not 0 <= end - start <= WEEK_MS:
            return 10001, "params error: endTime - startTime must be within 7 days", {}
    elif start is not None:
        end = start + WEEK_MS
    else:
        end = end if end is not None else now_ms
        start = end - WEEK_MS
    rows = []
    for o in ctx.engine.orders.values():
        if o.account != account or o.margin != (cat != "spot"):
            continue
        if "orderId" in q:
            if q["orderId"] != oid(o):
                continue
        elif "orderLinkId" in q:
            if q["orderLinkId"] != o.client_id:
                continue
        elif q.get("symbol", o.symbol) != o.symbol:
            continue
        for f in o.fills:
            if (start is not None and f.time_ms < start) or (end is not None and f.time_ms > end):
                continue
            rows.append((f.time_ms, f.trade_id, execution(ctx, o, f, oid(o))))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    try:
        page, more = after_cursor(rows, q.get("cursor", ""), limit)
    except ValueError:
        return 10001, "params error: cursor", {}
    return 0, "OK", {"category": cat, "list": page, "nextPageCursor": more}
