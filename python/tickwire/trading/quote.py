"""Quote rules: an order template fired from the market session's frame route, in Rust.

    tmpl = tr.template("BTCUSDT", "buy", post_only=True)
    q = tmpl.quote(md, 100, reference="bid", offset_ticks=0)   # join the best bid with 100 lots
    ...
    q.stop()

While a rule is loaded, the frame that changes its symbol's book is decoded and applied, the price
read from the book's touch (``reference`` ± ``offset_ticks``), the template filled, checked, signed and
written — all inside that frame's one Python→Rust call, before ``on_book`` runs. The order then goes
on exactly as :meth:`OrderTemplate.send`'s: tracked under its client id right after the write (in the
same step of the event loop, before any answer can be read), the rate budget taken in Rust before it
is written, its answer applied and a lost one reconciled, never resent.

What was chosen, and why:

- **One order in flight per rule.** A rule is loaded with one write (where it goes: the order socket
  when up, else an idle kept-alive connection taken for it) and loads the next as soon as the
  previous order's answer is read (or, without one, once the order was reconciled). A rule firing
  on every tick could otherwise outrun the venue's answers.
- **``when="change"``** (the default) sends only when the price differs from the last order's;
  ``"every"`` sends on every update of the book (the bench's rule).
- **A tick the budget has no room for sends nothing** (the rule stays loaded): a quote sent late is a
  stale quote; ``send`` waits instead.
- **The book must be in sync**: nothing fires on a book awaiting its snapshot or resync.
- **The kill switch stops every rule** of the session at once, before its cancels go out; a key
  rotation pauses them and loads them again with the new key's bytes.
- **A refusal before the write** (a price off the instrument's rules, a book price with more decimals
  than the order's) stops the rule: ``error`` holds it, and it is logged. A write that raises sent
  nothing: its connection is dropped and another write loaded (the rule stops after three in a
  row). A loaded connection the venue closed meanwhile is replaced within ``WATCH_S``.

What a rule does not do is decide anything else: sizing, inventory and risk stay in Python, where
``on_book`` may ``stop()`` a rule or arm another. The rule costs the frame's decode and apply, one
comparison and the template's fill (the ~5 µs of the Python ``on_book`` path is what it saves).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

from tickwire import _core
from tickwire.errors import InvalidOrder, NotSupported
from tickwire.trading.template_forms import rule_ints

if TYPE_CHECKING:
    from tickwire.trading.orders import Order
    from tickwire.trading.template import Dest, OrderTemplate

__all__ = ["Quote"]

log = logging.getLogger("tickwire.trading")

# Between two tries to find where the next order goes (no idle connection, the socket reconnecting).
RETRY_S = 0.01
# How often a loaded write's connection is checked (the venue may close an idle one): a closed one is
# replaced before a tick finds it.
WATCH_S = 0.25
# Writes that raise in a row before the rule stops.
WRITE_FAILURES = 3


class Quote:
    """A quote rule armed on ``md``'s frame route for ``template``'s symbol (``tmpl.quote(md, ...)``).
    ``qty`` is a mantissa at the template's ``qty_scale``."""

    def __init__(
        self,
        template: OrderTemplate,
        md: Any,
        qty: int,
        *,
        reference: Literal["bid", "ask"] = "bid",
        offset_ticks: int = 0,
        when: Literal["change", "every"] = "change",
    ) -> None:
        s = template.session
        if not template.one_call:
            raise NotSupported(f"{s.venue}: quote rules need a template that spells its own client ids")
        if template.type != "limit":
            raise NotSupported("a quote rule prices its orders: limit templates only")
        if not isinstance(getattr(md, "quote_rules", None), _core.QuoteRules):
            raise NotSupported(
                "quote rules are armed on a market-data session (tickwire.connect) on this event loop"
            )
        if md.venue != s.venue:
            raise InvalidOrder(f"quote rule: market data of {md.venue!r} for an order on {s.venue!r}")
        if type(qty) is not int or type(offset_ticks) is not int:
            raise InvalidOrder("quote rule: qty and offset_ticks are ints (qty a mantissa at qty_scale)")
        ps, qs = template.price_scale, template.qty_scale
        ints = rule_ints(template.rules, ps, qs, False)
        tick, lot = ints["tick"] or 1, ints["lot"] or 1
        if qty <= 0 or qty % lot or qty < ints["min_qty"] or (ints["max_qty"] and qty > ints["max_qty"]):
            # The quantity's rules now, not on the first tick.
            raise InvalidOrder(
                f"quote rule: qty {qty} breaks {template.symbol}'s lot or bounds (at qty_scale {qs})"
            )
        self.template, self.md, self.qty = template, md, qty
        self.rule = _core.QuoteRule(
            template.symbol, reference=reference, offset=offset_ticks * tick, qty=qty, when=when,
            price_scale=ps, on_sent=self._sent, on_error=self._failed,
        )  # fmt: skip
        # The task of the order in flight (None while none is), and of the last order written: it
        # ends as ``send``'s does, with the order as the venue answered it or reconciliation found it.
        self.in_flight: asyncio.Task[Order] | None = None
        self.last: asyncio.Task[Order] | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self._to: Dest | None = None
        self._waiting: asyncio.Task[None] | None = None
        self._write_failures = 0
        s.quotes.append(self)
        md.quote_rules.arm(self.rule)
        self.load()
        self._watch = asyncio.get_running_loop().create_task(self._keep())

    @property
    def sent(self) -> int:
        """Orders written by this rule."""
        return int(self.rule.sent)

    def load(self) -> None:
        """Loads the rule's next write, unless it has one, an order is in flight, or it is stopped;
        where nothing can take an order now, tries again shortly."""
        if self.stopped or self.rule.loaded or self.in_flight is not None or self._waiting is not None:
            return
        t = self.template
        if t.session.halted is not None:
            self.stop()
            return
        to = t.next_target()
        if to is None:
            self._waiting = asyncio.get_running_loop().create_task(self._wait())
            return
        self._to = to
        self.rule.load(to.form, t.stamp, to.rid, to.write, to.head, t.take)

    async def _wait(self) -> None:
        s = self.template.session
        try:
            if s.dead_man is not None:
                await s.dead_man.cover(self.template.symbol)
            http = s.wire.http
            if http is not None and http.idle_connections == 0:
                try:
                    await http.connect()
                except Exception:  # the venue unreachable: tried again below
                    log.debug("quote rule: no connection yet", exc_info=True)
            await asyncio.sleep(RETRY_S)
        finally:
            self._waiting = None
        self.load()

    async def _keep(self) -> None:
        """Replaces a loaded write whose connection closed (the venue's idle time-out, the order
        socket reconnected) before a tick writes into it."""
        while not self.stopped:
            await asyncio.sleep(WATCH_S)
            to = self._to
            if to is not None and self.rule.loaded and not self._usable(to):
                self.pause()
                self.load()

    def _usable(self, to: Dest) -> bool:
        if to.ws is not None:
            return (
                to.ws is self.template.session.orders_ws
                and to.ws.connected
                and getattr(to.write, "__self__", None) is to.ws.transport
            )
        return bool(to.conn is not None and to.conn.usable())

    def _sent(self, cid: str, data: bytes, price: int) -> None:
        """From Rust, right after the write: the order tracked, its answer awaited."""
        self._write_failures = 0
        to, self._to = self._to, None
        assert to is not None  # loaded with it
        task = self.template.after_write(to, price, self.qty, cid, data, self._answered)
        self.in_flight = self.last = task
        task.add_done_callback(self._ended)

    def _answered(self) -> None:
        """The venue's answer to the order in flight is read (applied right after): the next write
        is loaded at once, so the rule is ready for the next tick as early as it can be."""
        self.in_flight = None
        self.load()

    def _ended(self, task: asyncio.Task[Order]) -> None:
        """The order's task ended (after its answer was applied, or reconciled, or refused)."""
        if self.in_flight is task:
            self._answered()

    def _failed(self, exc: BaseException) -> None:
        """From Rust: the order could not be made (a refusal: the rule stops) or its write raised
        (nothing went out: the connection is dropped and the next write loaded, up to
        ``WRITE_FAILURES`` in a row)."""
        venue, symbol = self.template.session.venue, self.template.symbol
        if not isinstance(exc, InvalidOrder):
            self._write_failures += 1
            to, self._to = self._to, None
            if to is not None and to.conn is not None:
                to.conn.close()
            if self._write_failures < WRITE_FAILURES:
                log.warning("%s: quote rule on %s: write failed (%s); loading another", venue, symbol, exc)
                self.load()
                return
        self.error = exc
        log.error("%s: quote rule on %s stopped: %s", venue, symbol, exc)
        self.stop()

    def pause(self) -> None:
        """Takes the loaded write back (its connection returned); :meth:`load` resumes."""
        if self.rule.unload() and self._to is not None:
            self.template.give_back(self._to)
        self._to = None

    def stop(self) -> None:
        """Disarms the rule: nothing more is sent by it (an order in flight goes on to its answer)."""
        if self.stopped:
            return
        self.stopped = True
        self.md.quote_rules.disarm(self.rule)
        self.pause()
        if self._to is not None:  # failed with a target not yet given back
            self.template.give_back(self._to)
            self._to = None
        if self._waiting is not None:
            self._waiting.cancel()
        self._watch.cancel()
        quotes = self.template.session.quotes
        if self in quotes:
            quotes.remove(self)

    def __repr__(self) -> str:
        return f"Quote({self.rule!r}, stopped={self.stopped})"
