"""HTX instrument metadata and trade history for order entry.

``GET /v1/common/symbols`` in the shape of the spot v1 "Get all Supported Trading Symbol" reference
(the official SDKs' ``Symbol`` model): precisions as decimal places, the order limits as JSON numbers,
every value from the simulator's instruments, which the matching engine enforces. A symbol
``Simulator.set_status`` made cancel-only is listed ``suspend``, a closed one ``offline``; the order
entry refuses new orders on either (``REFUSALS``), cancels still go. A grid changed by
``Simulator.set_grid`` is listed (``price-precision``, ``amount-precision``, the minimum amounts) and
enforced from then on.

``GET /v1/order/matchresults?symbol=[&start-time=][&end-time=][&size=]`` from the engine's own fill
records, newest first: each fill once, ``trade-id`` the id it had on the public ``trade.detail``
topic, ``match-id`` the engine's fill sequence; ``GET /v1/order/orders/{order-id}/matchresults`` the
same rows for one order, whenever made. Fees are not simulated (``filled-fees`` "0", in the currency
received).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.market import BID, Instrument

if TYPE_CHECKING:
    from tickwire.sim.engine import Order
    from tickwire.sim.venues.context import VenueContext

MAX_AMOUNT = 10_000_000  # the engine enforces no largest order where the instrument sets none
MAX_VALUE = 1_000_000_000


def _num(x: Decimal) -> float | int:
    """A JSON number as HTX sends them (``0.0001``, ``5``)."""
    n = x.normalize()
    return int(n) if n == n.to_integral_value() else float(n)


# ``Simulator.set_status`` in HTX's symbol ``state`` words (online, offline, pre-online, suspend), and
# the err-code of a new order then: "suspend" is the docs' "pending" symbol ("order-disabled: The
# symbol is pending and not allowed to place order"), "offline" one "disabled for trading".
STATES = {"cancel_only": "suspend", "closed": "offline"}
REFUSALS = {
    "suspend": ("order-disabled", "The symbol is pending and not allowed to place order"),
    "offline": ("base-symbol-trade-disabled", "The symbol is disabled for trading"),
}


def symbol(inst: Instrument, state: str = "online") -> dict[str, Any]:
    base, quote = split_symbol(inst.symbol)
    min_amt = _num(inst.qty(inst.min_lots))
    max_amt = _num(inst.max_qty) if inst.max_qty else MAX_AMOUNT
    return {
        "base-currency": base.lower(),
        "quote-currency": quote.lower(),
        "price-precision": inst.price_decimals,
        "amount-precision": inst.qty_decimals,
        "symbol-partition": "main",
        "symbol": inst.symbol,
        "state": state,
        "value-precision": inst.price_decimals + inst.qty_decimals,
        "min-order-amt": min_amt,
        "max-order-amt": max_amt,
        "min-order-value": _num(inst.min_notional),
        "limit-order-min-order-amt": min_amt,
        "limit-order-max-order-amt": max_amt,
        "sell-market-min-order-amt": min_amt,
        "sell-market-max-order-amt": max_amt,
        "buy-market-max-order-value": MAX_VALUE,
        "max-order-value": MAX_VALUE,
        "api-trading": "enabled",
    }


def symbols(insts: Mapping[str, Instrument], status: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``GET /v1/common/symbols``; ``status``: the symbols not open (``Simulator.set_status``)."""
    closed = status or {}
    return {
        "status": "ok",
        "data": [symbol(i, STATES.get(closed.get(s, ""), "online")) for s, i in insts.items()],
    }


def matchresults(ctx: VenueContext, account: str, q: Mapping[str, str]) -> dict[str, Any]:
    """The answer to ``GET /v1/order/matchresults`` (``symbol`` required; ``size`` 1..500)."""
    sym = q.get("symbol", "")
    if sym not in ctx.books:
        return {"status": "error", "err-code": "base-symbol-error", "err-msg": "invalid symbol", "data": None}
    try:
        size = int(q.get("size", "100"))
        start = int(q["start-time"]) if "start-time" in q else None
        end = int(q["end-time"]) if "end-time" in q else None
    except ValueError:
        return {"status": "error", "err-code": "invalid-parameter", "err-msg": "invalid time", "data": None}
    if not 1 <= size <= 500:
        return {"status": "error", "err-code": "invalid-parameter", "err-msg": "invalid size", "data": None}
    rows = []
    for o in ctx.engine.orders.values():
        if o.account != account or o.symbol != sym:
            continue
        for t, row in _fill_rows(ctx, o):
            if (start is not None and t < start) or (end is not None and t > end):
                continue
            rows.append((t, row["trade-id"], row))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return {"status": "ok", "data": [r for _, _, r in rows[:size]]}


def order_matchresults(ctx: VenueContext, order: Order) -> dict[str, Any]:
    """The answer to ``GET /v1/order/orders/{order-id}/matchresults``: the order's fills, newest
    first, whenever they were made."""
    rows = sorted(_fill_rows(ctx, order), key=lambda r: (r[0], r[1]["trade-id"]), reverse=True)
    return {"status": "ok", "data": [row for _, row in rows]}


def _fill_rows(ctx: VenueContext, o: Order) -> list[tuple[int, dict[str, Any]]]:
    """``(time ms, row)`` for each of ``o``'s fills, as the match-result endpoints list them."""
    fp, fq = ctx.fmt[o.symbol]
    base, quote = split_symbol(o.symbol)
    kind = "market" if o.type == "MARKET" else {"GTC": "limit", "IOC": "ioc", "FOK": "limit-fok"}[o.tif]
    out = []
    for n, f in enumerate(o.fills):
        row = {
            "id": o.id * 1000 + n,
            "order-id": o.id,
            "match-id": o.id * 1000 + n,
            "trade-id": f.trade_id,
            "symbol": o.symbol,
            "price": fp(f.price),
            "created-at": f.time_ms,
            "type": f"{'buy' if o.side == BID else 'sell'}-{kind}",
            "filled-amount": fq(f.qty),
            "filled-fees": "0",
            "fee-currency": (base if o.side == BID else quote).lower(),
            "source": "spot-api",
            "role": "maker" if f.maker else "taker",
            "filled-points": "0",
            "fee-deduct-currency": "",
        }
        out.append((f.time_ms, row))
    return out
