"""What goes into the tracker besides venue events: an order checked before it is sent (side, type,
time in force, exact numbers, the venue's instrument rules, a client id in the venue's format), an
order another script placed as far as an event describes it, and an order's audit record."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tickwire.errors import InvalidOrder
from tickwire.trading.client_ids import ClientIds
from tickwire.trading.codes import invalid_order
from tickwire.trading.numbers import to_decimal
from tickwire.trading.orders import Order, OrderEvent, OrderType, Side, Tif
from tickwire.trading.rules import InstrumentRules


def check_terms(
    side: object, kind: object, tif: object, post_only: object, reduce_only: object = False
) -> None:
    """An order's terms apart from its numbers, for ``place_order`` and an order template alike:
    :class:`InvalidOrder` naming what is wrong."""
    if side not in ("buy", "sell"):
        raise InvalidOrder(f"side must be 'buy' or 'sell', not {side!r}")
    if kind not in ("limit", "market"):
        raise InvalidOrder(f"type must be 'limit' or 'market', not {kind!r}")
    if tif not in ("GTC", "IOC", "FOK"):
        raise InvalidOrder(f"tif must be 'GTC', 'IOC' or 'FOK', not {tif!r}")
    if not isinstance(post_only, bool) or not isinstance(reduce_only, bool):
        # A truthy "false" would place a post-only order.
        raise InvalidOrder(f"post_only and reduce_only are True or False, not {post_only!r}, {reduce_only!r}")
    if post_only and kind == "market":
        raise InvalidOrder("a market order takes no price and cannot be post-only")
    if post_only and tif != "GTC":
        # A maker-only order rests or is refused: the venues' forms have no post-only IOC/FOK, and
        # each dropped one of the two (Binance, OKX, Bybit, USDⓈ-M sent a resting maker order;
        # Coinbase an IOC that may take).
        raise InvalidOrder(f"a post-only order rests or is refused: its tif is GTC, not {tif!r}")


def checked_order(
    venue: str,
    rules_by_symbol: Mapping[str, InstrumentRules],
    ids: ClientIds,
    used: Callable[[str], bool],
    symbol: str,
    side: Side,
    type: OrderType,
    qty: Any,
    price: Any = None,
    *,
    tif: Tif = "GTC",
    post_only: bool = False,
    reduce_only: bool = False,
    client_id: str | None = None,
) -> Order:
    """A new order intent, or :class:`InvalidOrder` naming what is wrong; ``used(cid)``: the session
    already has that client id."""
    check_terms(side, type, tif, post_only, reduce_only)
    rules = rules_by_symbol.get(symbol)
    if rules is None:
        raise InvalidOrder(f"{venue}: unknown symbol {symbol!r}")
    q = to_decimal(qty, "qty", positive=True)
    p = to_decimal(price, "price", positive=True) if price is not None else None
    if type == "limit" and p is None:
        raise InvalidOrder("a limit order needs a price")
    if type == "market" and p is not None:
        raise InvalidOrder("a market order takes no price and cannot be post-only")
    rules.for_post_only(post_only).validate(side, type, q, p)
    cid = ids.format.check(client_id) if client_id is not None else ids.next()
    if used(cid):
        raise InvalidOrder(f"client id {cid!r} was already used in this session")
    return Order(
        venue=venue,
        symbol=symbol,
        side=side,
        type=type,
        tif=tif,
        price=p,
        qty=q,
        client_id=cid,
        post_only=post_only,
        reduce_only=reduce_only,
    )


def checked_again(
    venue: str, rules_by_symbol: Mapping[str, InstrumentRules], ids: ClientIds, orders: Sequence[Order]
) -> None:
    """Orders made by ``prepare`` checked again before a batch sends them: an ``Order`` may be changed
    since (``dataclasses.replace``) or be another session's, and bad input sends nothing."""
    for o in orders:
        if o.venue != venue:
            raise InvalidOrder(f"{venue}: order {o.client_id} is for {o.venue}; prepare it here")
        checked_order(
            venue, rules_by_symbol, ids, lambda cid: False, o.symbol, o.side, o.type, o.qty, o.price,
            tif=o.tif, post_only=o.post_only, reduce_only=o.reduce_only, client_id=o.client_id,
        )  # fmt: skip


def amended_terms(
    order: Order, rules: InstrumentRules, qty: Any, price: Any
) -> tuple[Decimal | None, Decimal | None]:
    """An amend's new total quantity and price (None: unchanged), or :class:`InvalidOrder` before
    anything is sent: only a working limit order can be amended, to terms its instrument's rules accept
    and to more than it has already filled."""
    if qty is None and price is None:
        raise InvalidOrder("amend_order needs a new qty or price")
    if not order.is_open or order.status in ("pending", "unknown"):
        raise InvalidOrder(f"order {order.client_id} is {order.status}: only a working order can be amended")
    if order.type != "limit":
        raise InvalidOrder(f"order {order.client_id} is a market order: nothing to amend")
    q = to_decimal(qty, "qty", positive=True) if qty is not None else None
    p = to_decimal(price, "price", positive=True) if price is not None else None
    if q is not None and q <= order.filled:
        raise invalid_order(f"amended qty {q} must exceed the {order.filled} already filled", rule="qty")
    rules.for_post_only(order.post_only).validate(order.side, "limit", q or order.qty, p or order.price)
    return q, p


def untracked(venue: str, ev: OrderEvent) -> Order:
    """An order this session did not place (another script on the same key), as far as the event says."""
    return Order(
        venue=venue,
        symbol=ev.symbol or "",
        side=ev.side or "buy",
        type=ev.type or "limit",
        tif=ev.tif or "GTC",
        price=ev.price,
        qty=ev.qty or Decimal(0),
        client_id=ev.client_id,
        order_id=ev.order_id,
        filled=ev.filled_cum or Decimal(0),
        avg_price=ev.avg_price,
        status=ev.status or "new",
        updated_ns=ev.ts_ns,
        reason=ev.reason,
    )


def audit_fields(order: Order) -> dict[str, Any]:
    return {
        "venue": order.venue,
        "symbol": order.symbol,
        "client_id": order.client_id,
        "order_id": order.order_id,
        "side": order.side,
        "type": order.type,
        "price": None if order.price is None else str(order.price),
        "qty": str(order.qty),
        "filled": str(order.filled),
        "status": order.status,
        "reason": order.reason,
    }
