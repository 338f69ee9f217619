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
``/sbe/`` paths) the command registers a fresh one through the control endpoint. Cloud9Trader signs
its socket's upgrade: ``CLOUD9TRADER_API_KEY`` and ``CLOUD9TRADER_API_SECRET``, or a fresh key
registered with the simulator, the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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


def _register_key(control: str, venue: str, args: Mapping[str, Any]) -> None:
    """Registers a fresh key with the simulator at ``control`` (``POST /keys``)."""
    body = {"venue": venue, "args": dict(args)}
    req = urllib.request.Request(control.rstrip("/") + "/keys", data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5):
        pass


def _key_options(venue: str, control: str | None = None) -> dict[str, Any]:
    """The API key a market-data session needs: Binance's SBE streams take an Ed25519 key's name in
    the upgrade (no signature); Cloud9Trader's one socket is signed on every upgrade (HMAC). From a
    simulator (its ``control`` URL) a fresh key registered there; else ``BINANCE_API_KEY`` /
    ``CLOUD9TRADER_API_KEY`` and ``_API_SECRET``, checked before anything connects (else each connect
    fails on it, and the command records nothing until Ctrl-C, then exits 0). Nothing for the other
    venues."""
    if venue == "cloud9trader":
        from tickwire.venues.cloud9trader import Signer

        if control is None:
            return {"venue_options": {"signer": Signer.from_env()}}
        key, secret = (
            f"tickwire-record-{secrets.token_hex(6)}",
            base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        _register_key(control, venue, {"key": key, "secret_b64": secret})
        return {"venue_options": {"signer": Signer(key, secret)}}
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
    _register_key(control, SIM_VENUE[venue], {"key": key, "public_key": pem.decode()})
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
        from tickwire.audit import shown_url

        # Named as shown: the name is in the session's status lines and health, and the URL may
        # carry a credential (a token in its query, a password in its user part).
        yield [{"ws": ep, "rest": args.rest, "name": shown_url(ep)}], _key_options(args.venue)
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
        # A write that failed (a full disk) or a writer that fell too far behind (a slow disk) ended
        # the file there: what was not written after it.
        "write_error": cap.failure,
        "dropped": cap.dropped + cap.refused,
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
    # The session may have run well while its file did not: a capture that lost events is a failed
    # recording (exit 2), not a success that only a log line contradicts.
    rc = 0
    if report["write_error"] is not None:
        sys.stderr.write(
            f"tickwire record: writing {report['out']} failed ({report['write_error']}): "
            f"{report['dropped']} events not written, the file ends after {report['bytes']:,} bytes\n"
        )
        rc = 2
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
        return rc
    ev = report["events"]
    sys.stdout.write(
        f"{report['venue']}: {ev['recv']} frames, {ev['http']} snapshots, {ev['send']} sent, "
        f"{ev['open']} connections in {report['seconds']:.1f} s → {report['out']} "
        f"({report['bytes']:,} bytes)\n"
        f"books in sync at the end: {sum(report['synced'].values())}/{len(report['synced'])}; "
        f"resyncs {report['resyncs']}, reconnects {report['reconnects']}\n"
    )
    return rc
