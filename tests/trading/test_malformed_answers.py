"""A venue's answer or private-stream message not in its form (a key missing, a number that is none,
a wrong type): a ``DecodeError`` that changes no order — on the private stream kept inside the
frame handler (raised out of it, picows would drop the connection) and reconciled after; for a
place, whose bytes the venue took, the order asked of the venue as for a lost answer, never resent
(checked against the simulator's own order list)."""

from __future__ import annotations

import asyncio
import copy
import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from template_cases import account
from tickwire import errors
from tickwire.sim import Simulator
from tickwire.trading.answers import answered
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.stream import PrivateStream
from tickwire.trading.tracker import OrderTracker
from tickwire.venues.binance.orders import Orders as BinanceOrders

CID = "tw-G46ORKJwO6a"
PLACED = {
    "symbol": "BTCUSDT", "orderId": 1000001, "orderListId": -1, "clientOrderId": CID,
    "price": "60000.02000000", "origQty": "0.00027000", "executedQty": "0.00027000",
    "cummulativeQuoteQty": "16.20000540", "status": "FILLED", "timeInForce": "IOC", "type": "LIMIT",
    "side": "BUY", "workingTime": 1796568745300, "selfTradePreventionMode": "NONE",
    "transactTime": 1796568745300,
    "fills": [{"price": "60000.02000000", "qty": "0.00027000", "commission": "0.00000000",
               "commissionAsset": "USDT", "tradeId": 512093}],
}  # fmt: skip
REPORT = {
    "subscriptionId": 0,
    "event": {
        "e": "executionReport", "E": 1796568745300, "s": "BTCUSDT", "c": CID, "S": "BUY", "o": "LIMIT",
        "f": "IOC", "q": "0.00027000", "p": "60000.02000000", "x": "TRADE", "X": "FILLED", "r": "NONE",
        "i": 1000001, "l": "0.00027000", "z": "0.00027000", "L": "60000.02000000", "n": "0", "N": None,
        "T": 1796568745300, "t": 512093, "w": False, "m": False, "O": 1796568745300, "Z": "16.20000540",
    },
}  # fmt: skip


def _tracker() -> OrderTracker:
    t = OrderTracker()
    t.track(
        Order(
            venue="binance", symbol="BTCUSDT", side="buy", type="limit", qty=Decimal("0.00027"),
            price=Decimal("60000.02"), client_id=CID,
        )
    )  # fmt: skip
    return t


def _mangled(body: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    out = copy.deepcopy(body)
    at: Any = out
    for k in path[:-1]:
        at = at[k]
    if value is KeyError:
        del at[path[-1]]
    else:
        at[path[-1]] = value
    return out


# (path, value): a key missing, a number that is none, a wrong type.
ANSWER_FAULTS = [
    (("executedQty",), KeyError),
    (("executedQty",), "NaN"),
    (("origQty",), {"a": 1}),
    (("fills", 0, "qty"), "x"),
    (("fills", 0, "price"), KeyError),
]
REPORT_FAULTS = [
    (("event", "q"), KeyError),
    (("event", "z"), "x"),
    (("event", "l"), {}),
    (("event", "T"), "x"),
]


class _Port:
    venue = "binance"

    def __init__(self) -> None:
        self.grammar = BinanceOrders()
        self.tracker = _tracker()

    async def send(self, call: object) -> Any:
        raise AssertionError("no status query expected")

    async def settle_fills(self, client_id: str) -> None:
        pass

    def stream_up(self) -> bool:
        return True


@pytest.mark.parametrize(("path", "value"), ANSWER_FAULTS)
def test_a_malformed_order_answer_is_a_decode_error_and_changes_no_order(
    path: tuple[Any, ...], value: object
) -> None:
    port = _Port()
    before = port.tracker.get(CID)
    with pytest.raises(errors.DecodeError):
        asyncio.run(answered(port, "BTCUSDT", _mangled(PLACED, path, value)))
    assert port.tracker.get(CID) == before
    # The intact answer still applies.
    got = asyncio.run(answered(port, "BTCUSDT", PLACED))
    assert got is not None and got.status == "filled" and got.filled == Decimal("0.00027")


@pytest.mark.parametrize(("path", "value"), REPORT_FAULTS)
def test_a_malformed_private_stream_message_stays_in_the_stream_and_changes_no_order(
    path: tuple[Any, ...], value: object
) -> None:
    """The message is refused (logged, counted) inside the stream's frame handler: raised out of it,
    picows (disconnect_on_exception) would drop the private stream for one bad message."""
    tracker = _tracker()
    before = tracker.get(CID)

    async def go() -> PrivateStream:
        async def reconcile() -> None:
            pass

        s = PrivateStream(BinanceOrders(), None, "wss://unused", tracker.apply, reconcile)
        s._on_text(json.dumps(_mangled(REPORT, path, value)).encode())
        assert tracker.get(CID) == before
        s._on_text(json.dumps(REPORT).encode())
        await asyncio.sleep(0)
        return s

    s = asyncio.run(go())
    assert s.malformed == 1 and s.events == 1
    got = tracker.get(CID)
    assert got is not None and got.status == "filled" and got.filled == Decimal("0.00027")


def _first_answer_mangled(tr: TradingSession) -> list[Any]:
    """The session's first order answer read with ``executedQty`` gone (as a venue's malformed
    answer would be); the bodies it was given, returned."""
    read, seen = tr.grammar.read_order, []

    def mangled(body: Any) -> Any:
        seen.append(body)
        if len(seen) == 1 and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "executedQty"}
        return read(body)

    tr.grammar.read_order = mangled  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_an_unreadable_place_answer_is_reconciled_not_raised_nor_left_pending(path: str) -> None:
    """The venue took the order (its bytes are out) and answered in a form not its own: the order is
    asked of the venue and ends as the simulator has it, once there (before: ``DecodeError`` raised
    and the order left ``pending`` for the session's life — or, before that, a ``KeyError``)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        seen = _first_answer_mangled(tr)
        r = tr.rules["BTCUSDT"]
        price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
        qty = r.min_qty * 100
        if path == "place_order":
            got = await tr.place_order("BTCUSDT", "buy", "limit", qty, price)
        else:
            got = await tr.template("BTCUSDT", "buy").send(price, qty)
        assert seen, "no answer was read"
        engine = sim.venue("binance").engine
        (theirs,) = engine.orders.values()  # once at the venue: asked about, never resent
        assert theirs.client_id == got.client_id and theirs.open
        assert (got.status, got.order_id) == ("new", str(theirs.id)), got
        assert [o.client_id for o in tr.tracker.open_orders()] == [got.client_id]
        assert not tr.in_flight()

    account().run(body, private_stream=False)


def test_a_malformed_message_on_the_usdm_listen_key_stream_stays_in_the_stream() -> None:
    """USDⓈ-M's listenKey stream reads its own messages (``ACCOUNT_UPDATE`` besides the order
    events): each reader is guarded as the base stream's, so a malformed one is counted and kept
    inside the frame handler, and the wallet and the tracker are unchanged (before: ``KeyError`` out
    of the handler, which picows answers by dropping the stream)."""
    from tickwire.streams import Endpoint
    from tickwire.venues.binance.usdm import UsdmOrders
    from tickwire.venues.binance.userstream import ListenKeyStream

    tracker = _tracker()

    async def go() -> ListenKeyStream:
        async def reconcile() -> None:
            pass

        ep = Endpoint.of({"ws": {"private": "wss://unused/ws"}, "rest": "https://unused"}, 0)
        s = ListenKeyStream(UsdmOrders(), None, ep, tracker.apply, reconcile)
        s._on_text(orjson.dumps({"e": "ORDER_TRADE_UPDATE", "E": 1, "T": 1, "o": {"c": CID}}))
        s._on_text(orjson.dumps({"e": "ACCOUNT_UPDATE", "E": 1, "a": {"B": [{"a": "USDT"}]}}))
        await asyncio.sleep(0)
        return s

    s = asyncio.run(go())
    assert s.malformed == 2 and s.events == 0 and s.wallet == {}
    assert tracker.get(CID) == _tracker().get(CID)
