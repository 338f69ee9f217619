"""``tickwire record --venue V --symbols A,B --out FILE.jsonl``: record a live session's raw traffic.

Runs a ``tickwire.connect`` session and writes every frame as received (binary frames still
compressed, base64), what the session sent, and the REST snapshots it applied, each with its receive
time, in the capture format ``tickwire replay`` reads (shared/fixtures/real). A writer thread drains
a queue to the file, so the frame path does no file I/O.

``--endpoint``: the venue's production hosts by default; ``sim`` starts the simulator for the venue
and symbols; an ``http(s)://`` URL is the control endpoint of a running ``tickwire sim``; a
``ws(s)://`` URL is one WebSocket endpoint (with ``--rest URL`` where the venue's snapshots come
from REST).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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


@contextlib.contextmanager
def _endpoints(args: argparse.Namespace, symbols: Sequence[str]) -> Iterator[list[Mapping[str, Any]] | None]:
    ep: str | None = args.endpoint
    if ep is None:
        yield None  # the venue's production hosts
    elif ep == "sim":
        from tickwire.sim.process import sim_process

        sim_args = ["--venue", args.venue, "--symbols", f"{args.venue}={','.join(symbols)}"]
        with sim_process(*sim_args) as urls:
            yield list(urls[args.venue])
    elif ep.startswith(("http://", "https://")):
        with urllib.request.urlopen(ep.rstrip("/") + "/urls", timeout=5) as r:
            urls = json.loads(r.read())
        if args.venue not in urls:
            raise ValueError(f"{ep} serves {', '.join(k for k in urls if k != 'control')}, not {args.venue}")
        yield list(urls[args.venue])
    elif ep.startswith(("ws://", "wss://")):
        yield [{"ws": ep, "rest": args.rest, "name": ep}]
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
        with _endpoints(args, symbols) as endpoints:
            return await record(
                args.venue,
                symbols,
                args.out,
                duration=args.duration,
                endpoints=endpoints,
                channels=channels,
                stop=stop,
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
