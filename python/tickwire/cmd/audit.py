"""``tickwire audit FILE --order ID``: one order's life, rebuilt from the audit log alone.

Every event that names the order is printed in the order it was logged (the file's order; ``mono_ns``
and ``ts_ns`` stamp each): the session's intent (``order_request``, ``amend_request``,
``cancel_request``), each request as sent (``request``, before signing), the venue's refusals
(``refused``, ``rate_limited``, ``remedy``), the session's own refusals of orders it never sent
(``risk_refused``, ``halted_refusal``, ``closing_refusal``, ``order_withdrawn``), each state the
venue reported (``order``: ack, reject, amend, cancel), each execution (``fill``), what
reconciliation found (``unknown_outcome``, ``reconciled``), and where the log dropped events
(``audit_dropped``, from the order's first event on).
``ID`` is the client id or the venue's order id: the order's other id is learnt from
the events that carry both, so an event naming either one is found. A request names the order in its
parameters or body (``newClientOrderId=…``, ``"clOrdId":"…"``): any field whose text holds the id as
a whole word counts. Rotated backups (``FILE.1`` … ``FILE.N``) are read first, oldest first.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Fields of an event that are its frame, not its content.
_STAMPS = ("ts_ns", "mono_ns", "kind")
_ID_FIELDS = ("client_id", "order_id")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("audit", help="print one order's life from an audit log")
    p.add_argument("file", type=Path, help="the audit log (JSON Lines, as tickwire.audit.AuditLog writes)")
    p.add_argument("--order", required=True, metavar="ID", help="the order's client id or venue order id")
    p.add_argument("--json", action="store_true", help="print the events as they are in the file")
    p.set_defaults(func=run)


def _files(path: Path) -> list[Path]:
    """The log and its rotated backups, oldest first (``path.N`` … ``path.1``, then ``path``)."""
    backups = []
    n = 1
    while (b := path.with_name(f"{path.name}.{n}")).exists():
        backups.append(b)
        n += 1
    return [*reversed(backups), path]


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Every event of the log and its backups, in the order written; lines that are not JSON objects
    (a line cut by a crash) are skipped."""
    for f in _files(path):
        with f.open("rb") as fh:
            for line in fh:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ev, dict):
                    yield ev


def _aliases(events: list[dict[str, Any]], order: str) -> set[str]:
    """``order`` and the order's other id, from events that carry both ids."""
    ids = {order}
    for _ in range(2):  # client id → order id → (the same client id)
        for ev in events:
            cid, oid = ev.get("client_id"), ev.get("order_id")
            if cid and oid and (str(cid) in ids or str(oid) in ids):
                ids |= {str(cid), str(oid)}
    return ids


def _mentions(value: Any, words: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return words.search(value) is not None
    if isinstance(value, dict):
        return any(_mentions(v, words) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, words) for v in value)
    return False


def order_life(path: Path, order: str) -> list[dict[str, Any]]:
    """The events naming ``order`` (either of its ids), in the order they were written, and each
    ``audit_dropped`` line from its first on: events the log dropped (its queue full) may have been
    this order's, so its life as printed is not known whole."""
    events = list(read_events(path))
    ids = _aliases(events, order)
    # A whole word: "tw-1" must not match "tw-12".
    words = re.compile("|".join(rf"(?<![\w\-]){re.escape(i)}(?![\w\-])" for i in sorted(ids)))
    out = []
    for ev in events:
        if any(str(ev.get(f)) in ids for f in _ID_FIELDS if ev.get(f) is not None):
            out.append(ev)
        elif _mentions({k: v for k, v in ev.items() if k not in _STAMPS}, words):
            out.append(ev)
        elif out and ev.get("kind") == "audit_dropped":
            out.append(ev)
    return out


def format_event(ev: dict[str, Any], t0_ns: int | None) -> str:
    wall = ev.get("ts_ns")
    when = (
        datetime.fromtimestamp(wall / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(wall, int)
        else "?"
    )
    mono = ev.get("mono_ns")
    since = f"+{(mono - t0_ns) / 1e6:.3f}ms" if isinstance(mono, int) and t0_ns is not None else "?"
    rest = []
    for k, v in ev.items():
        if k in _STAMPS or v is None or v == "" or v == {}:
            continue
        text = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)
        rest.append(f"{k}={text}")
    return f"{when} {since:>13}  {ev.get('kind', '?'):<16} {' '.join(rest)}"


def run(args: argparse.Namespace) -> int:
    if not args.file.exists():
        sys.stderr.write(f"tickwire audit: {args.file}: no such file\n")
        return 2
    life = order_life(args.file, args.order)
    if not life:
        sys.stderr.write(f"tickwire audit: no event names order {args.order}\n")
        return 1
    if args.json:
        for ev in life:
            sys.stdout.write(json.dumps(ev, ensure_ascii=False) + "\n")
        return 0
    t0 = next((ev["mono_ns"] for ev in life if isinstance(ev.get("mono_ns"), int)), None)
    for ev in life:
        sys.stdout.write(format_event(ev, t0) + "\n")
    return 0
