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
  previous order's answer is read (or, without one, once the order was reconciled — where the venue
  bounds no request's life, once the queries found no trace: the order's verdict then waits the
  session's ``lost_order_wait_s``, the rule does not, as it never resends). A rule firing on every
  tick could otherwise outrun the venue's answers.
- **Updates that come while nothing is loaded are caught up** (an order in flight, the rule held,
  its connection being replaced): nothing is sent then; the load that follows prices the book *as
  it is then*, once, as if an update had just come (``when`` applies as to any update; an update
  already priced by such a catch-up is not priced again). Without it a quote would stay at an old
  price until the market moved again. The first load, when the rule is armed, waits for an update;
  an update the budget had no room for, or on a book out of sync, is not caught up.
- **``when="change"``** (the default) sends only when the price differs from the last order's;
  ``"every"`` sends on every update of the book (the bench's rule).
- **A tick the budget has no room for sends nothing** (the rule stays loaded): a quote sent late is a
  stale quote; ``send`` waits instead.
- **The book must be in sync**: nothing fires on a book awaiting its snapshot or resync.
- **The kill switch stops every rule** of the session at once, before its cancels go out; a key
  rotation holds them (nothing loaded, whatever answer comes in meanwhile) and loads them again with
  the new key's bytes. A venue refusal of a rule's order is not sent again later (its price is
  old): the remedy (a clock re-measured) is applied and the rate-limit block counted, and the next
  tick quotes anew.
- **A refusal before the write** (a price off the instrument's rules, a book price with more decimals
  than the order's) stops the rule: ``error`` holds it, and it is logged; its connection goes back to
  the pool. A write that raises sent nothing: another write is loaded (the rule stops after three in
  a row). A loaded connection the venue closed is replaced as soon as its close is read
  (``WATCH_S`` backs that); a tick that races the close writes into it, and that order is
  reconciled (not placed) at once, as ``send``'s would be.
- **The session's risk limits hold** (:mod:`tickwire.trading.risk`): the order a load may fire counts
  as open from the load, so a rule never passes ``max_open_orders`` or ``max_position`` (its per-order
  caps are in the template's rules, checked in Rust). Where the next order could pass one, nothing is
  loaded (``risk_held`` counts it) and the load is tried again every ``RETRY_S``; the first load after
  prices the book as it is then.

What a rule does not do is decide anything else: sizing, inventory and strategy risk stay in Python, where
``on_book`` may ``stop()`` a rule or arm another. A rule sends new orders and never cancels or
replaces the previous one: with GTC orders each new price leaves the last order resting. A loaded
rule holds one kept-alive connection (the session keeps one idle): other REST requests meanwhile
open another.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

from tickwire import _core
from tickwire.errors import (
    InternalError,
    InvalidOrder,
    MarketClosed,
    NotSupported,
    RiskLimitExceeded,
    TickwireError,
)
from tickwire.trading.codes import invalid_order
from tickwire.trading.numbers import from_mantissa
from tickwire.trading.template_forms import rule_ints

if TYPE_CHECKING:
    from tickwire.trading.orders import Order
    from tickwire.trading.template import OrderTemplate
    from tickwire.trading.template_write import Dest

__all__ = ["Quote"]

log = logging.getLogger("tickwire.trading")

# Between two tries to find where the next order goes (no idle connection, the socket reconnecting).
RETRY_S = 0.01
CLOSED_RETRY_S = 0.5  # a rule on a closed market: looked at again (its rules re-read every few seconds)
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
        if not isinstance(getattr(md, "quote_rules", None), _core.QuoteRules) or md.reader_lock is not None:
            # A threaded handle's session runs on its own thread's loop, not this one.
            raise NotSupported(
                "quote rules are armed on a market-data session (tickwire.connect) on this event loop"
            )
        if md.venue != s.venue:
            raise InvalidOrder(f"quote rule: market data of {md.venue!r} for an order on {s.venue!r}")
        if type(qty) is not int or type(offset_ticks) is not int:
            raise InvalidOrder("quote rule: qty and offset_ticks are ints (qty a mantissa at qty_scale)")
        if reference not in ("bid", "ask") or when not in ("change", "every"):
            # Typed, as every other bad argument here: the core's would be a bare ValueError/TypeError.
            raise InvalidOrder(
                f"quote rule: reference is 'bid' or 'ask' and when 'change' or 'every', "
                f"not {reference!r} and {when!r}"
            )
        s.refuse_if_halted("quote rule")
        ps, qs = template.price_scale, template.qty_scale
        ints = rule_ints(template.rules, ps, qs, False)
        tick, lot = ints["tick"] or 1, ints["lot"] or 1
        if not -(2**63) <= offset_ticks * tick < 2**63:
            # The core holds the offset as an i64 mantissa: past it, a bare OverflowError.
            raise invalid_order(f"quote rule: offset_ticks {offset_ticks} is past any price", rule="price")
        # The quantity's rules now, not on the first tick.
        most = ints["max_qty"]
        broke = (
            "qty" if qty <= 0 else "lot_size" if qty % lot else "min_qty" if qty < ints["min_qty"]
            else "max_qty" if most and qty > most else None
        )  # fmt: skip
        if broke is not None:
            what = f"quote rule: qty {qty} breaks {template.symbol}'s lot or bounds (at qty_scale {qs})"
            e = invalid_order(what, rule=broke)
            # On a grid the venue may have changed (a finer lot, a lower minimum): the list read
            # again, as a send's refusal does — not for the user's own max_order_qty folded in.
            if template.venue_grid_refused(e):
                s.rules_recheck.soon()
            raise e
        self.template, self.md, self.qty = template, md, qty
        self._qty_dec = from_mantissa(qty, qs)  # what each load reserves against the risk limits
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
        # Who holds the rule paused (the user's ``pause()``: None; a key rotation): nothing loaded
        # until each let go (``resume``) — a rotation's end never lets go of the user's hold.
        self._holds: set[object] = set()
        self.risk_held = 0  # loads put off because the next order could pass a risk limit
        self._to: Dest | None = None
        self._waiting: asyncio.Task[None] | None = None
        self._holding = False  # ``_waiting`` is the hold after the venue's MarketClosed
        self._write_failures = 0
        self._watch = asyncio.get_running_loop().create_task(self._keep())
        s.quotes.append(self)
        md.quote_rules.arm(self.rule)
        self.load()

    @property
    def sent(self) -> int:
        """Orders written by this rule."""
        return int(self.rule.sent)

    def load(self) -> None:
        """Loads the rule's next write, unless it has one, an order is in flight, or it is stopped or
        held; where nothing can take an order now, tries again shortly. What goes wrong in choosing
        where stops the rule (``error``)."""
        if self.stopped or self.held or self.rule.loaded or self.in_flight or self._waiting:
            return
        t = self.template
        s = t.session
        if s.halted is not None:
            self.stop()
            return
        if s.risk.active:
            # The order this load may fire counts as open from now until it is tracked or unloaded;
            # past a limit nothing is loaded, and the load is tried again shortly.
            try:
                s.risk.reserve(self, t.symbol, t.side, self._qty_dec)
            except RiskLimitExceeded:
                self.risk_held += 1
                self._waiting = asyncio.get_running_loop().create_task(self._wait())
                return
        try:
            to = t.next_target()
        except Exception as e:
            self._stop_with(e)
            return
        if to is None:
            s.risk.release(self)
            if not t.rules.trading:  # the market closed: its rules read again now and then
                s.rules_recheck.soon()
            self._waiting = asyncio.get_running_loop().create_task(self._wait())
            return
        self._to = to
        if not to.form.ids_left:  # a rule fires only with a client id left to spell its order
            t.give_ids(to.form)
        if to.conn is not None:
            to.conn.on_lost = self._lost
        self.rule.load(to.form, t.stamp, to.rid, to.write, to.head, t.take)
        if self.rule.missed:
            self._catch_up()

    def _catch_up(self) -> None:
        """An update of the book went by while nothing was loaded: the book as it is now is priced
        at once (what the rule's callbacks raise is logged, as the frame route reports it: the
        caller here is the previous order's answer, which must still be applied)."""
        try:
            self.rule.catch_up()
        except Exception as e:
            if e is not self.error:  # not already logged as what stopped the rule
                venue, symbol = self.template.session.venue, self.template.symbol
                log.exception("%s: quote rule on %s: catching up", venue, symbol)

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
            await asyncio.sleep(RETRY_S if self.template.rules.trading else CLOSED_RETRY_S)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._waiting = None
            self._stop_with(e)
            return
        self._waiting = None
        self.load()

    async def _keep(self) -> None:
        """Backs the close hook: replaces a loaded write whose destination went (the order socket
        reconnected, a connection closed unseen) before a tick writes into it."""
        while not self.stopped:
            await asyncio.sleep(WATCH_S)
            to = self._to
            if to is not None and self.rule.loaded and not self._usable(to):
                self._unload()
                self.load()

    def _usable(self, to: Dest) -> bool:
        if to.ws is not None:
            return (
                to.ws is self.template.session.orders_ws
                and to.ws.connected
                and getattr(to.write, "__self__", None) is to.ws.transport
            )
        return bool(to.conn is not None and to.conn.usable())

    def _lost(self) -> None:
        """The loaded connection ended (the venue's idle time-out): another is loaded at once."""
        if self.rule.loaded and self._to is not None:
            self._unload()
            self.load()

    def _sent(self, cid: str, data: bytes, price: int) -> None:
        """From Rust, right after the write: the order tracked, its answer awaited."""
        self._write_failures = 0
        self.template.session.risk.release(self)  # counted as the tracked order from here
        to, self._to = self._to, None
        assert to is not None  # loaded with it
        if to.conn is not None:
            to.conn.on_lost = None
        try:
            task = self.template.after_write(to, price, self.qty, cid, data, self._answered, resend=False)
        except Exception as e:  # not even tracked: the rule stops rather than quote blind
            self._stop_with(e)
            raise
        self.in_flight = self.last = task
        task.add_done_callback(self._ended)

    def _answered(self) -> None:
        """The venue's answer to the order in flight is read (applied right after): the next write
        is loaded at once, so the rule is ready for the next tick as early as it can be."""
        self.in_flight = None
        self.load()

    def _ended(self, task: asyncio.Task[Order]) -> None:
        """The order's task ended (after its answer was applied, or reconciled, or refused). What it
        raised besides an outcome (a refusal, not placed: the tracker has those) is a fault (a bug,
        the core's ``InternalError``) no one awaiting the task would see (``send``'s caller would):
        logged, and the rule stopped."""
        e = None if task.cancelled() else task.exception()
        if e is not None and (isinstance(e, InternalError) or not isinstance(e, TickwireError)):
            venue, symbol = self.template.session.venue, self.template.symbol
            log.error("%s: quote rule on %s: its order's task raised", venue, symbol, exc_info=e)
            self._stop_with(e)
        if isinstance(e, MarketClosed) and not self.stopped:
            # The venue refused it for a closed market while the rules said it trades (the list is
            # being read again: ``rules_recheck``): nothing more is fired into that market for
            # ``CLOSED_RETRY_S``, not one refused order per tick until the list says so. Held before
            # ``_answered`` loads: that load would price the frames that went by during the round
            # trip at once (``catch_up``), a second refused order out before the hold began. A
            # shorter wait already set (``_wait``: no connection, a risk limit) gives way to it.
            self._unload()
            if not self._holding:
                if self._waiting is not None:
                    self._waiting.cancel()
                self._holding = True
                self._waiting = asyncio.get_running_loop().create_task(self._hold(CLOSED_RETRY_S))
        if self.in_flight is task:
            self._answered()

    async def _hold(self, seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
        finally:
            self._waiting = None
            self._holding = False
        self.load()

    def _failed(self, exc: BaseException) -> None:
        """From Rust: the order could not be made (a refusal: the rule stops) or its write raised.
        A write that raised may have sent part or all of the order: it is tracked and reconciled
        (``after_raised``) and the rule waits for that as for an answer; then another write is loaded,
        up to ``WRITE_FAILURES`` failures in a row. Where nothing was written the destination goes
        back as it was."""
        s = self.template.session
        s.risk.release(self)  # tracked by after_raised if it may have gone
        to, self._to = self._to, None
        refused = isinstance(exc, InvalidOrder)
        # Refused by a grid rule, or the book priced finer than the order's scale (the frame route's
        # refusal names no rule): the venue may have made its grid finer — read the list again, as
        # a send's or a place's refusal here does (else a rule armed again is refused for good).
        if refused and (self.template.venue_grid_refused(exc) or getattr(exc, "rule", None) is None):
            s.rules_recheck.soon()
        if to is not None:
            if to.conn is not None:
                to.conn.on_lost = None
            if refused or not isinstance(exc, Exception):
                self.template.give_back(to, unwritten=refused)
            else:
                task = self.template.after_raised(to, exc)
                if task is not None:  # never written again: what the venue made of it decides
                    self.in_flight = self.last = task
                    task.add_done_callback(self._ended)
        if not refused:
            self._write_failures += 1
            if self._write_failures < WRITE_FAILURES:
                venue, symbol = self.template.session.venue, self.template.symbol
                log.warning("%s: quote rule on %s: write failed (%s); loading another", venue, symbol, exc)
                self.load()
                return
        self._stop_with(exc)

    def _stop_with(self, exc: BaseException) -> None:
        self.error = exc
        log.error("%s: quote rule on %s stopped: %s", self.template.session.venue, self.template.symbol, exc)
        self.stop()

    def _unload(self) -> None:
        """Takes the loaded write back, its connection returned to the pool."""
        self.template.session.risk.release(self)
        to, self._to = self._to, None
        if to is not None and to.conn is not None:
            to.conn.on_lost = None
        if self.rule.unload() and to is not None:
            self.template.give_back(to, unwritten=True)

    @property
    def held(self) -> bool:
        """Paused (:meth:`pause`, or a key rotation under way): nothing loaded."""
        return bool(self._holds)

    def pause(self, by: object = None) -> None:
        """Takes the loaded write back and holds the rule (nothing loaded, so nothing sent) until
        :meth:`resume`: a key rotation does (``by`` its own key), so no order goes out mid-rotation.
        Holds by different ``by`` are let go separately: a rotation's end leaves a rule the user
        paused paused."""
        self._holds.add(by)
        self._unload()

    def resume(self, by: object = None) -> None:
        self._holds.discard(by)
        self.load()

    def reload(self) -> None:
        """The session's rules were fetched anew (``load_rules``): the loaded write is taken back and
        loaded again, its forms rebuilt for the new rules (or the rule stopped where they refuse the
        template). Left loaded, the next tick would write an order checked by the old ones."""
        if self.rule.loaded:
            self._unload()
            self.load()

    def stop(self) -> None:
        """Disarms the rule: nothing more is sent by it (an order in flight goes on to its answer)."""
        if self.stopped:
            return
        self.stopped = True
        self.md.quote_rules.disarm(self.rule)
        self._unload()
        if self._waiting is not None:
            self._waiting.cancel()
        self._watch.cancel()
        quotes = self.template.session.quotes
        if self in quotes:
            quotes.remove(self)

    def __repr__(self) -> str:
        return f"Quote({self.rule!r}, stopped={self.stopped})"
