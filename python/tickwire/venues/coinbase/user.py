"""The Advanced Trade WebSocket ``user`` channel as the trading session's private stream (venues.md §5.2:
``wss://advanced-trade-ws-user.coinbase.com``; a fresh JWT in every subscribe message).

Coinbase has no log-in: each subscribe carries its own JWT. The stream's first message (the
``LoginGrammar`` step) subscribes to ``heartbeats``, which keeps a quiet account's connection open
(channels close after 60-90 s without updates, §5.2); its ``subscriptions`` answer gates the ``user``
subscribe. The ``user`` channel then sends a ``snapshot`` of the open orders and an ``update`` for
every order event.

Fills: an update states the order's ``cumulative_quantity``, ``avg_price``, ``total_fees`` and
``status`` — no per-trade ids. So the stream's events carry cumulative state only (``filled_cum``,
never a ``Fill``): the tracker's filled quantity and status follow the stream at once, and each
execution is reported (``on_fill``) once, with its real ``trade_id``, from the fills endpoint
(``orders/historical/fills``) when the session reads the order's state after an answer or
reconciliation. Synthesized fills (deltas of the cumulative quantity) are not made: they would carry
ids the fills endpoint never gives, and the same execution would count twice.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson

from tickwire.errors import AuthError
from tickwire.trading.codes import error_for
from tickwire.trading.orders import OrderEvent, OrderType
from tickwire.venues.coinbase.reading import STATUS, TIF, VENUE, OrderIds, dec, quote_of, rfc3339_ns

__all__ = ["UserChannel"]


def _subscribe(channel: str, signer: Any) -> bytes:
    return orjson.dumps(
        {"type": "subscribe", "channel": channel, "product_ids": [], "jwt": signer.ws_token()}
    )


def _subscribed(msg: Any, channel: str) -> bool:
    """True for the ``subscriptions`` message that lists ``channel``."""
    if not isinstance(msg, dict) or msg.get("channel") != "subscriptions":
        return False
    return any(channel in (e.get("subscriptions") or {}) for e in msg.get("events") or ())


def _refused(msg: Any) -> None:
    """Raises the error of an ``{"type": "error", "message"}`` frame (a bad or expired JWT)."""
    if isinstance(msg, dict) and msg.get("type") == "error":
        text = str(msg.get("message", ""))
        if "auth" in text.lower():
            raise AuthError(f"{VENUE}: {text}")
        raise error_for(VENUE, None, text)


class UserChannel:
    """The ``StreamGrammar`` half of ``Orders``."""

    ids: OrderIds
    stream_label = "user"
    # The stream states cumulative fills, never single executions (see the module docstring): a
    # session may fetch the executions (the fills endpoint) when the filled quantity rises.
    stream_fills = False

    def login(self, signer: Any) -> bytes | None:
        return _subscribe("heartbeats", signer)

    def login_ack(self, msg: Any) -> bool:
        _refused(msg)
        return _subscribed(msg, "heartbeats")

    def stream_subscribe(self, signer: Any) -> bytes:
        return _subscribe("user", signer)

    def stream_ack(self, msg: Any) -> bool:
        """The ``subscriptions`` message listing ``user``, or (when it comes first) the channel's
        ``snapshot``: the open orders it lists are reconciled after every reconnect anyway."""
        _refused(msg)
        if _subscribed(msg, "user"):
            return True
        return (
            isinstance(msg, dict)
            and msg.get("channel") == "user"
            and any(e.get("type") == "snapshot" for e in msg.get("events") or ())
        )

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        """Every order of a ``user`` message as its state (see the module docstring on fills)."""
        if not isinstance(msg, dict) or msg.get("channel") != "user":
            return []
        out = []
        for e in msg.get("events") or ():
            for o in e.get("orders") or ():
                out.append(replace(self._user_order(o), source="stream"))
        return out

    def _user_order(self, o: dict[str, Any]) -> OrderEvent:
        product = str(o.get("product_id", ""))
        cid, oid = str(o.get("client_order_id") or ""), str(o.get("order_id") or "") or None
        self.ids.learn(cid, oid)
        filled = dec(o.get("cumulative_quantity")) or Decimal(0)
        leaves = dec(o.get("leaves_quantity"))
        status = STATUS.get(str(o.get("status")))
        kind: OrderType = "market" if str(o.get("order_type", "")).upper() == "MARKET" else "limit"
        return OrderEvent(
            source="stream",
            client_id=cid,
            order_id=oid,
            status=status,
            filled_cum=filled,
            avg_price=dec(o.get("avg_price")) if filled > 0 else None,
            fee_cum=dec(o.get("total_fees")),
            fee_asset=quote_of(product),
            reason=str(o.get("reject_reason") or o.get("cancel_reason") or ""),
            ts_ns=rfc3339_ns(o.get("creation_time")),
            venue=VENUE,
            symbol=product or None,
            side="buy" if o.get("order_side") == "BUY" else "sell",
            type=kind,
            tif=TIF.get(str(o.get("time_in_force"))),
            price=dec(o.get("limit_price")) if kind == "limit" else None,
            # The quantity ordered shows only while the order works: filled plus what is left.
            qty=filled + leaves if leaves is not None and status == "new" else None,
        )
