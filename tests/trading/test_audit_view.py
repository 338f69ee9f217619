"""An order's life rebuilt from the audit file alone (``tickwire audit FILE --order ID``), after a
session against the simulator: a place whose answer was lost (reconciled), an amend, a cancel; a
fill; a refusal. The file never holds the API secret or passphrase."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import tickwire
from test_session_okx import OKX, PASSPHRASE, SECRET
from tickwire.audit import AuditLog
from tickwire.cli import main
from tickwire.cmd.audit import order_life
from tickwire.errors import InsufficientFunds
from tickwire.sim import Simulator


def _view(path: Path, order: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["audit", str(path), "--order", order]) == 0
    return capsys.readouterr().out.splitlines()


def _kinds(lines: list[str]) -> list[str]:
    return [line.split()[2] for line in lines]


def _in_order(got: list[str], want: list[str]) -> bool:
    it = iter(got)
    return all(k in it for k in want)


def test_the_view_lists_every_step_of_an_order_and_the_file_holds_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = OKX
    path = tmp_path / "audit.jsonl"
    ids: dict[str, str] = {}

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            audit = AuditLog(path)
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], audit=audit
            ) as tr:
                sim.endpoint(a.venue, 0).lose_answer(a.place_op)
                o = await a.rest_below(sim, tr, 40, 3)
                assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1  # reconciled
                tick = tr.rules[a.symbol].tick_size
                await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tick)
                await tr.cancel_order(a.symbol, client_id=o.client_id)
                _, ask = a.touch(sim)
                filled = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, ask), ask)
                assert filled.filled > 0
                with pytest.raises(InsufficientFunds):
                    await tr.place_order(a.symbol, "sell", "limit", Decimal(10_000), ask * 2)
                rejected = [x for x in tr.tracker if x.status == "rejected"]
                ids.update(
                    placed=o.client_id, order_id=o.order_id or "", filled=filled.client_id,
                    rejected=rejected[0].client_id,
                )  # fmt: skip
            audit.close()

    asyncio.run(go())

    # Place (answer lost) → reconciled → amend → cancel, each as asked, as sent and as answered.
    life = _view(path, ids["placed"], capsys)
    kinds = _kinds(life)
    assert _in_order(
        kinds,
        ["order_request", "request", "lost", "unknown_outcome", "request", "reconciled",
         "amend_request", "request", "order", "cancel_request", "request", "order"],
    )  # fmt: skip
    statuses = [e["status"] for e in order_life(path, ids["placed"]) if e["kind"] == "order"]
    assert statuses[-1] == "canceled" and "new" in statuses
    # Asked by the venue's order id, the same life.
    assert _view(path, ids["order_id"], capsys) == life
    # A fill, and a refusal.
    filled = _kinds(_view(path, ids["filled"], capsys))
    assert _in_order(filled, ["order_request", "request", "fill"]) and "order" in filled
    refused = _view(path, ids["rejected"], capsys)
    assert _in_order(_kinds(refused), ["order_request", "request", "refused", "order"])
    assert "rejected" in refused[-1]
    # Every line stamped with both clocks, and the monotonic one never runs backwards.
    events = [orjson.loads(line) for line in path.read_text().splitlines()]
    monos = [e["mono_ns"] for e in events]
    assert all(isinstance(e["ts_ns"], int) for e in events) and monos == sorted(monos)
    # Another order's steps are not in this one's life.
    assert ids["filled"] not in "\n".join(life)
    # No secret, ever.
    text = path.read_text()
    assert SECRET not in text and PASSPHRASE not in text


def test_an_unknown_order_is_exit_status_1(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"ts_ns": 1, "mono_ns": 1, "kind": "order", "client_id": "tw-12"}\nnot json\n')
    assert main(["audit", str(path), "--order", "tw-1"]) == 1  # a whole id, not a prefix
    assert main(["audit", str(path), "--order", "tw-12"]) == 0
    assert "tw-12" in capsys.readouterr().out
