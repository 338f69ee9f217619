"""``tickwire replay FILE --venue VENUE``: run a captured JSON Lines session through a BookFeed.

The capture format is the one in shared/fixtures (one event per line: ``recv`` frames as ``text`` or
base64 ``b64``, ``http`` REST snapshots). The feed sees exactly the payload a live connection would
hand it: text frames as ``str``, binary frames still compressed (the feed gunzips/inflates them in
Rust). ``frames_per_s`` times only the feed calls, not reading the file.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from tickwire.errors import CaptureFormatError

if TYPE_CHECKING:
    from tickwire._core import BookFeed


def add_parser(sub: Any) -> None:
    from tickwire._core import venue_names

    p: argparse.ArgumentParser = sub.add_parser("replay", help="replay a captured session into order books")
    p.add_argument("file", type=Path, help="JSON Lines capture")
    p.add_argument("--venue", required=True, help=", ".join(venue_names()))
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


# What the live session's A/B arbitration holds a frame ahead of its book for (``MarketData`` default).
HOLD_S = 0.05

# A parsed event: (kind, url, payload, receive time in ns since the epoch).
_Event = tuple[str, str, bytes | str, int]
# The last second whose nanoseconds fit the feed's clock (an i64, as a live session's stamps do).
_T_MAX = (2**63 - 1) // 10**9


def _bad(path: Path, n: int, why: str) -> CaptureFormatError:
    e = CaptureFormatError(f"{path}, line {n}: {why}")
    e.line = n
    return e


def _events(path: Path) -> tuple[list[_Event], int | None]:
    """(kind, url, payload, t_ns) for each "recv" frame, "http" response, "open" (a new connection,
    payload ``""``) and "send" (``("send", "", text, 0)``: where the session sent something, for
    ``_several_lines``, and what, for ``_recorded_feed_options``), in capture order; and the number
    of the last line if it was cut (else None).

    Text frames stay ``str`` (a text frame is never decompressed); binary frames are handed over as
    received, compressed, because decompression belongs to the feed's decode path. A line that is
    not such an event (a file cut mid-line, edited, or not a capture) is a :class:`CaptureFormatError`
    naming it, before any of the file reaches a book — except the file's last line when it is not
    JSON and has no line end: a recording stopped mid-write (the process killed, the disk full) ends
    so, and what it wrote before is whole; that line is left out and its number returned.
    """
    out: list[_Event] = []
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                if not line.endswith(b"\n"):  # only a file's last line can lack one
                    return out, n
                if isinstance(e, UnicodeDecodeError):
                    raise _bad(path, n, f"not UTF-8 ({e.reason} at byte {e.start + 1})") from None
                raise _bad(path, n, f"not JSON ({e.msg} at character {e.pos + 1})") from None
            if not isinstance(ev, dict):
                raise _bad(path, n, f"not an event object but {type(ev).__name__}")
            kind = ev.get("kind")
            if kind == "send":  # where the session sent something (``_several_lines``), and its text
                sent = ev.get("text")
                out.append(("send", "", sent if isinstance(sent, str) else "", 0))
                continue
            if kind not in ("recv", "http", "open"):
                continue
            url, t = ev.get("url", ""), ev.get("t")
            if not isinstance(url, str):
                raise _bad(path, n, f"{kind} event's url is not a string")
            if isinstance(t, bool) or not isinstance(t, (int, float)):
                raise _bad(path, n, f"{kind} event without a receive time t")
            # 1e300 is JSON (a flipped exponent digit), NaN and Infinity pass Python's reader: as
            # nanoseconds they overflow the arbiter's clock, or Python's int() (a traceback).
            if not 0 <= t < _T_MAX:
                raise _bad(path, n, f"{kind} event's receive time t={t!r} is not seconds since the epoch")
            payload: bytes | str
            if kind == "open":
                payload = ""
            elif isinstance(ev.get("text"), str):
                payload = ev["text"]
            elif isinstance(ev.get("b64"), str):
                try:
                    payload = base64.b64decode(ev["b64"], validate=True)
                except binascii.Error as e:
                    raise _bad(path, n, f"{kind} event's b64 is not base64 ({e})") from None
            else:
                raise _bad(path, n, f"{kind} event without a text or b64 payload")
            out.append((kind, url, payload, round(t * 1e9)))
    return out, None


# Distinct frames received twice since a URL's latest reopening that make two connections to it up at
# once: one line's own repeats (a heartbeat, a pong) are one or two.
_REPEATS = 3


def _several_lines(events: list[_Event]) -> bool:
    """Whether the recording had more than one connection up at once (A/B lines): a frame from a
    connection opened earlier after another one opened. A line that reconnected (failover) took no
    frame of its old connection after its new ``open``. Lines to one URL (a venue's one endpoint)
    tell their frames apart by nothing: there, each message received twice after the URL opened
    again shows two connections carrying the same stream — but not a message received again after
    the session sent something: one line's answer to a request sent again (a resubscription's
    acknowledgement, a pong) is the same message as before."""
    opened: set[str] = set()
    latest = None
    # Frames since a URL opened again (None: none did), each with the number of messages the session
    # had sent when it came.
    seen: dict[bytes | str, int] | None = None
    sent = 0
    repeats: set[bytes | str] = set()
    for kind, url, payload, _ in events:
        if kind == "open":
            if url in opened and seen is None:
                seen = {}
            opened.add(url)
            latest = url
        elif kind == "send":
            sent += 1
        elif kind == "recv" and url != latest and url in opened:
            return True
        elif kind == "recv" and seen is not None:
            if seen.get(payload) == sent:
                repeats.add(payload)
                if len(repeats) >= _REPEATS:
                    return True
            seen[payload] = sent
    return False


def _recorded_feed_options(venue: str, events: list[_Event]) -> dict[str, Any]:
    """The ``BookFeed`` options the recording session had from its venue options, as far as what it
    sent shows them (Kraken's subscribed depth): else replay keeps books of another depth, and their
    checksums fail where the session's passed."""
    from tickwire.venues import adapter_class

    try:
        cls = adapter_class(venue)
    except ValueError:
        return {}
    options: dict[str, Any] = {}
    for kind, _, payload, _ in events:
        if kind == "send" and isinstance(payload, str):
            options.update(cls.recorded_options(payload))
    return cls(options).feed_options()


def _recorded_reader(venue: str) -> Callable[[BookFeed, str, bytes | str], bool]:
    """The venue adapter's reader of REST answers its session applied besides snapshots (Kraken's
    instrument precisions); one that takes none for a venue with no session adapter."""
    from tickwire.venues import adapter_class

    try:
        return adapter_class(venue).apply_recorded
    except ValueError:
        return lambda feed, url, body: False


def replay(path: Path, venue: str) -> dict[str, Any]:
    from tickwire import BookFeed, errors
    from tickwire._core import venue_spec

    events, cut = _events(path)
    feed = BookFeed(venue, **_recorded_feed_options(venue, events))
    # Venues numbering messages per connection start every book afresh on a new one, as the live
    # session does (a recording's later "open" events are its reconnects).
    per_connection = venue_spec(venue).connection_numbered
    # A/B lines carry every message twice, and one line's frame may run ahead of the other's: the
    # live session arbitrated them (first arrival wins, a frame ahead waits for the hole to fill),
    # so replay does too, on the recorded receive times.
    arbitrated = venue_spec(venue).redundant_lines and _several_lines(events)
    if arbitrated:
        feed.arbitrate(HOLD_S)
    apply_recorded = _recorded_reader(venue)
    frames = decode_errors = internal_errors = connections = refused = 0
    outcomes: dict[str, int] = {}

    def count(updates: tuple[tuple[str, str], ...]) -> None:
        for _, outcome in updates:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    started = time.perf_counter()
    for kind, url, payload, t_ns in events:
        if kind == "send":
            continue
        if arbitrated:
            # What the session's monitor does while frames come in: held frames whose time ran out.
            count(feed.release_held(t_ns)[1])
        if kind == "open":
            connections += 1
            if per_connection and connections > 1:
                feed.reset()
            continue
        if kind == "http" and apply_recorded(feed, url, payload):
            continue
        try:
            if kind == "http":
                query = parse_qs(urlparse(url).query)
                symbol = (query.get("symbol") or query.get("instId") or [""])[0]  # OKX: instId
                _, updates, _ = feed.on_snapshot(symbol, payload)
            else:
                _, updates, _ = feed.on_frame(payload, t_ns if arbitrated else None)
        except errors.InternalError:
            # As the live session does (``on_internal_error``): a bug in the core may have applied the
            # frame in part, so no book is trusted; each waits for its next snapshot (the recording
            # goes on with the line's reconnect and every book's resync).
            internal_errors += 1
            for key in feed.symbols():
                refused += feed.invalidate(key)
            continue
        except errors.TickwireError as e:
            decode_errors += 1
            # As the live session does (``on_bad_frame``): each book the refused frame named lacks
            # its update now and waits for the next snapshot, even where the venue's sequence
            # would not show the loss (Bybit's ids only grow, Kraken has none).
            named = {*(getattr(e, "symbols", None) or ()), *filter(None, [getattr(e, "symbol", None)])}
            for key in sorted(named):
                refused += feed.invalidate(key)
            continue
        finally:
            frames += 1
        count(updates)
    elapsed = time.perf_counter() - started
    books: dict[str, dict[str, Any]] = {}
    totals = dict.fromkeys(("checksum_ok", "checksum_fail", "gaps", "resyncs"), 0)
    for sym in feed.symbols():
        b = feed.book(sym)
        stats = b.stats()
        for k in totals:
            totals[k] += stats[k]
        books[sym] = {
            "best_bid": b.best_bid(),
            "best_ask": b.best_ask(),
            "bid_levels": b.level_count("bid"),
            "ask_levels": b.level_count("ask"),
            "synced": b.is_synced,
            "state": b.state,
            **stats,
        }
    fs = feed.stats()
    return {
        "venue": feed.venue,
        "frames": frames,
        "book_messages": fs["book_messages"],
        "checksums_verified": totals["checksum_ok"],
        "checksum_failures": totals["checksum_fail"],
        # A connection-wide gap (Coinbase) is counted once per book it invalidated.
        "gaps": totals["gaps"],
        "resyncs": totals["resyncs"],
        "decode_errors": decode_errors,
        # Frames the core failed on (``InternalError``, a bug to report): every book was put out of sync.
        "internal_errors": internal_errors,
        # Books a refused frame, or a frame the core failed on, put out of sync (each then waits for
        # its next snapshot).
        "refused": refused,
        "seconds": elapsed,
        "frames_per_s": frames / elapsed if elapsed > 0 else 0.0,
        "outcomes": outcomes,
        "needs": [list(n) for n in feed.needs()],
        "books": books,
        # The last line, cut mid-write, left out (None: the file ended whole).
        "cut_line": cut,
    }


def run(args: argparse.Namespace) -> int:
    from tickwire import errors

    try:
        report = replay(args.file, args.venue)
    except (OSError, ValueError, errors.TickwireError) as e:
        sys.stderr.write(f"tickwire replay: {e}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
        return 0
    w = sys.stdout.write
    w(f"{report['venue']}: {report['frames']} frames, {report['book_messages']} book messages, ")
    w(f"{report['decode_errors']} decode errors ({report['refused']} books refused a frame), ")
    w(f"{report['frames_per_s']:,.0f} frames/s (including Python)\n")
    if report["internal_errors"]:
        w(f"{report['internal_errors']} frames the core failed on (a bug, please report): books resynced\n")
    w(
        f"checksums {report['checksums_verified']} verified, {report['checksum_failures']} failed; "
        f"gaps {report['gaps']}, resyncs {report['resyncs']}\n"
    )
    w("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(report["outcomes"].items())) + "\n")
    if report["cut_line"] is not None:
        w(f"line {report['cut_line']} (the last) was cut mid-write: left out\n")
    for sym, b in report["books"].items():
        w(
            f"  {sym:<16} {b['state']:<22} bid={b['best_bid']} ask={b['best_ask']} "
            f"levels={b['bid_levels']}/{b['ask_levels']} checksums={b['checksum_ok']}/"
            f"{b['checksum_ok'] + b['checksum_fail']} gaps={b['gaps']}\n"
        )
    return 0
