"""What ``tickwire demo``'s trading part shows: the live screen, the summary with its tick→order
percentiles, and the checks of its counts against the simulator's own records."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.cmd.demo import State

if TYPE_CHECKING:
    from tickwire.cmd.demo_quoter import Quoter, Result

ZERO = Decimal(0)


def _dec(bal: dict[str, Any], asset: str) -> Decimal:
    """An asset's total (free and locked) in the simulator's balances."""
    b = bal.get(asset)
    return ZERO if b is None else Decimal(b["free"]) + Decimal(b["locked"])


def checks(res: Result) -> list[tuple[str, bool]]:
    """Everything the demo says of itself, against the simulator's own order list and ledger."""
    orders, start, end = res.sim_orders, res.start_balances, res.end_balances
    base, quote = res.base, res.quote
    theirs = {(o["client_id"], str(f["trade_id"])): (o["side"], f) for o in orders for f in o["fills"]}
    mine = {(f.client_id, f.trade_id) for f in res.fills.values()}
    sim_ids = [o["client_id"] for o in orders]
    n_sent = sum(res.sent.values()) - len(res.send_errors)
    pnl_sim = _dec(end, quote) - _dec(start, quote)
    out = [
        (f"orders at the simulator {len(orders)} = orders the demo sent {n_sent}, same client ids",
         len(orders) == n_sent and sorted(sim_ids) == sorted(res.client_ids)),
        (f"fills the demo counted {len(res.fills)} = the simulator's {len(theirs)}, each once",
         mine == set(theirs) and res.duplicate_fills == 0),
        ("no open order at the simulator",
         not any(o["status"] in ("NEW", "PARTIALLY_FILLED") for o in orders)),
        (f"{base} at the simulator {_num(_dec(end, base))} = at the start {_num(_dec(start, base))}, "
         "nothing locked",
         _dec(end, base) == _dec(start, base) and all(Decimal(b["locked"]) == 0 for b in end.values())),
        (f"P&L from the demo's fills {_num(res.pnl, '+')} {quote} = the simulator's {quote} change "
         f"{_num(pnl_sim, '+')}",
         res.position == 0 and res.pnl == pnl_sim),
    ]  # fmt: skip
    if res.dropped:
        once = res.probe is not None and sim_ids.count(res.probe) == 1 == res.client_ids.count(res.probe)
        out.append((f"the order sent into the socket drop ({res.probe}) is at the simulator once", once))
    return out


def _num(x: Decimal, sign: str = "") -> str:
    """Exact, without exponent or trailing zeros."""
    s = format(x.normalize() if x else ZERO, "f")
    return ("+" + s if sign and x >= 0 else s) if s != "-0" else "0"


def _fmt(x: float | None, d: int = 2) -> str:
    return "—" if x is None else f"{x:.{d}f}"


def screen(q: Quoter, tr: Any, st: State, duration: float) -> str:
    res = q.res
    base, quote = res.base, res.quote
    statuses: dict[str, int] = {}
    for o in q.orders.values():
        statuses[o.status] = statuses.get(o.status, 0) + 1
    quotes = []
    for side in ("buy", "sell"):
        qt = q.quotes.get(side)
        o = q.orders.get(qt.client_id) if qt else None
        quotes.append(
            "—" if qt is None or o is None
            else f"{side} {qt.price / 10**q.scale:.2f} x {o.remaining} {o.status}"
        )  # fmt: skip
    pnl = q.pnl()
    ws, stream = tr.orders_ws, tr.stream
    maker = sum(1 for f in res.fills.values() if f.liquidity == "maker")
    lines = [
        f"tickwire demo — trading {q.symbol} on {q.venue} (simulated) · "
        f"{time.monotonic() - st.started:4.1f} s of {duration:.0f} s",
        "",
        f"touch (without our quotes)   bid {_fmt(q.touch and q.touch[0])}   "
        f"ask {_fmt(q.touch and q.touch[1])}",
        f"our quotes   {quotes[0]:38s} {quotes[1]}",
        f"orders   {sum(res.sent.values())} sent ({res.sent['quote']} quotes, {res.sent['ioc']} IOC)   "
        + "  ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
        f"fills    {len(res.fills)} ({maker} maker, {len(res.fills) - maker} taker)   "
        f"position {_num(q.pos, '+')} {base}   "
        f"P&L {'—' if pnl is None else f'{pnl:+.4f}'} {quote} (marked to mid {_fmt(q.mid)})",
        f"order socket {'up' if ws is not None and ws.connected else 'DOWN'}"
        f" ({ws.connects if ws is not None else 0} connects)   private stream "
        f"{'up' if stream is not None and stream.connected else 'DOWN'}",
        "tick→order (µs, frame read → bytes written): " + _pcts(_written(res)),
        "",
        "recent fills:",
    ]
    lines += ["  " + f for f in q.recent_fills] or ["  —"]
    lines.append("")
    lines += st.events[-8:]
    return "\n".join(lines)


def _written(res: Result) -> list[int]:
    return [s.written for s in res.stamps if s.written is not None]


def _pcts(ns: list[int]) -> str:
    if not ns:
        return "no orders yet"
    v = sorted(ns)

    def at(p: float) -> float:
        return v[min(len(v) - 1, int(p * len(v)))] / 1e3

    return f"p50 {at(0.5):.1f}  p99 {at(0.99):.1f}  p99.9 {at(0.999):.1f}  ({len(v)} orders)"


def summary(q: Quoter, res: Result, st: State, socket: str) -> str:
    sim_fills = sum(len(o["fills"]) for o in res.sim_orders)
    k = res.kill
    lines = [
        "",
        f"Trading summary — {q.symbol} on {q.venue}, order templates over the {socket}",
        f"  orders sent: {res.sent['quote']} quotes, {res.sent['ioc']} IOC, {res.sent['flatten']} flattening "
        f"(market); {len(res.send_errors)} refused",
        f"  fills: {len(res.fills)} counted by the demo, {sim_fills} at the simulator",
        f"  order-socket drop: {res.probe or '—'} → {res.probe_result or 'not injected'}",
    ]
    if k is not None:
        lines.append(
            f"  kill switch: {len(k.cancelled)} cancelled, {len(k.done_before)} done before, "
            f"{len(k.unconfirmed)} unconfirmed, {len(k.errors)} errors, {k.elapsed_s * 1e3:.0f} ms"
        )
    lines += [
        "  tick→order (µs, in-process, from the socket read of the book frame that fired the order):",
        "    → on_book entered (decode, apply)  " + _pcts([s.callback for s in res.stamps]),
        "    → bytes handed to the write        "
        + _pcts([s.ready for s in res.stamps if s.ready is not None]),
        "    → bytes written by tmpl.send()     " + _pcts(_written(res)),
        "    → tmpl.send() returned             " + _pcts([s.returned for s in res.stamps]),
        f"    {sum(1 for s in res.stamps if s.written is None)} of {len(res.stamps)} writes waited inside "
        "send's task (rate budget, connection): not in the write lines; handed → written is the send",
        "    syscall, where the simulator this demo runs on the same cores may take the CPU first",
        "",
        "Events:",
    ]
    lines += ["  " + e for e in st.events]
    lines.append("")
    lines.append("Checked against the simulator:")
    lines += [f"  {'yes' if ok else 'NO '}  {what}" for what, ok in res.checks]
    lines.append(
        "Trading ended flat, every count equal to the simulator's — yes"
        if res.ok
        else "Trading checks FAILED"
    )
    return "\n".join(lines)
