"""The one-call order path of an order template (``Writing``, the part of
:class:`tickwire.trading.template.OrderTemplate` that writes): where the next order goes, the fill,
signature and write in one Rust call, and what follows the write — the order tracked in the same step,
its answer awaited in a task (``Answering``), a write that raised reconciled. ``send`` and a quote rule
fired from the frame route (``trading/quote.py``) both go through it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from picows import WSMsgType

from tickwire import _core
from tickwire.errors import InvalidOrder, TransportError
from tickwire.trading.orders import Order
from tickwire.trading.place import register
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.template_answer import Answering, retrieved
from tickwire.trading.template_numbers import Scaled
from tickwire.transport.http_conn import write_failed

if TYPE_CHECKING:
    from tickwire.trading.order_socket import OrderSocket
    from tickwire.trading.session import TradingSession

__all__ = ["IDS_AT_ONCE", "Dest", "Writing"]

# Client ids a form is given at a time to spell itself (``ClientIds.reserve``).
IDS_AT_ONCE = 256
# REST destinations kept (one per kept-alive connection the template wrote on; a pool holds a few).
_DESTS_KEPT = 16


class Writing(Answering):
    """The write half of an order template (its answer half, ``Answering``, below it); the attributes
    below are the template's."""

    stamp: Any
    take: Any
    written_ns: int
    _fast: bool
    _signer: Any
    _clock_fn: Any
    _rules_map: Any
    _numbers: Scaled
    rules: InstrumentRules
    _rest: _core.OrderTemplate | None
    _ws: _core.OrderTemplate | None
    # Per form, the client ids left of the range it was given (``give_ids``), counted here as orders
    # spend them (``spent``): reading the form's ``ids_left`` after each write was a second Rust call
    # per order.
    _ids_left: dict[_core.OrderTemplate, int]
    _rest_dests: dict[Any, Dest]  # by kept-alive connection: where the REST form writes on it

    if TYPE_CHECKING:

        def _refresh_rules(self) -> None: ...

        def _build(self) -> None: ...

        def _stamps(self, signer: Any) -> None: ...

        def order(self, price: int, qty: int, client_id: str) -> Order: ...

    def _fire(self, s: TradingSession, p: int, q: int) -> asyncio.Task[Order] | None:
        """:meth:`send` in one Rust call where nothing needs Python first (the form's client id, the
        rate budget, the fill, the signature, the write: ``OrderTemplate.fire``); None, nothing written,
        when something does (no form for where the order goes now, no idle connection, the budget has
        to wait, the dead-man switch is not armed on the symbol yet, the key was rotated): ``send``
        goes its way then."""
        if s.signer is not self._signer:
            return None
        to = self.next_target()
        if to is None:
            return None
        form = to.form
        try:
            got = form.fire(p, q, self.stamp, to.rid, to.write, to.head, self.take)
            if got is None and not form.ids_left:
                self.give_ids(form)
                got = form.fire(p, q, self.stamp, to.rid, to.write, to.head, self.take)
        except (InvalidOrder, OverflowError):  # OverflowError: a negative or huge int
            self.give_back(to, unwritten=True)
            self._numbers.explain(p, q)
            raise
        except Exception as e:
            task = self.after_raised(to, e)
            if task is None:
                raise
            return task
        if got is None:  # the budget has to wait
            self.give_back(to, unwritten=True)
            return None
        cid, data = got
        return self.after_write(to, p, q, cid, data)

    # The one-call order path in two halves, for ``send`` and for a quote rule fired from the frame
    # route (``trading/quote.py``): where the next order goes, then what follows its write.

    @property
    def one_call(self) -> bool:
        """Whether the forms spell their own client ids (not for requests that carry a token renewed
        under them: Kraken, Tradefence, Clarofinlore)."""
        return self._fast

    def next_target(self) -> Dest | None:
        """Where an order written now goes (the order socket when it is up, else an idle kept-alive
        connection, taken out of the pool until :meth:`after_write` or :meth:`give_back`); None when
        nothing can take it at once (no form for it, no idle connection, the dead-man switch not
        armed on the symbol yet). Forms for a rotated key are rebuilt first."""
        s = self.session
        if s.rules is not self._rules_map:
            self._refresh_rules()  # rebuilds the forms only where the symbol's rules changed
        if s.signer is not self._signer:  # a rotation, with or without a refresh beside it
            self._build()
        if not self.rules.trading or not (s.dead_man is None or s.dead_man.covers(self.symbol)):
            return None
        if s.signer.clock is not self._clock_fn:  # a venue clock installed since
            self._stamps(s.signer)
        ws, http = s.orders_ws, s.wire.http
        if ws is not None and ws.connected:
            t = ws.transport
            if self._ws is None or t is None:
                return None
            return Dest(self._ws, ws, ws.next_id(), t.send, WSMsgType.TEXT, None)
        if self._rest is None or http is None or (ws is not None and s.transport == "ws"):
            return None
        conn = http.idle()
        if conn is None:
            return None
        # One per kept-alive connection, made at its first order (the forms' build empties them):
        # building the tuple and the bound write each time was a quarter of this call's time.
        to = self._rest_dests.get(conn)
        if to is None:
            if len(self._rest_dests) >= _DESTS_KEPT:  # connections replaced over a long session
                self._rest_dests.clear()
            assert conn.transport is not None  # usable
            to = self._rest_dests[conn] = Dest(self._rest, None, "", conn.transport.write, None, conn)
        return to

    def give_back(self, to: Dest, *, unwritten: bool) -> None:
        """``to`` unused: its connection back in the pool, and its request id to the order socket when
        nothing was written with it (``unwritten``; a write that raised may have sent part of it)."""
        http = self.session.wire.http
        if to.conn is not None and http is not None:
            http.keep(to.conn)
        if unwritten and to.ws is not None:
            to.ws.give_back(to.rid)

    def after_raised(self, to: Dest, exc: Exception) -> asyncio.Task[Order] | None:
        """The one-call write to ``to`` raised ``exc``. When the form had made the order's bytes (it
        kept the order, :meth:`OrderTemplate.take_raised`), part or all of them may have gone out: the
        order is tracked and reconciled in the returned task — found, or proved absent and settled as
        rejected (its task then raises ``TransportError``) — and never written again; its connection
        is closed. None when the raise came before any bytes were made: ``to`` is given back."""
        raised = to.form.take_raised()
        if raised is None:
            self.give_back(to, unwritten=True)
            return None
        cid, p, q = raised
        self.spent(to.form)  # the write spent one of the form's ids: more after its last, or it fires no more
        if to.conn is not None:
            to.conn.abort()  # a write cut short leaves the stream in no known state
        return self._unsure(self._track(p, q, cid, to.ws is not None), write_failed(exc))

    def give_ids(self, form: _core.OrderTemplate) -> None:
        """A range of client ids for ``form`` to spell (``ClientIds.reserve``), its size kept here."""
        stem, first, end = self.session.client_ids.reserve(IDS_AT_ONCE)
        form.give_ids(stem, first, end)
        self._ids_left[form] = end - first

    def spent(self, form: _core.OrderTemplate) -> None:
        """An order written by ``form`` spent one of its client ids: after the last one, more at once
        (a quote rule loaded on the form fires only with an id left; the next ``send`` does not wait for
        them). Counted, not asked of the form: the write's one Rust call stays the order's only one. A
        form not counted here (built before a rebuild of the forms) is given a new range."""
        left = self._ids_left.get(form, 0) - 1
        if left > 0:
            self._ids_left[form] = left
        else:
            self.give_ids(form)

    def _unsure(self, order: Order, e: Exception) -> asyncio.Task[Order]:
        """``order``, tracked, whose bytes may have gone out without an answer to await: reconciled."""
        task = asyncio.get_running_loop().create_task(self._resolve(order, str(e)))
        self.session.reconciler.settled_by(order.client_id, task)
        task.add_done_callback(retrieved)
        return task

    async def _resolve(self, order: Order, why: str) -> Order:
        # As a call's: cancelled by its caller mid-way, the order is settled all the same (``orphaned``).
        reconciler = self.session.reconciler
        with reconciler.call(order.client_id):
            return await reconciler.resolve(order, why)

    def after_write(
        self,
        to: Dest,
        p: int,
        q: int,
        cid: str,
        data: bytes,
        answered: Callable[[], None] | None = None,
        resend: bool = True,
    ) -> asyncio.Task[Order]:
        """The order ``cid`` at mantissas ``p``/``q``, just written as ``data`` to ``to``: tracked now,
        its answer awaited (``answered()`` once it is read; a lost one reconciled) in the returned
        task (``resend``: see ``_complete``)."""
        self.written_ns = time.monotonic_ns()
        s, ws = self.session, to.ws
        loop = asyncio.get_running_loop()
        order = self._track(p, q, cid, ws is not None)
        self.spent(to.form)
        if ws is not None and not _live(ws, to.write):
            # Written into an order socket already lost (a quote rule loaded with its transport
            # before the loss was seen, a send in the step of the loss): no answer can come on it,
            # and one awaited on the socket would wait out its time-out and then cut the socket that
            # replaced it. Reconciled at once, as a REST connection closed under its write is
            # (``Conn.expect``) — over REST: a socket lost but not seen so yet is taken as down from
            # this step on (as its time-out would), or the reconciliation's queries would go into it.
            if getattr(to.write, "__self__", None) is ws.transport:
                ws.connected = False
            return self._unsure(order, TransportError(f"{s.venue}: order socket lost before the write"))
        try:
            written: Any = ws.expect(to.rid) if ws is not None else s.wire.http.written(to.conn)  # type: ignore[union-attr]
        except Exception as e:  # the bytes are out and their answer cannot be read: the venue decides
            return self._unsure(order, TransportError(f"answer not awaited: {e}"))
        task = loop.create_task(
            self._complete(p, q, cid, ws, to.rid, data, written, order, True, answered, resend)
        )
        s.reconciler.settled_by(cid, task)  # written: settled even if its task never runs
        if ws is not None:
            ws.awaited_by(to.rid, written, task)
        task.add_done_callback(retrieved)
        return task

    def _track(self, p: int, q: int, cid: str, on_socket: bool) -> Order:
        """Registers the order just written (or about to be settled by reconciliation) as
        ``place_order`` registers its own (:func:`tickwire.trading.place.register`)."""
        order = self.order(p, q, cid)
        register(self.session, order, "ws" if on_socket else "rest")
        return order


class Dest(NamedTuple):
    """Where one order is written: its form, the order socket (None: REST) and request id, the
    write and its first argument (``head``), the HTTP connection taken for it."""

    form: _core.OrderTemplate
    ws: OrderSocket | None
    rid: str
    write: Callable[..., object]
    head: Any
    conn: Any


def _live(ws: OrderSocket, write: Callable[..., object]) -> bool:
    """Whether ``write`` (a picows transport's ``send``) wrote on ``ws``'s connection as it is now: not
    lost under it (its loop not woken yet), not replaced by a reconnect. (One the venue said it will
    close, ``venue_closing``, still carries requests and their answers.)"""
    t: Any = getattr(write, "__self__", None)
    if t is None or t is not ws.transport:
        return False
    under = getattr(t, "underlying_transport", None)
    return not (getattr(t, "is_disconnected", False) or (under is not None and under.is_closing()))
