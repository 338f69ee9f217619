"""``tickwire sim``: run the venue simulator as a process, print its URLs as JSON, serve until stopped."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from typing import Any


def add_parser(sub: Any) -> None:
    from tickwire.sim.venues import VENUES

    p: argparse.ArgumentParser = sub.add_parser(
        "sim", help="run the embedded venue simulator on loopback", description=__doc__
    )
    p.add_argument("--venue", action="append", choices=sorted(VENUES), help="venue to serve (repeatable)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=50.0, help="book events per second per symbol (0: manual)")
    p.add_argument(
        "--endpoints", action="append", default=[], metavar="VENUE=N", help="serve VENUE on N endpoints"
    )
    p.add_argument(
        "--symbols", action="append", default=[], metavar="VENUE=SYM,SYM", help="serve only these symbols"
    )
    p.add_argument("--time-scale", type=float, default=1.0, help="multiply every venue interval/time-out")
    p.add_argument("--depth", type=int, default=None, help="levels per side of each simulated book")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--tls",
        action="append",
        default=[],
        metavar="VENUE=CERT,KEY[,CLIENT_CA]",
        help="serve VENUE over TLS; with CLIENT_CA clients need a certificate it signed (TLS 1.3 then)",
    )
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar='VENUE={"key": value}',
        help="venue profile settings as a JSON object (e.g. rate limits, compression)",
    )
    # Set by ``tickwire.sim.process``, which holds stdin's other end: its end of file stops the
    # simulator, so that it does not outlive its parent, however that ended (a SIGKILL too).
    p.add_argument("--parent-pipe", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # uvloop is optional: plain asyncio works, only slower
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> None:
    import orjson

    from tickwire.sim import Simulator

    endpoints = {}
    for spec in args.endpoints:
        name, _, n = spec.partition("=")
        endpoints[name] = int(n)
    symbols = {}
    for spec in args.symbols:
        name, _, syms = spec.partition("=")
        symbols[name] = syms.split(",")
    from tickwire.sim.tls import server_context

    tls = {}
    for spec in args.tls:
        name, _, files = spec.partition("=")
        cert, key, *ca = files.split(",")
        tls[name] = server_context(cert, key, ca[0] if ca else None, tls13_only=bool(ca))
    profiles = {}
    for spec in args.profile:
        name, _, obj = spec.partition("=")
        profiles[name] = orjson.loads(obj)
    sim = Simulator(
        args.venue or ["binance"],
        seed=args.seed,
        rate=args.rate,
        endpoints=endpoints,
        time_scale=args.time_scale,
        depth=args.depth,
        symbols=symbols,
        host=args.host,
        tls=tls,
        profiles=profiles,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.parent_pipe:
        threading.Thread(
            target=_until_eof, args=(loop, stop), name="tickwire-sim-parent", daemon=True
        ).start()
    async with sim:
        sys.stdout.write(orjson.dumps(sim.urls()).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()


def _until_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Reads stdin to its end (the parent closed it, or died: the kernel closes its end), then stops
    the simulator. A thread, not ``loop.add_reader``: the Windows loop watches no pipes."""
    with contextlib.suppress(OSError):
        while os.read(0, 4096):
            pass
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: stopped already
        loop.call_soon_threadsafe(stop.set)
