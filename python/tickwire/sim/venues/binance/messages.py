"""The Binance market-data messages as the streams write them (venues.md §1.4, §1.6): depth diffs,
partial-depth snapshots, trades and book tickers, spot's and USDⓈ-M's shapes. Pure formatting of
what the venue class publishes: prices and quantities through the symbol's formats (spot prints 8
decimals, futures the instrument's own), never a float."""

from __future__ import annotations

from typing import Any

from tickwire.sim.market import BID, Fmt, Step, Trade


def depth_event(
    fmt: tuple[Fmt, Fmt], futures: bool, symbol: str, step: Step, now_ms: int, prev_u: int
) -> bytes:
    """One ``depthUpdate`` (``pu``, the previous event's ``u``, on futures)."""
    fp, fq = fmt
    b: list[str] = []
    a: list[str] = []
    for s, p, q in step.changes:
        (b if s == BID else a).append(f'["{fp(p)}","{fq(q)}"]')
    bids, asks = ",".join(b), ",".join(a)
    if futures:
        return (
            f'{{"e":"depthUpdate","E":{now_ms},"T":{now_ms},"s":"{symbol}","U":{step.first_id},'
            f'"u":{step.last_id},"pu":{prev_u},"b":[{bids}],"a":[{asks}]}}'
        ).encode()
    return (
        f'{{"e":"depthUpdate","E":{now_ms},"s":"{symbol}","U":{step.first_id},"u":{step.last_id},'
        f'"b":[{bids}],"a":[{asks}]}}'
    ).encode()


def partial_depth(
    fmt: tuple[Fmt, Fmt],
    futures: bool,
    symbol: str,
    update_id: int,
    top: tuple[list[tuple[int, int]], list[tuple[int, int]]],
    now_ms: int,
    prev_u: int,
) -> dict[str, Any]:
    """``<symbol>@depth<N>``'s top-N snapshot: spot's ``lastUpdateId`` form, futures' a
    ``depthUpdate`` whose ``U`` and ``u`` are the book's id."""
    fp, fq = fmt
    bids = [[fp(p), fq(q)] for p, q in top[0]]
    asks = [[fp(p), fq(q)] for p, q in top[1]]
    if not futures:
        return {"lastUpdateId": update_id, "bids": bids, "asks": asks}
    u = update_id
    body: dict[str, Any] = {"e": "depthUpdate", "E": now_ms, "T": now_ms, "s": symbol, "U": u, "u": u}
    body.update(pu=prev_u, b=bids, a=asks)
    return body


def trade_event(fmt: tuple[Fmt, Fmt], futures: bool, symbol: str, t: Trade, t_ms: int) -> bytes:
    """One ``trade`` event (spot's ends with ``"M":true``, which futures' lacks)."""
    fp, fq = fmt
    tail = "}" if futures else ',"M":true}'
    m = "true" if t.buyer_maker else "false"
    return (
        f'{{"e":"trade","E":{t_ms},"s":"{symbol}","t":{t.id},"p":"{fp(t.price)}",'
        f'"q":"{fq(t.qty)}","T":{t_ms},"m":{m}{tail}'
    ).encode()


def book_ticker(
    fmt: tuple[Fmt, Fmt],
    futures: bool,
    symbol: str,
    last_id: int,
    bbo: tuple[int, int, int, int],
    now_ms: int,
) -> bytes:
    """One ``bookTicker`` (futures' carries the event and transaction times as well)."""
    fp, fq = fmt
    head = f'"e":"bookTicker","E":{now_ms},"T":{now_ms},' if futures else ""
    return (
        f'{{{head}"u":{last_id},"s":"{symbol}","b":"{fp(bbo[0])}","B":"{fq(bbo[1])}",'
        f'"a":"{fp(bbo[2])}","A":"{fq(bbo[3])}"}}'
    ).encode()
