"""Binance USDⓈ-M's order grammar (``venues/binance/usdm.py``): the request shapes the derivatives docs
give for ``/fapi`` ("New Order", "Modify Order", "Cancel Multiple Orders", the WS API methods) and the
documented answers read into orders and errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
import tickwire
from tickwire.trading.orders import Order
from tickwire.venues import binance
from tickwire.venues.binance import UsdmOrders

KEY, SECRET = "usdm-key", "usdm-secret"


def _order(**kw: Any) -> Order:
    base: dict[str, Any] = {
        "venue": "binance-usdm",
        "symbol": "BTCUSDT",
        "side": "sell",
        "type": "limit",
        "qty": Decimal("0.010"),
        "price": Decimal("60000.10"),
        "client_id": "tw-abc-1",
    }
    return Order(**{**base, **kw})


def test_new_order_shapes() -> None:
    g = UsdmOrders()
    c = g.new_order(_order(post_only=True, reduce_only=True))
    assert (c.method, c.path, c.signed) == ("POST", "/fapi/v1/order", True)
    assert dict(c.params) == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "quantity": "0.01",
        "timeInForce": "GTX",
        "price": "60000.1",
        "reduceOnly": "true",
        "newClientOrderId": "tw-abc-1",
        "newOrderRespType": "RESULT",
    }
    m = g.new_order(_order(type="market", price=None, side="buy"))
    assert dict(m.params) == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.01",
        "newClientOrderId": "tw-abc-1",
        "newOrderRespType": "RESULT",
    }
    assert g.new_order(_order(tif="IOC")).params["timeInForce"] == "IOC"


def test_amend_cancel_status_and_query_shapes() -> None:
    g = UsdmOrders()
    a = g.amend(_order(order_id="42"), None, Decimal("59999.9"))
    assert (a.method, a.path) == ("PUT", "/fapi/v1/order")
    assert dict(a.params) == {
        "symbol": "BTCUSDT",
        "orderId": "42",
        "side": "SELL",
        "quantity": "0.01",
        "price": "59999.9",
    }
    assert g.amend(_order(), Decimal("0.02"), None).params["origClientOrderId"] == "tw-abc-1"
    assert dict(g.cancel("BTCUSDT", "tw-abc-1", None).params) == {
        "symbol": "BTCUSDT",
        "origClientOrderId": "tw-abc-1",
    }
    assert g.status("BTCUSDT", None, "7").params["orderId"] == "7"
    assert g.cancel_all("BTCUSDT") is None
    assert (g.open_orders(None).path, dict(g.open_orders(None).params)) == ("/fapi/v1/openOrders", {})
    f = g.fills("BTCUSDT", 1700000000000)
    assert (f.path, dict(f.params)) == (
        "/fapi/v1/userTrades",
        {"symbol": "BTCUSDT", "startTime": "1700000000000", "limit": "1000"},
    )
    # A full page of trades from a start time: the next from its last id on, without the time range
    # (fromId never goes with one); one order's trades are one answer.
    page = [{"id": 5}, {"id": 9}] + [{"id": 10 + i} for i in range(998)]
    nxt = g.next_page(f, page)
    assert nxt is not None and dict(nxt.params) == {"symbol": "BTCUSDT", "limit": "1000", "fromId": "1008"}
    assert g.next_page(f, page[:-1]) is None
    assert g.next_page(g.order_fills("BTCUSDT", "7"), page) is None
    assert g.balances().path == "/fapi/v2/balance"
    assert (g.positions().path, dict(g.positions("ETHUSDT").params)) == (
        "/fapi/v2/positionRisk",
        {"symbol": "ETHUSDT"},
    )
    i = g.instruments()
    assert (i.path, i.signed) == ("/fapi/v1/exchangeInfo", False)
    lk, ka = g.listen_key(), g.keep_alive("K")
    assert (lk.method, lk.path, lk.signed, dict(lk.params)) == ("POST", "/fapi/v1/listenKey", False, {})
    assert (ka.method, dict(ka.params), ka.signed) == ("PUT", {"listenKey": "K"}, False)


def test_cancel_orders_batch_by_ten_with_json_arrays() -> None:
    g = UsdmOrders()
    with_ids = [_order(order_id=str(100 + i), client_id=f"c{i}") for i in range(23)]
    calls = g.cancel_orders("BTCUSDT", [*with_ids, _order(client_id="only-cid")])
    assert [(c.method, c.path) for c in calls] == [("DELETE", "/fapi/v1/batchOrders")] * 4
    lists = [orjson.loads(c.params.get("orderIdList", "[]")) for c in calls[:3]]
    assert [len(x) for x in lists] == [10, 10, 3] and lists[0][:2] == [100, 101]
    assert calls[0].params["orderIdList"].startswith("[100,101,")  # no spaces, as the docs ask
    assert dict(calls[3].params) == {"symbol": "BTCUSDT", "origClientOrderIdList": '["only-cid"]'}


def test_ws_api_methods() -> None:
    g = UsdmOrders()
    signer = binance.Signer(KEY, SECRET, clock=lambda: 1_700_000_000_000)
    want = [
        (g.new_order(_order()), "order.place"),
        (g.amend(_order(order_id="1"), None, None), "order.modify"),
        (g.cancel("BTCUSDT", "x", None), "order.cancel"),
        (g.status("BTCUSDT", "x", None), "order.status"),
    ]
    for call, method in want:
        raw = g.ws_request(call, signer, "r1")
        assert raw is not None
        msg = orjson.loads(raw)
        assert msg["method"] == method and msg["id"] == "r1"
        assert msg["params"]["apiKey"] == KEY and "signature" in msg["params"]
    # Everything else goes over REST.
    assert g.ws_request(g.fills("BTCUSDT", None), signer, "r2") is None
    assert g.ws_request(g.positions(), signer, "r3") is None


def test_documented_answers_read() -> None:
    """The derivatives docs' example answers (trimmed), read."""
    g = UsdmOrders()
    [ev] = g.read_order(
        {
            "clientOrderId": "testOrder",
            "cumQty": "0",
            "cumQuote": "0",
            "executedQty": "0",
            "orderId": 22542179,
            "avgPrice": "0.00000",
            "origQty": "10",
            "price": "0",
            "reduceOnly": False,
            "side": "BUY",
            "positionSide": "SHORT",
            "status": "NEW",
            "stopPrice": "9300",
            "closePosition": False,
            "symbol": "BTCUSDT",
            "timeInForce": "GTD",
            "type": "TRAILING_STOP_MARKET",
            "origType": "TRAILING_STOP_MARKET",
            "updateTime": 1566818724722,
        }
    )
    assert (ev.client_id, ev.order_id, ev.status, ev.avg_price, ev.tif) == (
        "testOrder",
        "22542179",
        "new",
        None,
        None,
    )
    with pytest.raises(tickwire.errors.OrderNotFound):
        g.read_order({"code": -2011, "msg": "Unknown order sent."})
    [fill] = g.read_fills(
        [
            {
                "buyer": False,
                "commission": "-0.07819010",
                "commissionAsset": "USDT",
                "id": 698759,
                "maker": False,
                "orderId": 25851813,
                "price": "7819.01",
                "qty": "0.002",
                "quoteQty": "15.63802",
                "realizedPnl": "-0.91539999",
                "side": "SELL",
                "positionSide": "SHORT",
                "symbol": "BTCUSDT",
                "time": 1569514978020,
            }
        ]
    )
    assert (fill.trade_id, fill.side, fill.price, fill.qty, fill.liquidity) == (
        "698759",
        "sell",
        Decimal("7819.01"),
        Decimal("0.002"),
        "taker",
    )
    [(asset, bal)] = g.read_balances(
        [
            {
                "accountAlias": "SgsR",
                "asset": "USDT",
                "balance": "122607.35137903",
                "crossWalletBalance": "23.72469206",
                "crossUnPnl": "0.00000000",
                "availableBalance": "23.72469206",
                "maxWithdrawAmount": "23.72469206",
                "marginAvailable": True,
                "updateTime": 1617939110373,
            }
        ]
    ).items()
    assert asset == "USDT" and bal.free == Decimal("23.72469206") and bal.total == Decimal("122607.35137903")
    [ev] = g.read_stream(
        {
            "e": "ORDER_TRADE_UPDATE",
            "E": 1568879465651,
            "T": 1568879465650,
            "o": {
                "s": "BTCUSDT",
                "c": "TEST",
                "S": "SELL",
                "o": "TRAILING_STOP_MARKET",
                "f": "GTC",
                "q": "0.001",
                "p": "0",
                "ap": "0",
                "sp": "7103.04",
                "x": "NEW",
                "X": "NEW",
                "i": 8886774,
                "l": "0",
                "z": "0",
                "L": "0",
                "N": "USDT",
                "n": "0",
                "T": 1568879465650,
                "t": 0,
                "m": False,
                "R": False,
                "ps": "LONG",
            },
        }
    )
    assert (ev.client_id, ev.order_id, ev.status, ev.fill, ev.qty) == (
        "TEST",
        "8886774",
        "new",
        None,
        Decimal("0.001"),
    )
    assert g.key_expired({"e": "listenKeyExpired", "E": 1576653824250, "listenKey": "x"})
    got = g.read_account_update(
        {
            "e": "ACCOUNT_UPDATE",
            "E": 1564745798939,
            "T": 1564745798938,
            "a": {
                "m": "ORDER",
                "B": [{"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678", "bc": "50.12345678"}],
                "P": [
                    {
                        "s": "BTCUSDT",
                        "pa": "0",
                        "ep": "0.00000",
                        "cr": "200",
                        "up": "0",
                        "mt": "isolated",
                        "iw": "0",
                        "ps": "BOTH",
                    },
                    {
                        "s": "BTCUSDT",
                        "pa": "20",
                        "ep": "6563.66500",
                        "cr": "0",
                        "up": "2850.2",
                        "mt": "isolated",
                        "iw": "13200",
                        "ps": "LONG",
                    },
                ],
            },
        }
    )
    assert got is not None
    wallet, pos = got
    assert (
        wallet == {"USDT": Decimal("122624.12345678")} and pos["BTCUSDT"].qty == 0
    )  # hedge-mode legs skipped
