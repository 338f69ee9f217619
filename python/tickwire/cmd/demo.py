"""``tickwire demo``: live books from several venues, with faults injected, all on this machine.

Starts the venue simulator as a separate process on loopback, connects to a few venues (Binance over
two redundant lines on two endpoints), shows top of book, update rates and latency percentiles live,
injects a dropped line, a sequence gap, a corrupted checksum and a dropped connection so recovery can
be watched, and ends with a summary that checks every book against the simulator's own.

Then it trades (``demo_trade.py``; ``--no-trade`` skips it): a small quoting strategy on one simulated
venue through order templates — live orders, fills, position and P&L, an order-socket drop whose
unknown-outcome order is reconciled on screen, and a kill switch that leaves the account flat, checked
against the simulator's own order list and ledger; its summary gives tick→order percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# venue -> (symbols, session options).
VENUES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "binance": (["BTCUSDT", "ETHUSDT"], {"redundancy": 2}),
    "okx": (["BTC-USDT", "ETH-USDT"], {}),
    "bybit": (["BTCUSDT"], {}),
    "kraken": (["BTC/USD", "ETH/USD"], {}),
    "coinbase": (["BTC-USD"], {}),
    "htx": (["btcusdt"], {"venue_options": {"levels": 20}}),
}
DEFAULT = "binance,okx,kraken,htx"


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="live books from simulated venues, with faults and recovery", description=__doc__
    )
    p.add_argument("--duration", type=float, default=15.0, help="seconds to run (default 15)")
    p.add_argument("--venues", default=DEFAULT, help=f"comma-separated, from {', '.join(VENUES)}")
    p.add_argument("--rate", type=float, default=200.0, help="book events per second per symbol")
    p.add_argument("--no-faults", action="store_true", help="do not inject faults")
    p.add_argument("--plain", action="store_true", help="no screen redraws (default when not a terminal)")
    p.add_argument("--no-trade", action="store_true", help="market data only: skip the trading part")
    from tickwire.cmd.demo_trade import TRADE_VENUES

    p.add_argument("--trade-venue", default="binance", choices=sorted(TRADE_VENUES), help="venue to trade on")
    p.add_argument("--trade-duration", type=float, default=12.0, help="seconds of trading (default 12)")
    p.set_defaults(func=run)


@dataclass
class Row:
    venue: str
    symbol: str
    updates: int = 0
    last_updates: int = 0
    rate: float = 0.0


@dataclass
class State:
    started: float = field(default_factory=time.monotonic)
    events: list[str] = field(default_factory=list)
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)

    def log(self, text: str) -> None:
        self.events.append(f"[{time.monotonic() - self.started:5.1f}s] {text}")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def show(screen: str, plain: bool, st: State, next_print: float, every: float, out: Any = _out) -> float:
    """Redraws the terminal with ``screen``, or (``plain``) prints it every ``every`` s of the run;
    returns when it is to be printed next."""
    if not plain:
        sys.stdout.write("\x1b[H\x1b[J" + screen + "\n")
        sys.stdout.flush()
    elif time.monotonic() - st.started >= next_print:
        out(screen + "\n")
        return next_print + every
    return next_print


def _fmt_level(lv: tuple[float, float] | None) -> str:
    return "—" if lv is None else f"{lv[0]:>11.2f} x {lv[1]:<10.5g}"


def _screen(sessions: dict[str, Any], st: State, duration: float) -> str:
    lines = [
        f"tickwire demo — simulated venues on loopback · "
        f"{time.monotonic() - st.started:4.1f} s of {duration:.0f} s",
        "",
        f"{'venue':9s} {'symbol':9s} {'best bid':>24s}  {'best ask':>24s} {'upd/s':>6s}  {'state':9s} lines",
    ]
    for venue, md in sessions.items():
        lines_up = "".join("✓" if ln.connected else "✗" for ln in md.lines)
        for sym in md.symbols():
            try:
                b = md.book(sym)
                bid, ask = b.best_bid(), b.best_ask()
            except KeyError:
                bid = ask = None
            row = st.rows.setdefault((venue, md.adapter.book_key(sym)), Row(venue, sym))
            state = "synced" if md.is_synced(sym) else "resync"
            lines.append(
                f"{venue:9s} {sym:9s} {_fmt_level(bid):>24s}  {_fmt_level(ask):>24s} {row.rate:6.0f}  "
                f"{state:9s} {lines_up}"
            )
    lines.append("")
    lines.append("latency, socket read → your callback returned (µs):   p50     p99   p99.9")
    for venue, md in sessions.items():
        t = md.latency().get("total")
        if t and t["count"]:
            lines.append(
                f"  {venue:49s} {t['p50'] / 1e3:6.1f}  {t['p99'] / 1e3:6.1f}  {t['p999'] / 1e3:6.1f}"
            )
    lines.append("")
    lines += st.events[-8:]
    return "\n".join(lines)


async def _faults(urls: dict[str, Any], venues: list[str], duration: float, st: State) -> None:
    from tickwire.transport.http import HttpClient

    plan: list[tuple[float, str, str, int, dict[str, Any], str]] = [
        (0.25, "binance", "drop", 0, {}, "binance: endpoint A drops its connections (line B carries on)"),
        (0.40, "okx", "gap", 0, {"symbol": "BTC-USDT"}, "okx: one BTC-USDT message lost (sequence gap)"),
        (0.50, "kraken", "corrupt_checksum", 0, {"symbol": "BTC/USD"}, "kraken: a corrupted checksum"),
        (0.60, "binance", "gap", 0, {"symbol": "ETHUSDT"}, "binance: a gap on line A only"),
        (0.70, "okx", "drop", 0, {}, "okx: the venue drops the connection"),
        (0.80, "htx", "gap", 0, {"symbol": "btcusdt"}, "htx: one mbp increment lost"),
    ]
    async with HttpClient(urls["control"]) as http:
        for frac, venue, fault, ep, args, what in plan:
            if venue not in venues:
                continue
            await asyncio.sleep(max(0.0, st.started + frac * duration - time.monotonic()))
            st.log("FAULT " + what)
            body = {"venue": venue, "endpoint": ep, "fault": fault, "args": args}
            import orjson

            await http.post("/fault", body=orjson.dumps(body), headers={"Content-Type": "application/json"})


async def _check(urls: dict[str, Any], sessions: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Pause the simulated market, let in-flight frames land, compare every book with the truth."""
    import orjson

    from tickwire.transport.http import HttpClient

    out = []
    async with HttpClient(urls["control"]) as http:
        await http.post("/pause", body=b"{}")
        for venue, md in sessions.items():
            depth = md.adapter.options.get("levels") or md.adapter.options.get("depth")
            if venue == "kraken":
                depth = 10
            elif venue == "bybit":
                depth = depth or 50  # the orderbook.50 stream (the adapter's default depth)
            for sym in md.symbols():
                ok = False
                for _ in range(100):
                    q = f"/book?venue={venue}&symbol={sym}" + (f"&depth={depth}" if depth else "")
                    truth = orjson.loads((await http.get(q)).body)
                    want = [(float(Decimal(p)), float(Decimal(v))) for p, v in truth["bids"]]
                    try:
                        ok = md.is_synced(sym) and md.book(sym).levels("bid", len(want) or 1) == want
                    except KeyError:
                        ok = False
                    if ok:
                        break
                    await asyncio.sleep(0.02)
                out.append((venue, sym, ok))
    return out


async def _main(args: argparse.Namespace) -> int:
    import tickwire
    from tickwire.sim.process import sim_process

    venues = [v.strip() for v in args.venues.split(",") if v.strip()]
    unknown = [v for v in venues if v not in VENUES]
    if unknown:
        _out(f"unknown venue(s) {unknown}; choose from {', '.join(VENUES)}")
        return 2
    plain = args.plain or not sys.stdout.isatty()
    sim_args = ["--rate", str(args.rate), "--depth", "60", "--endpoints", "binance=2"]
    for v in venues:
        sim_args += ["--venue", v, "--symbols", f"{v}={','.join(VENUES[v][0])}"]
    if not args.no_trade and args.trade_venue not in venues:
        from tickwire.cmd.demo_trade import sim_args as trade_sim_args

        sim_args += trade_sim_args(args.trade_venue)
    st = State()
    with sim_process(*sim_args) as urls:
        sessions: dict[str, Any] = {}

        def on_status(ev: Any) -> None:
            if ev.kind in ("connected", "subscribed", "resync") and ev.detail == "initial snapshot":
                return
            if ev.kind in ("disconnected", "out_of_sync", "synced", "stale", "shutdown_notice") or (
                ev.kind == "connected" and st.events
            ):
                where = f" line {'AB'[ev.line]}" if ev.line is not None and ev.line < 2 else ""
                st.log(
                    f"{ev.venue}{where} {ev.kind}{' ' + ev.symbol if ev.symbol else ''} {ev.detail}".rstrip()
                )

        for v in venues:
            symbols, opts = VENUES[v]
            sessions[v] = tickwire.connect(
                v, symbols, endpoints=urls[v], on_status=on_status, on_book=lambda b: None, **opts
            )
        await asyncio.gather(*(md.start() for md in sessions.values()))
        st.started = time.monotonic()
        faults = None if args.no_faults else asyncio.create_task(_faults(urls, venues, args.duration, st))
        next_print = 0.0
        while time.monotonic() - st.started < args.duration:
            await asyncio.sleep(0.5)
            for v, md in sessions.items():
                for key in md.book_keys():
                    row = st.rows.setdefault((v, key), Row(v, key))
                    n = md.book(key).stats()["diffs_applied"] + md.book(key).stats()["snapshots"]
                    row.rate, row.last_updates = (n - row.last_updates) / 0.5, n
            next_print = show(_screen(sessions, st, args.duration), plain, st, next_print, 5.0)
        if faults is not None:
            faults.cancel()
        checks = await _check(urls, sessions)
        _out(_summary(sessions, st, checks))
        await asyncio.gather(*(md.close() for md in sessions.values()))
        traded = True
        if not args.no_trade:
            from tickwire.cmd.demo_trade import run_trading
            from tickwire.transport.http import HttpClient

            async with HttpClient(urls["control"]) as http:
                await http.post("/resume", body=b"{}")  # the book check paused the market
            res = await run_trading(
                urls, args.trade_venue, args.trade_duration, _out, plain, faults=not args.no_faults
            )
            traded = res.ok
    return 0 if all(ok for _, _, ok in checks) and traded else 1


def _summary(sessions: dict[str, Any], st: State, checks: list[tuple[str, str, bool]]) -> str:
    lines = [
        "",
        "Summary",
        f"{'venue':9s} {'frames':>8s} {'reconnects':>10s} {'resyncs':>8s} {'gaps':>5s}  notes",
    ]
    for v, md in sessions.items():
        h = md.health()
        frames = sum(ln["frames"] for ln in h["lines"])
        note = ""
        if "arbiter" in h:
            a = h["arbiter"]
            note = (
                f"A/B: {a['duplicates']} duplicates dropped, "
                f"{a['filled_from_other_line']} holes filled from the other line"
            )
        lines.append(f"{v:9s} {frames:8d} {h['reconnects']:10d} {h['resyncs']:8d} {h['gaps']:5d}  {note}")
    lines.append("")
    lines.append("Events:")
    lines += ["  " + e for e in st.events]
    lines.append("")
    bad = [f"{v} {s}" for v, s, ok in checks if not ok]
    lines.append(
        f"Books equal to the simulator's at the end: {len(checks) - len(bad)}/{len(checks)}"
        + (f" — NOT EQUAL: {', '.join(bad)}" if bad else " — yes")
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import tickwire

    rc: int = tickwire.run(_main(args))
    return rc
