"""The trading part of ``tickwire demo``: a small quoting strategy on one simulated venue, through order
templates, with an order-socket drop, a kill switch, and checks against the simulator's own records.

The strategy quotes a bid and an ask one tick inside the touch (at the touch when the spread is too
narrow), the touch read with its own quotes taken out; it re-quotes (cancel, then a new order on a
later tick) when the touch moves away from a quote, and now and then crosses the spread with an IOC
that reduces its position. At most one new order per book update and at most one quote per side;
no quote that would take the position past its limit. Orders leave from the ``on_book`` callback
through ``tr.template(...).send(price, qty)`` with integer mantissas; the tick→order time is taken
in-process from the book's ``recv_ns`` (the read of the frame that changed it) to the template's
``written_ns`` (its bytes written, inside ``send``), and to ``send`` returned.

Midway the simulator loses the answer to the next order on the order socket and cuts it
(``lose_answer``): the order's outcome is unknown until the session reconciles it; the demo holds new
orders meanwhile and shows what reconciliation found. At the end ``tr.kill("demo end")`` cancels
everything; a spot account holds its inventory in the base asset, so the demo then sells back (or
buys back) what it accumulated with market orders. Flat means: no open order at the simulator,
nothing locked, and the base asset's balance at the simulator equal to its start. The quote asset's
change at the simulator must equal the P&L the demo computed from the fills it was told of.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from tickwire.cmd.demo import State, show
from tickwire.cmd.demo_quoter import IOC_EVERY_S, ZERO, Quoter, Result, min_size
from tickwire.cmd.demo_trade_view import _num, checks, screen, summary

Out = Callable[[str], None]


def _account(symbol: str, keys: dict[str, str], place_op: str, socket: str) -> dict[str, Any]:
    """A venue's demo account: symbol, base and quote asset (BTC/USDT everywhere), its key as the
    simulator's POST /keys takes it, the order socket's place operation (for lose_answer) and what
    the summary calls the socket."""
    return {"symbol": symbol, "assets": ("BTC", "USDT"), "keys": keys, "place_op": place_op, "socket": socket}


TRADE_VENUES: dict[str, dict[str, Any]] = {
    "binance": _account("BTCUSDT", {"key": "demo-key", "secret": "demo-secret"}, "order.place", "WS API"),
    "okx": _account(
        "BTC-USDT",
        {"key": "demo-okx", "secret": "demo-secret", "passphrase": "demo pass"},
        "order",
        "order socket",
    ),
    # Spot: order.create on the authenticated trade socket (/v5/trade), its answer an ack only.
    "bybit": _account(
        "BTCUSDT", {"key": "demo-bybit", "secret": "demo-secret"}, "order.create", "trade socket"
    ),
}
FUNDS = {"USDT": "10000", "BTC": "0.1"}


def signer(venue: str) -> Any:
    keys = TRADE_VENUES[venue]["keys"]
    if venue == "okx":
        from tickwire.venues import okx

        return okx.Signer(keys["key"], keys["secret"], keys["passphrase"])
    if venue == "bybit":
        from tickwire.venues import bybit

        return bybit.Signer(keys["key"], keys["secret"])
    from tickwire.venues import binance

    return binance.Signer(keys["key"], keys["secret"])


def sim_args(venue: str) -> list[str]:
    """``tickwire sim`` arguments that serve the trading venue's symbol."""
    return ["--venue", venue, "--symbols", f"{venue}={TRADE_VENUES[venue]['symbol']}"]


# the run ---------------------------------------------------------------------------------------------


async def run_trading(
    urls: dict[str, Any],
    venue: str,
    duration: float,
    out: Out,
    plain: bool,
    faults: bool = True,
) -> Result:
    """Runs the strategy for ``duration`` seconds against the simulator at ``urls`` (its control URL
    included), then the kill switch, the flattening and the checks. Returns what happened."""
    import tickwire
    from tickwire.transport.http import HttpClient

    cfg = TRADE_VENUES[venue]
    symbol, key = cfg["symbol"], cfg["keys"]["key"]
    base, quote = cfg["assets"]
    st = State()
    res = Result(venue, symbol, base, quote)
    q = Quoter(venue, symbol, st, res)
    async with HttpClient(urls["control"]) as ctl:

        async def post(path: str, body: dict[str, Any]) -> None:
            r = await ctl.post(path, body=orjson.dumps(body), headers={"Content-Type": "application/json"})
            if r.status != 200:
                raise RuntimeError(f"simulator control {path}: {r.status} {r.body[:200]!r}")

        async def get(path: str) -> Any:
            return orjson.loads((await ctl.get(path)).body)

        await post("/keys", {"venue": venue, "args": cfg["keys"]})
        await post("/fund", {"venue": venue, "account": key, "balances": FUNDS})
        res.start_balances = (await get(f"/account?venue={venue}&account={key}"))["balances"]
        md = tickwire.connect(venue, [symbol], endpoints=urls[venue][:1], on_book=q.on_book)
        async with md:
            async with md.trade(
                credentials=signer(venue), transport="auto", strategy="demo",
                on_order=q.on_order, on_fill=q.on_fill,
            ) as tr:  # fmt: skip
                mid = Decimal(repr(md.book(symbol).mid()))
                start_base = await _holding(tr, base)  # the session's view: what flattening returns to
                q.start(tr, mid)
                st.started = time.monotonic()
                st.log(
                    f"trading {symbol} on {venue}: quotes of {q.size} {base} one tick inside the touch, "
                    f"IOC every {IOC_EVERY_S:g} s, position limit ±{q.max_pos}"
                )
                next_print = 0.0
                dropped_at = st.started + 0.4 * duration
                connects = tr.orders_ws.connects if tr.orders_ws is not None else 0
                while time.monotonic() - st.started < duration:
                    await asyncio.sleep(0.25 if plain else 0.2)
                    if faults and q.drop == "off" and time.monotonic() >= dropped_at:
                        q.drop = "arm"
                    if q.drop == "arm" and not q.in_flight:
                        ws = tr.orders_ws
                        q.socket_connects = ws.connects if ws is not None else 0
                        await post(
                            "/fault",
                            {"venue": venue, "endpoint": 0, "fault": "lose_answer",
                             "args": {"operation": cfg["place_op"], "times": 1}},
                        )  # fmt: skip
                        st.log(
                            f"FAULT the simulator will cut the order socket right after the next "
                            f"{cfg['place_op']}, its answer lost"
                        )
                        q.drop = "armed"
                        res.dropped = True
                    ws = tr.orders_ws
                    if ws is not None and ws.connects > connects and ws.connected:
                        connects = ws.connects
                        st.log(f"order socket reconnected ({connects} connects)")
                    next_print = show(screen(q, tr, st, duration), plain, st, next_print, 4.0, out)
                q.running = False
                await q.quiesce()
                report = res.kill = await tr.kill("demo end")
                st.log(
                    f"KILL demo end: {len(report.cancelled)} cancelled, {len(report.done_before)} done "
                    f"before, {len(report.unconfirmed)} unconfirmed, complete={report.complete}"
                )
                tr.resume()
                await _flatten(tr, q, res, st, symbol, base, start_base)
                await asyncio.sleep(0.3)  # the stream's copies of the last fills
        res.sim_orders = await get(f"/orders?venue={venue}&account={key}")
        res.end_balances = (await get(f"/account?venue={venue}&account={key}"))["balances"]
    res.position, res.pnl = q.pos, q.cash
    res.checks = checks(res)
    out(summary(q, res, st, TRADE_VENUES[q.venue]["socket"]))
    return res


async def _holding(tr: Any, asset: str) -> Decimal:
    bal = await tr.balances()
    return Decimal(bal[asset].total) if asset in bal else ZERO


def flatten_legs(left: Decimal, least: Decimal) -> list[Decimal]:
    """Signed quantities (buy > 0) that take a position of ``left`` back to zero, none smaller than
    ``least``: one order, or for a remainder too small to trade past zero by ``least`` and back."""
    if not left:
        return []
    if abs(left) >= least:
        return [-left]
    over = least if left > 0 else -least
    return [-(left + over), over]


async def _flatten(
    tr: Any, q: Quoter, res: Result, st: State, symbol: str, base: str, start: Decimal
) -> None:
    """Market orders back to the base balance the session saw at the start."""
    rules = q.tmpl[("buy", "GTC")].rules
    least = min_size(rules, Decimal(repr(q.mid)) if q.mid else q.start_mid) * 2
    legs = flatten_legs(await _holding(tr, base) - start, least)
    if not legs:
        st.log("flat already: nothing to sell back")
    for leg in legs:
        side = "buy" if leg > 0 else "sell"
        o = await tr.place_order(symbol, side, "market", abs(leg))
        res.sent["flatten"] += 1
        res.client_ids.append(o.client_id)
        st.log(f"flatten: market {side} {_num(abs(leg))} {base} → {o.status}, filled {_num(o.filled)}")
