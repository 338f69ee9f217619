"""Which strategy a gateway request speaks for, and which orders are its own. A client's ``strategy``
is its client-id prefix: admitted on first sight unless it overlaps one already admitted — by this
process, or by an earlier gateway (the account's registry in the state store) — and then held to its
own orders: a place must carry its prefix, a cancel, amend or status must name one of its orders
(``cancel_all`` and ``kill`` act on the whole account by design)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from tickwire.gateway.state import Strategies
from tickwire.trading.client_ids import ClientIdFormat, ClientIds
from tickwire.trading.codes import invalid_order
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.gateway")


class Admission:
    """The strategies one account's gateway admitted (``strategies``), by their ids."""

    def __init__(self, venue: str, account: str, fmt: ClientIdFormat) -> None:
        self.venue, self.account, self.format = venue, account, fmt
        self.strategies: dict[str, ClientIds] = {}
        self.registry: Strategies | None = None  # the strategies admitted, kept past this process
        # When each strategy's stamp in the registry is due again (monotonic), and the task renewing it.
        self._stamp_due: dict[str, float] = {}
        self._stamping: set[asyncio.Task[None]] = set()

    def _overlaps(self, strategy: str) -> Callable[[str], bool]:
        """Whether another strategy's ids would carry this one's prefix, or this one's the other's."""
        head = strategy + self.format.sep

        def overlaps(other: str) -> bool:
            o_head = other + self.format.sep
            return head.startswith(o_head) or o_head.startswith(head)

        return overlaps

    async def register(self, strategy: Any) -> ClientIds:
        """The strategy's ids, registered on first sight; refused when its prefix overlaps another's —
        one this process admitted, or one the account's registry kept from an earlier gateway."""
        if not isinstance(strategy, str) or not strategy:
            raise invalid_order("a request names the client's strategy (its id prefix)", rule="client_id")
        ids = self.strategies.get(strategy)
        if ids is not None:
            if self.registry is not None and time.monotonic() >= self._stamp_due.get(strategy, 0.0):
                self._restamp(strategy)
            return ids
        ids = ClientIds(self.format, strategy)  # InvalidOrder: too long, or characters ids cannot hold
        overlaps = self._overlaps(strategy)
        clash = next((other for other in self.strategies if overlaps(other)), None)
        if clash is None and self.registry is not None:
            clash = await self._stamp(strategy)  # one an earlier gateway admitted
        if clash is not None:
            raise invalid_order(
                f"strategy {strategy!r} overlaps strategy {clash!r}: the ids of one would carry "
                "the other's prefix; choose a prefix neither begins",
                rule="client_id",
            )
        self.strategies[strategy] = ids
        return ids

    async def _stamp(self, strategy: str) -> str | None:
        """Records ``strategy`` in the registry, seen now: the live other strategy it overlaps there
        (nothing recorded), else None — also when the store was not reached (said; this process's
        own check stands). The next stamp is due a seventh of the time a name lapses in after it, a
        minute after the store was not reached."""
        registry = self.registry
        assert registry is not None
        try:
            await registry.admit(strategy, self._overlaps(strategy))
        except ValueError as e:
            return str(e.args[0])
        except Exception as e:
            log.warning("%s/%s: strategy registry not reached (%s)", self.venue, self.account, e)
            self._stamp_due[strategy] = time.monotonic() + 60.0
            return None
        self._stamp_due[strategy] = time.monotonic() + registry.KEEP_S / 7
        return None

    def _restamp(self, strategy: str) -> None:
        """A strategy this gateway serves is stamped again in the registry while it is served, off
        the request's path: a name is kept there only ``KEEP_S`` after its last stamp, and before
        2026-12-07 a gateway stamped it only on first sight — a strategy served longer than that by
        one gateway lapsed while still running, and after a restart one overlapping it was admitted."""
        self._stamp_due[strategy] = float("inf")  # one stamp at a time

        async def stamp() -> None:
            clash = await self._stamp(strategy)
            if clash is not None:  # cannot be, while this name was kept live: said, and kept serving
                log.warning("%s/%s: strategy %r overlaps %r in the registry", self.venue, self.account,
                            strategy, clash)  # fmt: skip
                assert self.registry is not None
                self._stamp_due[strategy] = time.monotonic() + self.registry.KEEP_S / 7

        task = asyncio.get_running_loop().create_task(stamp())
        self._stamping.add(task)
        task.add_done_callback(self._stamping.discard)

    async def close(self) -> None:
        """Ends the registry stamps under way (the gateway closes): a stamp is best effort (the next
        gateway stamps on first sight), and one left running would meet the store's connection
        closing, or stamp a name for a gateway no longer serving it."""
        tasks = list(self._stamping)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def own_id(self, ids: ClientIds, req: dict[str, Any]) -> str:
        """The client id a place names, refused unless it carries the requesting strategy's prefix."""
        cid = ids.check(req.get("client_id"))  # type: ignore[arg-type]
        if not ids.has_prefix(cid):
            strategy = ids.prefix
            raise invalid_order(
                f"client id {cid!r} lacks strategy {strategy!r}'s prefix {strategy}{self.format.sep!s}",
                rule="client_id",
            )
        return cid

    async def mine(self, req: dict[str, Any], tracker: OrderTracker) -> dict[str, Any]:
        """The order a request names, as ``client_id``/``order_id`` keywords, once it is known to be
        the requesting strategy's: by its client id's prefix, or for an order id by the tracked
        order's. Another strategy's order (or one this gateway does not track, named by order id
        alone) is refused — a client's bug must not cancel or amend what another runs."""
        strategy = req.get("strategy")
        ids = await self.register(strategy)
        cid, oid = req.get("client_id"), req.get("order_id")
        if oid:
            # The venue may go by the order id when both are named (Binance does): it must be the
            # same order's.
            tracked = tracker.by_order_id(str(oid))
            if tracked is not None:
                cid = tracked.client_id if not cid or cid == tracked.client_id else None
            elif cid:
                # Not tracked here (it ended before this gateway started: a restart, a failover):
                # the order id cannot be told the strategy's, its client id can — the venue is asked
                # by that alone. Before, the strategy's own order, named by both ids as its place
                # returned them, was refused as another's (``tests/gateway/test_admission.py``).
                oid = None
            else:
                cid = None
        if not isinstance(cid, str) or not ids.has_prefix(cid):
            raise invalid_order(
                f"order {req.get('client_id') or req.get('order_id')!r} is not one of strategy "
                f"{strategy!r}'s (its client ids begin {strategy}{self.format.sep!s})",
                rule="client_id",
            )
        return {"client_id": req.get("client_id"), "order_id": oid}
