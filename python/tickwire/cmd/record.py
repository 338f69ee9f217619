"""``tickwire record --venue V --symbols A,B --out FILE.jsonl``: record a live session's raw traffic.

Runs a ``tickwire.connect`` session and writes every frame as received (binary frames still
compressed, base64), what the session sent, and the REST snapshots it applied, each with its receive
time, in the capture format ``tickwire replay`` reads (shared/fixtures/real). A writer thread drains
a queue to the file, so the frame path does no file I/O.

``--endpoint``: the venue's production hosts by default; ``sim`` starts the simulator for the venue
and symbols; an ``http(s)://`` URL is the control endpoint of a running ``tickwire sim``; a
``ws(s)://`` URL is one WebSocket endpoint (with ``--rest URL`` where the venue's snapshots come
from REST).

``--venue binance-sbe`` records Binance's SBE market-data stream: its binary frames as received
(base64, uncompressed as the venue sends them), the REST snapshots as JSON. Its upgrade needs an
Ed25519 API key: ``BINANCE_API_KEY`` in production; against the simulator (its ``binance`` venue's
``/sbe/`` paths) the command registers a fresh one through the control endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from tickwire.streams import Channel


def add_parser(sub: Any) -> None:
    from tickwire._core import venue_names

    p: argparse.ArgumentParser = sub.add_parser(
        "record", help="record a live session's raw frames and snapshots", description=__doc__
    )
    p.add_argument("--venue", required=True, help=", ".join(venue_names()))
    p.add_argument("--symbols", required=True, help="comma-separated, as the venue names them")
    p.add_argument("--out", required=True, type=Path, help="JSON Lines capture to write")
    p.add_argument("--duration", type=float, default=None, help="seconds to record (default: until Ctrl-C)")
    p.add_argument("--endpoint", default=None, help="sim, a tickwire sim control URL, or a ws(s):// URL")
    p.add_argument("--rest", default=None, help="REST base URL to go with a ws(s):// --endpoint")
    p.add_argument("--channels", default="book", help="comma-separated channels (default: book)")
    p.add_argument("--json", action="store_true", help="print one JSON summary instead of text")
    p.set_defaults(func=run)


# Library venues the simulator serves as part of another: Binance's SBE stream host
# (stream-sbe.binance.com) is its "binance" venue's /sbe/ paths, as it is the spot account's in production.
SIM_VENUE = {"binance-sbe": "binance"}


def _key_options(venue: str, control: str | None = None) -> dict[str, Any]:
    """The API key a market-data session needs: Binance's SBE streams take an Ed25519 key's name in
    the upgrade (no signature). From a simulator (its ``control`` URL) a fresh key whose public half
    is registered there; else ``BINANCE_API_KEY``, checked before anything connects. Nothing for the
    other venues."""
    if venue != "binance-sbe":
        return {}
    if control is None:
        from tickwire.auth import Credentials

        return {"venue_options": {"api_key": Credentials.from_env("BINANCE").api_key}}
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key = f"tickwire-record-{secrets.token_hex(6)}"
    body = {"venue": SIM_VENUE[venue], "args": {"key": key, "public_key": pem.decode()}}
    req = urllib.request.Request(control.rstrip("/") + "/keys", data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5):
        pass
    return {"venue_options": {"api_key": key}}


@contextlib.contextmanager
def _endpoints(
    args: argparse.Namespace, symbols: Sequence[str]
) -> Iterator[tuple[list[Mapping[str, Any]] | None, dict[str, Any]]]:
    """The endpoints to record from and the session options they need."""
    ep: str | None = args.endpoint
    sim_venue = SIM_VENUE.get(args.venue, args.venue)
    if ep is None:
        yield None, _key_options(args.venue)  # the venue's production hosts
    elif ep == "sim":
        from tickwire.sim.process import sim_process

        sim_args = ["--venue", sim_venue, "--symbols", f"{sim_venue}={','.join(symbols)}"]
        with sim_process(*sim_args) as urls:
            yield list(urls[sim_venue]), _key_options(args.venue, urls["control"])
    elif ep.startswith(("http://", "https://")):
        with urllib.request.urlopen(ep.rstrip("/") + "/urls", timeout=5) as r:
            urls = json.loads(r.read())
        if sim_venue not in urls:
            raise ValueError(f"{ep} serves {', '.join(k for k in urls if k != 'control')}, not {sim_venue}")
        yield list(urls[sim_venue]), _key_options(args.venue, ep)
    elif ep.startswith(("ws://", "wss://")):
        yield [{"ws": ep, "rest": args.rest, "name": ep}], _key_options(args.venue)
    else:
        raise ValueError(f"--endpoint: sim, http(s):// (a tickwire sim) or ws(s)://, not {ep!r}")


async def record(
    venue: str,
    symbols: Sequence[str],
    out: Path,
    *,
    duration: float | None = None,
    endpoints: Sequence[Mapping[str, Any]] | None = None,
    channels: Sequence[Channel] = ("book",),
    stop: asyncio.Event | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Records a session into ``out`` for ``duration`` seconds (or until ``stop`` is set); returns
    counts of what was written and the session's health at the end."""
    import tickwire
    from tickwire.capture import CaptureWriter

    stop = stop or asyncio.Event()
    options.setdefault("probe_interval", None)
    started = time.monotonic()
    with CaptureWriter(out) as cap:
        md = tickwire.connect(
            venue,
            symbols,
            channels=channels,
            endpoints=endpoints,
            capture=cap,
            **options,
        )
        try:
            await md.start(wait=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
            synced = {s: md.is_synced(s) for s in md.registry.symbols("book")}
        finally:
            await md.close()
    return {
        "venue": venue,
        "out": str(out),
        "seconds": time.monotonic() - started,
        "events": dict(cap.counts),
        "bytes": cap.bytes_written,
        "synced": synced,
        "resyncs": md.counters["resyncs"],
        "reconnects": md.counters["reconnects"],
    }


def run(args: argparse.Namespace) -> int:
    from tickwire import errors
    from tickwire.loop import run as loop_run

    symbols = [s for s in args.symbols.split(",") if s]
    channels = [cast("Channel", c) for c in args.channels.split(",") if c]

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        with _endpoints(args, symbols) as (endpoints, options):
            return await record(
                args.venue,
                symbols,
                args.out,
                duration=args.duration,
                endpoints=endpoints,
                channels=channels,
                stop=stop,
                **options,
            )

    try:
        report: dict[str, Any] = loop_run(main())
    except (OSError, ValueError, KeyError, RuntimeError, errors.TickwireError) as e:
        sys.stderr.write(f"tickwire record: {e}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
        return 0
    ev = report["events"]
    sys.stdout.write(
        f"{report['venue']}: {ev['recv']} frames, {ev['http']} snapshots, {ev['send']} sent, "
        f"{ev['open']} connections in {report['seconds']:.1f} s → {report['out']} "
        f"({report['bytes']:,} bytes)\n"
        f"books in sync at the end: {sum(report['synced'].values())}/{len(report['synced'])}; "
        f"resyncs {report['resyncs']}, reconnects {report['reconnects']}\n"
    )
    return 0
