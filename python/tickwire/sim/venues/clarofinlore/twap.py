"""Clarofinlore TWAP (seed-venues.md: "orders larger than 1% of 24 h volume may be rejected; a TWAP
endpoint splits large orders"). Defaults where the document is silent:

``POST /v1/orders/twap`` ``{"symbol", "side", "quantity", "duration_s", "slices", "client_order_id"}``
starts a parent order that sends ``slices`` market orders, one every ``duration_s / slices`` seconds
(the first at once), each for an equal share of the quantity in lots (the remainder goes to the first
slices); children carry client order ids ``<client_order_id>.<n>``. A retried request with the same
client order id returns the same TWAP. ``GET /v1/orders/twap/{id}`` shows its progress, ``DELETE``
stops it; the kill switch (``cancel-all``, ``close-all``) stops every running TWAP of the key. A slice
the account cannot pay for ends the TWAP as ``failed`` with the venue's 1001 (insufficient margin).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import ASK, BID

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

MAX_SLICES = 1000


@dataclass
class Twap:
    id: str
    account: str
    client_id: str
    symbol: str
    side: int
    lots: list[int]  # per slice
    duration_s: float
    status: str = "running"  # running | done | cancelled | failed
    reason: str = ""
    children: list[Order] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class ClarofinloreTwap:
    def __init__(self, ctx: VenueContext, order_json: Callable[[Order], dict[str, Any]]) -> None:
        self.ctx = ctx
        self.order_json = order_json  # a child order as the venue shows orders
        self.twaps: dict[str, Twap] = {}
        self.by_client: dict[tuple[str, str], Twap] = {}
        self._ids = itertools.count(1)

    def route(self, ep: VenueServer, req: Request, account: str) -> Response | None:
        if (req.method, req.path) == ("POST", "/v1/orders/twap"):
            return self.start(ep, req, account)
        if req.path.startswith("/v1/orders/twap/") and req.method in ("GET", "DELETE"):
            t = self.twaps.get(req.path.rsplit("/", 1)[1])
            if t is None or t.account != account:
                return json_response({"code": 404, "message": "twap not found"}, 404)
            if req.method == "DELETE" and t.status == "running":
                self._stop(t, "cancelled")
            return json_response(self.twap_json(t))
        return None

    def twap_json(self, t: Twap) -> dict[str, Any]:
        v = self.ctx
        fq = v.fmt[t.symbol][1]
        filled = sum(o.filled for o in t.children)
        return {
            "twap_id": t.id,
            "client_order_id": t.client_id,
            "symbol": t.symbol,
            "side": "buy" if t.side == BID else "sell",
            "quantity": fq(sum(t.lots)),
            "status": t.status,
            "reason": t.reason,
            "slices": len(t.lots),
            "slices_done": len(t.children),
            "duration_s": t.duration_s,
            "filled": fq(filled),
            "orders": [self.order_json(o) for o in t.children],
        }

    def start(self, ep: VenueServer, req: Request, account: str) -> Response:
        v = self.ctx
        try:
            b = orjson.loads(req.body)
            cid, symbol = str(b["client_order_id"]), str(b["symbol"])
            side = {"buy": BID, "sell": ASK}[str(b["side"]).lower()]
            slices, duration = int(b["slices"]), float(b["duration_s"])
            inst = v.instruments[symbol]
            lots = Decimal(str(b["quantity"])) / inst.lot
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidOperation):
            msg = "symbol, side, quantity, duration_s, slices and client_order_id are required"
            return json_response({"code": 400, "message": msg}, 400)
        prior = self.by_client.get((account, cid))
        if prior is not None:
            return json_response(self.twap_json(prior))  # a retry creates nothing
        if lots != lots.to_integral_value() or not 0 < slices <= min(MAX_SLICES, int(lots)) or duration <= 0:
            msg = "quantity must be a positive multiple of the lot, at least one lot per slice"
            return json_response({"code": 400, "message": msg}, 400)
        each, extra = divmod(int(lots), slices)
        t = Twap(f"twap-{next(self._ids)}", account, cid, symbol, side, [], duration)
        t.lots = [each + (1 if i < extra else 0) for i in range(slices)]
        self.twaps[t.id] = self.by_client[(account, cid)] = t
        self._slice(ep, t)  # the first slice at once, so the answer already shows it
        if t.status == "running":
            t.task = asyncio.get_running_loop().create_task(self._run(ep, t))
        return json_response(self.twap_json(t))

    async def _run(self, ep: VenueServer, t: Twap) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        gap = t.duration_s / len(t.lots)
        while t.status == "running":
            await asyncio.sleep(max(0.0, start + gap * len(t.children) - loop.time()))
            self._slice(ep, t)

    def _slice(self, ep: VenueServer, t: Twap) -> None:
        v = self.ctx
        n = len(t.children)
        try:
            order, step = v.engine.place(
                t.account,
                t.symbol,
                t.side,
                "MARKET",
                t.lots[n],
                None,
                "IOC",
                f"{t.client_id}.{n}",
                ep.now_ms(),
            )
        except EngineError as e:
            t.status = "failed"
            t.reason = "insufficient margin" if e.code == "funds" else str(e)
            return
        if step is not None:
            v.publish(t.symbol, step)
        t.children.append(order)
        if len(t.children) == len(t.lots):
            t.status = "done"

    def _stop(self, t: Twap, status: str) -> None:
        t.status = status
        if t.task is not None:
            t.task.cancel()

    def stop_all(self, account: str | None = None, symbol: str | None = None) -> None:
        """The kill switch (``account``, every symbol or one) or the simulator shutting down (None)."""
        for t in self.twaps.values():
            if t.status == "running" and account in (None, t.account) and symbol in (None, t.symbol):
                self._stop(t, "cancelled")
