"""What a venue's order-entry grammar provides to a trading session: the REST calls for each operation
(method, path, parameters — the session signs and sends them) and readers that turn the venue's answers
into the tracker's normalized events, fills, balances and instrument rules. Each venue module
(``tickwire.venues.<name>``) declares one next to its signer and market-data adapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from tickwire.errors import TickwireError
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.rules import InstrumentRules

if TYPE_CHECKING:
    from tickwire.transport.http import HttpClient


@dataclass(frozen=True, slots=True)
class Call:
    """One REST request before signing: ``params`` keep their order (the venue signs them as sent)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    # A JSON body for venues that take one (OKX, Bybit POSTs), sent byte for byte as signed.
    body: str = ""
    signed: bool = True

    def with_param(self, name: str, value: str) -> Call:
        """This call with the query parameter ``name`` set (added last, or replaced in place): the
        next page of a listing."""
        return replace(self, params={**self.params, name: value})


class Page(list[Any]):
    """One answer's entries of a listing that venue pages, with ``more``: the venue's cursor for the
    next page (None on the last). A grammar's ``next_page(call, body)`` reads it."""

    __slots__ = ("more",)

    def __init__(self, items: Any, more: str | None = None) -> None:
        super().__init__(items)
        self.more = more


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class Position:
    """One open position on a margin venue. ``qty`` is signed: positive long, negative short."""

    symbol: str
    qty: Decimal
    entry_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    liquidation_price: Decimal | None = None


class OrderGrammar(Protocol):
    venue: str

    def new_order(self, order: Order) -> Call: ...

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call: ...

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        """The order's state. ``since_ms``: the order was created no earlier (Unix ms, the venue's
        clock), for a venue that finds an order by client id only in a listing of the product's
        orders (Coinbase), whose answer pages then like ``open_orders``'; the others ignore it."""
        ...

    def open_orders(self, symbol: str | None) -> Call:
        """The first page of the open orders. A venue that pages them also has
        ``next_page(call, body) -> Call | None``: the call for the page after ``body`` (None: the
        last), which :func:`tickwire.trading.account.every_page` follows."""
        ...

    def cancel_all(self, symbol: str) -> Call | None:
        """One call cancelling every open order of ``symbol``; None when the venue has none (then the
        session lists the open orders and sends ``cancel_orders``)."""
        ...

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        """Calls cancelling these orders, batched as the venue allows; each answer is one order or a
        list of them."""
        ...

    def fills(self, symbol: str, since_ms: int | None) -> Call: ...

    def balances(self) -> Call: ...

    def instruments(self) -> Call: ...

    def read_order(self, body: Any) -> list[OrderEvent]:
        """The order's state, then one event per execution the answer lists. An acknowledgement that
        states no status (OKX place/cancel) is one event with ``status`` None: the session then asks
        for the order's state with ``status``."""
        ...

    def read_fills(self, body: Any) -> list[Fill]: ...

    def read_balances(self, body: Any) -> dict[str, Balance]: ...

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]: ...

    # A margin venue's grammar also has ``positions() -> Call`` and ``read_positions(body) ->
    # dict[str, Position]`` (``TradingSession.positions``); a venue with a native amend has
    # ``amend(order, qty, price) -> Call`` whose answer ``read_order`` reads (``amend_order``). Both are
    # optional: their absence is ``NotSupported``. A venue that lists one order's executions has
    # ``order_fills(symbol, order_id) -> Call`` (answers ``read_fills`` reads, further pages named by
    # ``next_page``): reconciliation then reads every page of those instead of searching the symbol's
    # trades by time, whose page of the symbol's newest fills can be all other orders'. A listing
    # that runs oldest first says so (``order_fills_oldest_first``): it is then read to its end; a
    # ``fills`` search by time that runs newest first says so too (``fills_newest_first``): fills of
    # one millisecond are told to ``on_fill`` in the venue's order either way. One
    # that reaches back only so far names the listing that reaches further
    # (``order_fills_older(symbol, order_id) -> Call``), read too when the first ends short. A venue
    # with a batch place request has ``new_orders(orders) -> [(Call, the orders in it)]``, each
    # answer a list of one entry per order that ``read_order`` reads (``place_orders``).

    def read_answer(self, status: int, body: bytes) -> Any:
        """The decoded answer, or the venue's typed error raised (some venues answer errors with
        HTTP 200 and a code in the body)."""
        ...

    def not_found(self, error: TickwireError) -> bool:
        """True when ``error`` says the venue has no such order (reconciliation's "never placed")."""
        ...


class TokenHook(Protocol):
    """A venue whose signed requests also carry a session token (Clarofinlore's JWT): the wire makes
    it fresh before each request and logs in anew after a refusal for it (``trading.wire``)."""

    async def ensure(self, http: HttpClient) -> None:
        """Logs in or refreshes so that the token is valid for the next request."""
        ...

    def header(self) -> dict[str, str]: ...

    @property
    def token(self) -> str: ...

    def refused(self, status: int, body: bytes) -> bool:
        """True when the venue refused the request for its token (not for anything else)."""
        ...

    def forget(self, refused: str) -> None:
        """Drops ``refused`` (the token a request carried): the next ``ensure`` logs in anew. A token
        another request obtained meanwhile is kept."""
        ...
