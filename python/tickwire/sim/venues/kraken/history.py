"""Kraken's REST views of orders and trades (docs.kraken.com "Get Open Orders", "Get Closed Orders",
"Query Orders Info", "Get Trades History", "Get Tradable Asset Pairs"), from the matching engine's own
orders and fills.

Orders are keyed by txid — the engine's order id as decimal text (Kraken's look like
``OUF4EM-FRGI2-MQMWZD``; clients hold them as opaque text, and the shared session cases compare them
with the engine's ids) — and show ``cl_ord_id``/``userref``, ``status`` (open,
closed, canceled, expired), ``vol``/``vol_exec``, ``cost``, ``fee``, average ``price``, ``opentm``/
``closetm`` (Unix seconds) and ``descr`` (``pair`` is the REST altname, ``XBTUSD``). Trades are keyed
``T<trade id>-<txid>`` with the order's ``ordertxid``, the pair key (``XXBTZUSD``), ``time``, ``price``,
``vol``, ``cost``, ``fee``, ``maker`` and the public ``trade_id``. OpenOrders and ClosedOrders filter by
``cl_ord_id`` and ``userref``; ClosedOrders and TradesHistory by ``start``/``end`` (Unix seconds,
``start`` exclusive, ``end`` inclusive, as Kraken documents them). TradesHistory answers 50 trades a
page, newest first, from ``ofs``, and ``count`` (all that match). Pairs may be named by key, altname or
WebSocket name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.sim.market import BID, Instrument

if TYPE_CHECKING:
    from tickwire.sim.engine import Order
    from tickwire.sim.venues.context import VenueContext

Answer = dict[str, Any]

# WebSocket name -> (pair key, altname), as AssetPairs lists Kraken's oldest pairs; others are their
# name without the slash for both.
NAMES = {
    "BTC/USD": ("XXBTZUSD", "XBTUSD"),
    "ETH/USD": ("XETHZUSD", "ETHUSD"),
    "BTC/USDT": ("XBTUSDT", "XBTUSDT"),
}
# v1 WebSocket names (AssetPairs wsname) of pairs whose base Kraken calls XBT.
WSNAME = {"BTC/USD": "XBT/USD", "BTC/USDT": "XBT/USDT"}
STATUS = {"NEW": "open", "PARTIALLY_FILLED": "open", "FILLED": "closed", "CANCELED": "canceled"}


def txid(o: Order) -> str:
    return str(o.id)


def order_of(ctx: VenueContext, ref: str) -> Order | None:
    """The order a txid names (None: no such order)."""
    return ctx.engine.orders.get(int(ref)) if ref.isdigit() else None


def rest_names(symbol: str) -> tuple[str, str]:
    plain = symbol.replace("/", "")
    return NAMES.get(symbol, (plain, plain))


def aliases(symbols: list[str]) -> dict[str, str]:
    """Every name a REST request may give a pair, to the simulator's symbol."""
    out = {}
    for s in symbols:
        key, alt = rest_names(s)
        out.update({key: s, alt: s, s: s, WSNAME.get(s, s): s})
    return out


def asset_pair(
    symbol: str, inst: Instrument, closed: bool = False, grid: Instrument | None = None
) -> dict[str, Any]:
    """One ``AssetPairs`` entry: the fields a client sizes and prices orders with. ``closed``: the
    pair takes no new order (``Simulator.set_status``, cancel-only or closed alike), listed
    ``cancel_only`` — AssetPairs' ``status`` (online, cancel_only, post_only, limit_only, reduce_only)
    has no word for a halt. ``grid`` is the grid in force (``Simulator.set_grid``: ``tick_size``,
    ``ordermin``; default ``inst``); ``pair_decimals`` stays ``inst``'s, the precision the feed's
    book checksums are computed at (the simulator's books go on in its own ticks)."""
    grid = inst if grid is None else grid
    base, quote = symbol.split("/")
    _, alt = rest_names(symbol)
    return {
        "altname": alt,
        "wsname": WSNAME.get(symbol, symbol),
        "aclass_base": "currency",
        "base": {"BTC": "XXBT", "ETH": "XETH"}.get(base, base),
        "aclass_quote": "currency",
        "quote": {"USD": "ZUSD"}.get(quote, quote),
        "pair_decimals": inst.price_decimals,
        "cost_decimals": 5,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "ordermin": f"{grid.min_qty:f}",
        "costmin": f"{grid.min_notional:f}",
        "tick_size": f"{grid.tick:f}",
        "status": "cancel_only" if closed else "online",
    }


class History:
    def __init__(self, ctx: VenueContext, userrefs: Mapping[int, int]) -> None:
        self.ctx = ctx
        self.userrefs = userrefs  # engine order id -> userref

    def info(self, o: Order) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        cost = Decimal(o.quote) * inst.tick * inst.lot
        last = max((f.time_ms for f in o.fills), default=o.time_ms)
        out = {
            "refid": None,
            "userref": self.userrefs.get(o.id, 0),
            "cl_ord_id": o.client_id or None,
            "status": STATUS.get(o.status, "expired"),
            "reason": None,
            "opentm": o.time_ms / 1000,
            "starttm": 0,
            "expiretm": 0,
            "vol": fq(o.qty),
            "vol_exec": fq(o.filled),
            "cost": f"{cost:f}",
            "fee": "0.00000",
            "price": f"{cost / inst.qty(o.filled):f}" if o.filled else "0",
            "misc": "",
            "oflags": "post,fciq" if o.post_only else "fciq",
            "descr": {
                "pair": rest_names(o.symbol)[1],
                "type": "buy" if o.side == BID else "sell",
                "ordertype": o.type.lower(),
                "price": fp(o.price or 0),
                "price2": "0",
                "leverage": "none",
                "order": "",
                "close": "",
            },
        }
        if not o.open:
            out["closetm"] = last / 1000
        return out

    def _mine(self, account: str, f: Mapping[str, str], keep: Callable[[Order], bool]) -> list[Order]:
        cl, ref = f.get("cl_ord_id"), f.get("userref")
        return [
            o
            for o in self.ctx.engine.orders.values()
            if o.account == account
            and keep(o)
            and cl in (None, o.client_id)
            and (ref is None or ref == str(self.userrefs.get(o.id, 0)))
        ]

    def open(self, account: str, f: Mapping[str, str]) -> Answer:
        mine = self._mine(account, f, lambda o: o.open)
        return {"error": [], "result": {"open": {txid(o): self.info(o) for o in mine}}}

    def closed(self, account: str, f: Mapping[str, str]) -> Answer:
        lo, hi = _window(f)
        mine = [
            o
            for o in self._mine(account, f, lambda o: not o.open)
            if lo < o.time_ms / 1000 and (hi is None or o.time_ms / 1000 <= hi)
        ]
        mine.sort(key=lambda o: o.time_ms, reverse=True)
        closed = {txid(o): self.info(o) for o in mine[:50]}
        return {"error": [], "result": {"closed": closed, "count": len(mine)}}

    def query(self, account: str, f: Mapping[str, str]) -> Answer:
        refs = [r.strip() for r in f.get("txid", "").split(",") if r.strip()]
        found = {r: order_of(self.ctx, r) for r in refs}
        if not refs or len(refs) > 50 or any(o is None or o.account != account for o in found.values()):
            return {"error": ["EOrder:Invalid order"]}
        return {"error": [], "result": {r: self.info(o) for r, o in found.items() if o is not None}}

    def trades(self, account: str, f: Mapping[str, str]) -> Answer:
        lo, hi = _window(f)
        try:
            ofs = max(0, int(f.get("ofs") or 0))
        except ValueError:
            return {"error": ["EGeneral:Invalid arguments:ofs"]}
        rows = []
        for o in self.ctx.engine.orders.values():
            if o.account != account:
                continue
            fp, fq = self.ctx.fmt[o.symbol]
            inst = self.ctx.instruments[o.symbol]
            for fill in o.fills:
                t = fill.time_ms / 1000
                if t <= lo or (hi is not None and t > hi):
                    continue
                cost = Decimal(fill.price) * inst.tick * Decimal(fill.qty) * inst.lot
                row = {
                    "ordertxid": txid(o),
                    "postxid": f"P{o.id}",
                    "pair": rest_names(o.symbol)[0],
                    "time": t,
                    "type": "buy" if o.side == BID else "sell",
                    "ordertype": o.type.lower(),
                    "price": fp(fill.price),
                    "cost": f"{cost:f}",
                    "fee": "0.00000",
                    "vol": fq(fill.qty),
                    "margin": "0.00000",
                    "misc": "",
                    "trade_id": fill.trade_id,
                    "maker": fill.maker,
                }
                rows.append((fill.time_ms, fill.trade_id, row))
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        trades = {f"T{tid}-{r['ordertxid']}": r for _, tid, r in rows[ofs : ofs + 50]}
        return {"error": [], "result": {"trades": trades, "count": len(rows)}}


def _window(f: Mapping[str, str]) -> tuple[float, float | None]:
    try:
        lo = float(f["start"]) if "start" in f else float("-inf")
        hi = float(f["end"]) if "end" in f else None
    except ValueError:
        return float("-inf"), None
    return lo, hi
