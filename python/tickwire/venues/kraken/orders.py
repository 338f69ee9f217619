"""Kraken spot order entry over REST for ``tickwire.trade``: the form parameters of each
``/0/private/…`` call (the signer form-encodes ``Call.params`` with the nonce) and readers of the
venue's ``{"error": [...], "result": ...}`` answers (HTTP 200 with an error list for refusals).

Symbols are WebSocket v2 names (``BTC/USD``); ``AssetPairs`` tells each pair's REST ``altname``
(``XBTUSD``, sent as ``pair``) and the names answers use (``descr.pair`` is the altname, a trade's
``pair`` the pair key ``XXBTZUSD``). Assets are common names (``BTC``, not ``XXBT``).
"""

from __future__ import annotations

import contextvars
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from tickwire.audit import excerpt
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for, invalid_order
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Status
from tickwire.trading.rules import InstrumentRules, from_kraken_asset_pair
from tickwire.trading.venue import Balance, Call, Page
from tickwire.venues.kraken import limits as rate
from tickwire.venues.kraken.names import asset, spot_pairs, ws_symbol
from tickwire.venues.kraken.signer import SENT

__all__ = ["Orders"]

P = "/0/private/"
# The symbol a listing (OpenOrders, TradesHistory) was asked for: Kraken filters neither by pair, so
# the answer is cut to it. Set by the call's builder, read by its answer's reader, in the same task.
_LISTING: contextvars.ContextVar[str | None] = contextvars.ContextVar("tickwire_kraken_listing", default=None)
# How many client id → txid pairs the grammar remembers (QueryOrders takes txids only).
TXID_MEMORY = 10_000


def _dec(x: Any) -> Decimal | None:
    # WebSocket v2 numbers arrive as JSON numbers: a float's shortest repr is the literal sent.
    return Decimal(str(x)) if x not in (None, "") else None


def _s_ns(seconds: Any) -> int | None:
    return int(Decimal(str(seconds)) * 1_000_000_000) if seconds not in (None, "", 0) else None


def _state(o: Mapping[str, Any], filled: Decimal, qty: Decimal) -> Status:
    """docs.kraken.com "Get Open Orders" / "Query Orders Info" status: pending, open, closed, canceled,
    expired. "closed" is done by trading; a remainder left when it closed (IOC) is cancelled."""
    st = str(o.get("status"))
    if st == "closed":
        return "filled" if filled >= qty else "canceled"
    if st in ("pending", "open"):
        return "partially_filled" if filled > 0 else "new"
    return "expired" if st == "expired" else "canceled"


class Orders:
    """Kraken spot order entry over REST: ``AddOrder`` (``pair`` altname, ``type``, ``ordertype``
    limit/market, ``volume`` in the base asset for buys too, ``price``, ``timeinforce`` GTC/IOC/FOK,
    ``oflags=post``, ``cl_ord_id``), ``CancelOrder`` (``txid`` or ``cl_ord_id``), ``AmendOrder``
    (``order_qty``/``limit_price``, in place), ``QueryOrders`` (by txid), ``ClosedOrders``/
    ``OpenOrders`` (filtered by ``cl_ord_id``), ``TradesHistory``, ``BalanceEx``, public ``AssetPairs``.

    AddOrder, CancelOrder and AmendOrder answer without the order's state (a ``txid`` list, a
    ``count``, an ``amend_id``): they are acknowledgements, and the session then asks ``QueryOrders``.
    ``CancelAll`` cancels every pair at once, so a symbol's cancel-all is one CancelOrder per open
    order. FOK since 2026-05-12 (docs.kraken.com changelog: "Added FOK … to timeinforce … on AddOrder";
    WS v2's ``add_order`` is not documented to take it: an FOK goes over REST). No reduce-only outside
    margin: refused before sending."""

    venue = "kraken"
    # Rate limits (``tickwire.limits``): as the venue counts them (see ``limits``).
    limits = rate.LIMITS
    fills_newest_first = True  # TradesHistory: newest first (``fills``'s catch-up turns it)

    def __init__(self) -> None:
        self._rest_pair: dict[str, str] = {}  # symbol -> altname
        self._symbol: dict[str, str] = {}  # pair key, altname, wsname -> symbol
        self._txids: OrderedDict[str, str] = OrderedDict()  # cl_ord_id -> txid
        self._cids: dict[str, str] = {}  # txid -> cl_ord_id, of the same entries
        # txid / cl_ord_id -> pair of the cancels and amends built: the trading limit is per pair.
        self._pair_of: OrderedDict[str, str] = OrderedDict()

    def cost(self, call: Call) -> dict[str, int]:
        """What ``call`` counts against (``limits``): a cancel's or amend's pair as it was built."""
        return rate.cost(call, self._pair_of)

    def _counted(self, symbol: str, call: Call) -> Call:
        ref = call.params.get("txid") or call.params.get("cl_ord_id") or ""
        self._pair_of[ref] = self.pair(symbol)
        while len(self._pair_of) > TXID_MEMORY:
            self._pair_of.popitem(last=False)
        return call

    # names ---------------------------------------------------------------------------------------

    def pair(self, symbol: str) -> str:
        """The REST ``pair`` of ``symbol`` (its altname once ``AssetPairs`` was read)."""
        return self._rest_pair.get(symbol, symbol.replace("/", ""))

    def symbol(self, name: str) -> str:
        return self._symbol.get(name, name)

    def _remember(self, client_id: str, txid: str | None) -> None:
        if client_id and txid:
            self._txids[client_id] = txid
            self._txids.move_to_end(client_id)
            self._cids[txid] = client_id
            while len(self._txids) > TXID_MEMORY:
                _, old = self._txids.popitem(last=False)
                self._cids.pop(old, None)

    # requests ------------------------------------------------------------------------------------

    def new_order(self, order: Order) -> Call:
        if order.reduce_only:
            raise invalid_order("kraken spot orders cannot be reduce-only (margin only)", rule="reduce_only")
        p = {
            "pair": self.pair(order.symbol),
            "type": order.side,
            "ordertype": order.type,
            "volume": format_decimal(order.qty),
            "cl_ord_id": order.client_id,
        }
        if order.type == "limit":
            assert order.price is not None
            p["price"] = format_decimal(order.price)
            p["timeinforce"] = order.tif
            if order.post_only:
                p["oflags"] = "post"
        return Call("POST", P + "AddOrder", p)

    def _ids(self, client_id: str | None, order_id: str | None) -> dict[str, str]:
        return {"txid": order_id} if order_id else {"cl_ord_id": client_id or ""}

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return self._counted(symbol, Call("POST", P + "CancelOrder", self._ids(client_id, order_id)))

    def amend(self, order: Order, qty: Decimal | None, price: Decimal | None) -> Call:
        """``AmendOrder``: the order keeps its txid and, when only its size shrinks, its priority."""
        if qty is None and price is None:
            raise invalid_order("amend_order needs a new qty or price")
        p = self._ids(order.client_id or None, order.order_id)
        if qty is not None:
            p["order_qty"] = format_decimal(qty)
        if price is not None:
            p["limit_price"] = format_decimal(price)
        return self._counted(order.symbol, Call("POST", P + "AmendOrder", p))

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        """``QueryOrders`` by txid (the order's, or the one this grammar saw with ``client_id``);
        without one, ``ClosedOrders`` filtered by ``cl_ord_id`` — an open order is then found by the
        session's open-orders step."""
        txid = order_id or self._txids.get(client_id or "")
        if txid:
            return Call("POST", P + "QueryOrders", {"txid": txid, "trades": "true"})
        return Call("POST", P + "ClosedOrders", {"cl_ord_id": client_id or ""})

    def open_orders(self, symbol: str | None) -> Call:
        _LISTING.set(symbol)
        return Call("POST", P + "OpenOrders")

    def cancel_all(self, symbol: str) -> Call | None:
        return None  # Kraken's CancelAll takes no pair: cancel_orders() on the symbol's open orders

    def cancel_every_pair(self) -> Call:
        """``CancelAll``: every open order of the account, on every pair (answer: ``count``)."""
        return Call("POST", P + "CancelAll")

    def cancel_everything(self) -> Call:
        """The kill switch's cancel: ``CancelAll``, every pair at once."""
        return self.cancel_every_pair()

    # Dead-man switch: one account-wide countdown in whole seconds (0 disarms; at most 86400).
    dead_man_range = (1.0, 86400.0)

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> list[Call]:
        """``CancelAllOrdersAfter``: every open order of the account is cancelled ``timeout`` seconds
        after the last call (answer: ``currentTime``, ``triggerTime``); ``symbols`` unused."""
        return [Call("POST", P + "CancelAllOrdersAfter", {"timeout": str(round(timeout_s))})]

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        return [self.cancel(symbol, o.client_id or None, o.order_id) for o in orders]

    @staticmethod
    def next_page(call: Call, body: Any) -> Call | None:
        """TradesHistory's next page (``ofs``, and the ``end`` the first page fixed), which its answer
        names (``Page.more``); the other listings come whole."""
        more = getattr(body, "more", None)
        if not more:
            return None
        ofs, _, end = more.partition("/")
        return call.with_param("ofs", ofs).with_param("end", end)

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        _LISTING.set(symbol)
        p = {"type": "all"}
        if since_ms is not None:
            p["start"] = str(since_ms // 1000 - 1)  # whole seconds, exclusive
        return Call("POST", P + "TradesHistory", p)

    def balances(self) -> Call:
        return Call("POST", P + "BalanceEx")

    def instruments(self) -> Call:
        SENT.set(None)  # unsigned: its answer must not be read as the last signed request's
        return Call("GET", "/0/public/AssetPairs", signed=False)

    # answers -------------------------------------------------------------------------------------

    def read_answer(self, status: int, body: bytes) -> Any:
        """``result``, or the typed error of the first ``error`` entry (HTTP 200 or not; entries
        starting with ``W`` are warnings, not errors). Listings become lists of entries, each with its
        ``txid``; an acknowledgement gets the ids its request named."""
        sent = SENT.get()
        SENT.set(None)  # this answer's alone: an unsigned call after it signs nothing
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("error", []), list):
            raise error_for(self.venue, None, excerpt(body), http_status=status)
        errors = [str(e) for e in msg.get("error") or () if not str(e).startswith("W")]
        if errors:
            raise error_for(self.venue, errors[0], "; ".join(errors), http_status=status)
        if status >= 400:
            raise error_for(self.venue, None, excerpt(body), http_status=status)
        return self._shaped(msg.get("result"), sent[0] if sent else "", sent[1] if sent else {})

    def _shaped(self, result: Any, path: str, params: Mapping[str, str]) -> Any:
        if not isinstance(result, dict):
            return result
        method = path.removeprefix(P)
        if method == "OpenOrders" and "open" in result:
            return self._listed(result["open"], _LISTING.get())
        if method == "ClosedOrders" and "closed" in result:
            return self._listed(result["closed"], None)
        if method == "QueryOrders":
            return self._listed(result, None)
        if method == "TradesHistory" and "trades" in result:
            # 50 trades a page, of every pair, newest first: the next page is ``ofs`` further while
            # ``count`` (all that match) is not reached, and ends (``end``, inclusive) at the first
            # page's newest trade, so trades made meanwhile do not shift the offsets.
            trades = result["trades"]
            got, count = len(trades), result.get("count")
            at = int(params.get("ofs") or 0) + got
            end = params.get("end") or next((str(t["time"]) for t in trades.values() if "time" in t), "")
            more = f"{at}/{end}" if got and end and isinstance(count, int) and at < count else None
            return Page(self._listed(trades, _LISTING.get()), more)
        if method in ("AddOrder", "CancelOrder", "AmendOrder") and (
            {"txid", "count", "amend_id"} & set(result)
        ):
            txids = result.get("txid")
            txid = txids[0] if isinstance(txids, list) and txids else params.get("txid")
            return {**result, "txid": txid, "cl_ord_id": params.get("cl_ord_id"), "ack": method}
        return result

    def _listed(self, entries: Mapping[str, Any], symbol: str | None) -> list[dict[str, Any]]:
        out = [{**v, "txid": k} for k, v in entries.items() if isinstance(v, dict)]
        if symbol is not None:
            out = [e for e in out if self._entry_symbol(e) == symbol]
        return out

    def _entry_symbol(self, e: Mapping[str, Any]) -> str:
        return self.symbol(str((e.get("descr") or {}).get("pair") or e.get("pair") or ""))

    def read_order(self, body: Any) -> list[OrderEvent]:
        """An order entry (QueryOrders, ClosedOrders, OpenOrders) as its state; an acknowledgement
        (AddOrder, CancelOrder, AmendOrder) as an ``ack`` event stating no status. A list is read by
        its first entry; an empty one is :class:`OrderNotFound`."""
        if isinstance(body, list):
            if not body:
                raise OrderNotFound(f"{self.venue}: no such order")
            body = body[0]
        o = body
        cid, oid = str(o.get("cl_ord_id") or ""), str(o.get("txid") or "") or None
        self._remember(cid, oid)
        if "status" not in o or "descr" not in o:
            # A cancel or amend by txid names no client id: the one seen with that txid, if any.
            cid = cid or self._cids.get(oid or "", "")
            return [OrderEvent(source="ack", client_id=cid, order_id=oid)]
        descr = o["descr"]
        qty = Decimal(str(o["vol"]))
        filled = _dec(o.get("vol_exec")) or Decimal(0)
        kind: OrderType = "market" if descr.get("ordertype") == "market" else "limit"
        return [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=oid,
                status=_state(o, filled, qty),
                filled_cum=filled,
                avg_price=_dec(o.get("price")) if filled > 0 else None,
                fee_cum=_dec(o.get("fee")),
                reason=str(o.get("reason") or ""),
                ts_ns=_s_ns(o.get("closetm") or o.get("opentm")),
                venue=self.venue,
                symbol=self.symbol(str(descr.get("pair", ""))),
                side="buy" if descr.get("type") == "buy" else "sell",
                type=kind,
                price=_dec(descr.get("price")) if kind == "limit" else None,
                qty=qty,
            )
        ]

    def read_fills(self, body: Any) -> list[Fill]:
        """TradesHistory entries. ``trade_id`` is the pair's public trade id, which the executions
        channel reports too (the ``T…`` key is REST's only)."""
        return [
            Fill(
                venue=self.venue,
                symbol=self.symbol(str(t.get("pair", ""))),
                client_id="",
                order_id=str(t["ordertxid"]),
                trade_id=str(t.get("trade_id") or t["txid"]),
                side="buy" if t["type"] == "buy" else "sell",
                price=Decimal(str(t["price"])),
                qty=Decimal(str(t["vol"])),
                fee=_dec(t.get("fee")) or Decimal(0),  # positive: charged (in the quote asset)
                liquidity="maker" if t.get("maker") else "taker",
                ts_ns=_s_ns(t.get("time")),
            )
            for t in body
        ]

    def read_balances(self, body: Any) -> dict[str, Balance]:
        """``BalanceEx`` (``balance`` and ``hold_trade`` per asset); a plain ``Balance`` answer (one
        total per asset) reads as all free."""
        out: dict[str, Balance] = {}
        for code, v in body.items():
            name = asset(code)
            if isinstance(v, dict):
                total = _dec(v.get("balance")) or Decimal(0)
                held = _dec(v.get("hold_trade")) or Decimal(0)
                out[name] = Balance(name, total - held, held)
            else:
                out[name] = Balance(name, _dec(v) or Decimal(0), Decimal(0))
        return out

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        """``AssetPairs``: rules under each pair's v2 name, and its REST names remembered."""
        out = {}
        for key, pair in spot_pairs(body):
            sym = ws_symbol(str(pair.get("wsname") or pair["altname"]))
            self._learn(sym, key, pair)
            out[sym] = from_kraken_asset_pair(pair, sym)
        return out

    def _learn(self, symbol: str, key: str, pair: Mapping[str, Any]) -> None:
        names: Iterable[Any] = (key, pair.get("altname"), pair.get("wsname"), symbol)
        for n in names:
            if n:
                self._symbol[str(n)] = symbol
        self._rest_pair[symbol] = str(pair.get("altname") or key)

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)
