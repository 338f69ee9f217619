"""``tickwire.trade(venue, ...)``: the trading session of a venue whose module declares an ``Orders``
grammar, with its signer, endpoint and transport chosen."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tickwire._core import OrderBook
from tickwire.audit import AuditLog
from tickwire.errors import NotSupported
from tickwire.streams import Endpoint
from tickwire.trading.session import TradingSession


def trade(
    venue: str,
    *,
    credentials: Any = None,
    endpoints: Sequence[Endpoint | Mapping[str, Any]] | None = None,
    transport: str = "rest",
    **options: Any,
) -> TradingSession:
    """A trading session on one venue account: ``async with tickwire.trade(...) as tr``.

    ``credentials``: the venue's ``Signer`` (default: ``Signer.from_env()``). ``endpoints``: the same
    shape as :func:`tickwire.connect`'s (the first with a REST URL is used; the venue's production
    host by default). ``transport``: ``"rest"``, ``"ws"`` (the venue's order socket; requests it has no
    form for still go over REST) or ``"auto"`` (the socket while it is up, REST while it is down).
    Other options are :class:`TradingSession`'s (``strategy`` — the client-id
    prefix that keeps several scripts on one key apart —, ``adopt`` — whether the orders an earlier
    run of that strategy left open are tracked again, on when ``strategy`` is named —, ``risk`` — the
    pre-trade limits of :mod:`tickwire.trading.risk`, a ``RiskLimits`` or one per symbol —,
    ``on_order``, ``on_fill``, ``timeout``, ``audit``, ``rest_connections`` — the kept-alive REST
    connections kept open, 2 by default —, ``lost_order_wait_s`` — how long after a lost order's
    answer the session waits before calling it "not placed" where the venue bounds no request's
    life, 5.0 by default; where it does, its own bound is waited —, ``rules_refresh_s`` — the venue's
    instrument rules read again this long after the last read, 1,800 by default, None or 0 never; they
    are also read again at a refusal that says they moved —, ``open_audit_s`` — the venue's open
    orders listed this often while the private stream is up, and each order open here that the list
    does not name asked about: its last word was lost; 60 by default, None or 0 never)."""
    from tickwire.venues import adapter_class

    adapter = adapter_class(venue)
    # The venue's module (or package: tickwire.venues.binance) holds its Signer and Orders grammar.
    module = importlib.import_module(".".join(adapter.__module__.split(".")[:3]))
    # A package serving several venues (Binance spot and USDⓈ-M) names each one's grammar.
    grammars = getattr(module, "ORDER_GRAMMARS", None)
    grammar_cls = grammars.get(adapter.venue) if grammars else getattr(module, "Orders", None)
    if grammar_cls is None or grammar_cls.venue != adapter.venue:
        # A venue whose documents leave order entry out says what is missing (Cloud9Trader).
        why = getattr(module, "ORDER_ENTRY_MISSING", "order entry is not available for this venue yet")
        err = NotSupported(f"{venue}: {why}")
        err.__dict__.update(venue=adapter.venue, operation="order entry")
        raise err
    signer = credentials if credentials is not None else module.Signer.from_env()
    specs = list(endpoints) if endpoints else list(adapter.production)
    eps = [e if isinstance(e, Endpoint) else Endpoint.of(e, i) for i, e in enumerate(specs)]
    ep = next((e for e in eps if e.rest), None)
    if ep is None:
        raise ValueError(f"{venue}: no endpoint has a REST URL")
    # A venue whose document asks more of a client than the shared session does (Clarofinlore's token
    # log-in, Retry-After) declares its own subclass as ``Session``.
    session_cls = getattr(module, "Session", TradingSession)
    session: TradingSession = session_cls(grammar_cls(), signer, ep, transport=transport, **options)
    return session


def trade_beside(
    venue: str,
    endpoints: Sequence[Endpoint],
    audit: AuditLog | str | None,
    books: Callable[[str], OrderBook] | None,
    credentials: Any = None,
    **options: Any,
) -> TradingSession:
    """``md.trade(...)``: :func:`trade` on a market-data session's ``endpoints`` (ranked), with
    ``audit`` (its audit log, or the one the caller named); with ``books`` (the session's live books,
    where the venue trades what it streams) a market order's notional (``max_order_notional``) is
    priced from them."""
    from tickwire.trading.book_cost import book_cost

    tr = trade(venue, credentials=credentials, endpoints=endpoints, audit=audit, **options)
    if books is not None:
        tr.risk.market_cost = functools.partial(book_cost, books)
    return tr
