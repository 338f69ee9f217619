"""OKX trade history for reconciliation: ``GET /api/v5/trade/fills`` (the last 3 days) and
``fills-history`` (the last 3 months) (``instType``, ``instId``, ``ordId``, ``after``/``before`` by
``billId``, ``limit`` ≤ 100), newest first, from the matching engine's own fill records: each fill
once, under the ``tradeId`` it had on the public ``trades`` channel, with a stable ``billId`` that
rises with the fills' time, as OKX's bill ids do (the fill's ms x 10^6 + its trade id's last six
digits), so ``after`` pages the listing. Orders by ``clOrdId`` are ``GET /api/v5/trade/order``
(``trade.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.market import BID

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext

Result = tuple[str, str, list[dict[str, Any]]]


DAY_MS = 86_400_000
# How far back each listing reaches: "Get transaction details (last 3 days)" / "(last 3 months)".
REACH_MS = {"fills": 3 * DAY_MS, "fills-history": 90 * DAY_MS}


def fills(ctx: VenueContext, account: str, q: dict[str, str], name: str, now_ms: int) -> Result:
    if q.get("instType", "SPOT") not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
        return "51000", "Parameter instType error", []
    try:
        limit = int(q.get("limit", "100"))
        after = int(q["after"]) if "after" in q else None
        before = int(q["before"]) if "before" in q else None
        # ``begin``/``end``: the fills' ``ts`` (Unix ms) bounds.
        begin = int(q["begin"]) if "begin" in q else None
        end = int(q["end"]) if "end" in q else None
    except ValueError:
        return "51000", "Parameter limit error", []
    if not 1 <= limit <= 100:
        return "51000", "Parameter limit error", []
    oldest = now_ms - REACH_MS[name]
    rows = []
    for o in ctx.engine.orders.values():
        if (
            o.account != account
            or q.get("instId", o.symbol) != o.symbol
            or q.get("ordId", str(o.id)) != str(o.id)
        ):
            continue
        fp, fq = ctx.fmt[o.symbol]
        for f in o.fills:
            bill = f.time_ms * 1_000_000 + f.trade_id % 1_000_000
            if (after is not None and bill >= after) or (before is not None and bill <= before):
                continue
            if (begin is not None and f.time_ms < begin) or (end is not None and f.time_ms > end):
                continue
            if f.time_ms < oldest:
                continue
            row = {
                "instType": "SPOT",
                "instId": o.symbol,
                "tradeId": str(f.trade_id),
                "ordId": str(o.id),
                "clOrdId": o.client_id,
                "billId": str(bill),
                "subType": "1" if o.side == BID else "2",
                "tag": "",
                "fillPx": fp(f.price),
                "fillSz": fq(f.qty),
                "fillIdxPx": "",
                "fillPnl": "0",
                "side": "buy" if o.side == BID else "sell",
                "posSide": "net",
                "execType": "M" if f.maker else "T",
                "feeCcy": split_symbol(o.symbol)[0 if o.side == BID else 1],
                "fee": "0",
                "feeRate": "0",
                "ts": str(f.time_ms),
                "fillTime": str(f.time_ms),
            }
            rows.append((bill, row))
    rows.sort(key=lambda r: r[0], reverse=True)
    return "0", "", [r for _, r in rows[:limit]]
