"""HTX's per-UID, per-endpoint limits as the simulator keeps them (venues.md §6.1 names the headers; the
numbers are the spot docs' and unverified): placing and batch cancelling ``order_rate_limit`` (50) per
``rate_window`` (2 s), cancelling one order by id ``cancel_rate_limit`` (100), every other private call
``rest_rate_limit`` (100). Every private answer carries ``X-HB-RateLimit-Requests-Remain`` and
``-Expire`` (ms until the window ends); over a limit: HTTP 429, ``err-code`` ``too-many-requests``."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import TYPE_CHECKING

from tickwire.sim.http import Response, json_response
from tickwire.sim.limits import WeightLimiter

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext

_ORDERS = frozenset({"/v1/order/batch-orders", "/v1/order/orders/place", "/v1/order/orders/batchcancel"})
_ID = re.compile(r"/\d+(?=/|$)")  # order and account ids: one endpoint whatever the id


class HtxLimits:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.limiters: dict[tuple[str, str], WeightLimiter] = {}
        self.limit_refusals: Counter[tuple[str, str]] = Counter()  # (key, endpoint) -> refused

    def charge(self, key: str, method: str, path: str) -> tuple[Response | None, list[tuple[str, str]]]:
        """(the refusal when over the endpoint's limit, else None; the usage headers)."""
        endpoint = f"{method} {_ID.sub('/{id}', path)}"
        lim = self.limiters.get((key, endpoint))
        if lim is None:
            if path in _ORDERS:
                n = int(self.ctx.profile.get("order_rate_limit", 50))
            elif path.endswith("/submitcancel"):
                n = int(self.ctx.profile.get("cancel_rate_limit", 100))
            else:
                n = int(self.ctx.profile.get("rest_rate_limit", 100))
            lim = self.limiters[(key, endpoint)] = WeightLimiter(n, self.ctx.interval("rate_window"))
        now = time.monotonic()
        ok = lim.charge(now)[0] == "ok"
        headers = [
            ("X-HB-RateLimit-Requests-Remain", str(lim.remaining)),
            ("X-HB-RateLimit-Requests-Expire", str(max(0, int((lim.reset_at() - now) * 1000)))),
        ]
        if ok:
            return None, headers
        self.limit_refusals[(key, endpoint)] += 1
        body = {"status": "error", "err-code": "too-many-requests", "err-msg": "too many requests"}
        return json_response(body, 429, headers), headers
