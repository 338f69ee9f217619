"""A trading session's close (``trading/lifecycle.py``): an audit log it opened from a path is closed
with it, so every event — the last order's, the close's own — is in the file when ``async with``
ends; a log the caller passed in is left open for the caller."""

from __future__ import annotations

from pathlib import Path

import orjson
from test_session_binance import BINANCE
from tickwire.audit import AuditLog
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def _kinds(path: Path) -> list[str]:
    return [orjson.loads(line)["kind"] for line in path.read_text().splitlines()]


def test_an_audit_log_opened_from_a_path_is_on_disk_when_the_session_ends(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    held: list[TradingSession] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        held.append(tr)
        o = await BINANCE.rest_below(sim, tr, 30)
        await tr.cancel_order(BINANCE.symbol, client_id=o.client_id)

    BINANCE.run(body, audit=str(path))
    # Read at once, before any writer thread or process exit could catch up: nothing is left behind.
    kinds = _kinds(path)
    # The order's request, its change to new, the cancel's request, its change to canceled, the close.
    assert [k for k in kinds if k in ("order_request", "order", "cancel_request", "close")] == [
        "order_request",
        "order",
        "cancel_request",
        "order",
        "close",
    ], kinds
    held[0].audit.event("late")  # closed: a later event is dropped, not written
    assert _kinds(path)[-1] == "close"


def test_a_log_the_caller_passed_is_left_open_for_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    with AuditLog(str(path)) as mine:

        async def body(sim: Simulator, tr: TradingSession) -> None:
            assert tr.audit is mine

        BINANCE.run(body, audit=mine)
        mine.event("after", note="still mine")
        mine.flush()
        assert _kinds(path)[-2:] == ["close", "after"]
