"""Clarofinlore instrument rules and trade history (seed-venues.md is silent on both: every shape here
is the simulator's default, read by ``tickwire.venues.clarofinlore``).

``GET /v1/instruments`` answers ``{"instruments": [{"symbol", "tick_size", "lot_size", "min_quantity",
"max_quantity", "min_notional"}]}`` from the simulator's instruments, which the matching engine
enforces ("0" where there is no limit). ``GET /v1/fills[?symbol=][&order_id=][&since=ms]`` answers
``{"fills": [...]}`` from the engine's own fill records, oldest first: each fill once, ``trade_id`` the
id it had on the public ``trades.<symbol>`` channel. Fees are not simulated (``fee`` "0").
Both are signed like every other request (the document: every request carries a signature).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.sim.http import Response, json_response
from tickwire.sim.market import BID, Instrument

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext


def _s(x: Decimal) -> str:
    return f"{x.normalize():f}"


def instrument(inst: Instrument) -> dict[str, str]:
    return {
        "symbol": inst.symbol,
        "tick_size": _s(inst.tick),
        "lot_size": _s(inst.lot),
        "min_quantity": _s(inst.qty(inst.min_lots)),
        "max_quantity": _s(inst.max_qty),
        "min_notional": _s(inst.min_notional),
    }


def instruments(insts: Mapping[str, Instrument]) -> Response:
    return json_response({"instruments": [instrument(i) for i in insts.values()]})


def fills(ctx: VenueContext, account: str, q: Mapping[str, str]) -> Response:
    since = q.get("since", "")
    if since and not since.isdigit():
        return json_response({"code": 400, "message": "since must be Unix milliseconds"}, 400)
    start = int(since) if since else None
    rows: list[tuple[int, int, dict[str, Any]]] = []
    for o in ctx.engine.orders.values():
        if o.account != account or q.get("symbol", o.symbol) != o.symbol:
            continue
        if q.get("order_id", str(o.id)) != str(o.id):
            continue
        fp, fq = ctx.fmt[o.symbol]
        for f in o.fills:
            if start is not None and f.time_ms < start:
                continue
            row = {
                "trade_id": str(f.trade_id),
                "order_id": str(o.id),
                "client_order_id": o.client_id,
                "symbol": o.symbol,
                "side": "buy" if o.side == BID else "sell",
                "price": fp(f.price),
                "quantity": fq(f.qty),
                "fee": "0",
                "liquidity": "maker" if f.maker else "taker",
                "ts": f.time_ms,
            }
            rows.append((f.time_ms, f.trade_id, row))
    rows.sort(key=lambda r: (r[0], r[1]))
    return json_response({"fills": [r for _, _, r in rows]})
