"""A venue's answer in valid JSON of a shape its grammar does not know — a number where a list goes,
a list where an object goes — read on the one REST answer path (``trading.rest_answer``), for every
venue with order entry: a typed error, never a bare ``TypeError``/``KeyError`` escaping into the
order path (which would leave an order ``pending`` with nothing reconciling it). A 2xx of that shape
is unreadable — as if the answer was lost, the caller reconciles (``TransportError``)."""

from __future__ import annotations

import importlib
from typing import Any

import orjson
import pytest
from tickwire.errors import TickwireError, TransportError
from tickwire.limits import RateBudget
from tickwire.trading.rest_answer import read_answer
from tickwire.trading.venue import Call
from tickwire.venues import adapter_class, adapters

BODIES = [
    b"5",
    b"[]",
    b'"text"',
    b"null",
    b'{"code":"1","msg":"x","data":5}',
    b'{"code":"0","msg":"","data":5}',
    b'{"code":-1,"msg":5}',
    b'{"retCode":1,"retMsg":"x","result":5}',
    b'{"error":5,"result":5}',
    b'{"error":["EGeneral:Invalid"],"result":5}',
    b'{"status":"error","err-code":5,"err-msg":5}',
    b'{"success":false,"error_response":5}',
    b'{"errors":5}',
    b'{"error":{"code":5}}',
    b'{"data":[5]}',
]


def grammars() -> list[Any]:
    out = []
    for venue in sorted(adapters()):
        adapter = adapter_class(venue)
        module = importlib.import_module(".".join(adapter.__module__.split(".")[:3]))
        table = getattr(module, "ORDER_GRAMMARS", None)
        cls = table.get(adapter.venue) if table else getattr(module, "Orders", None)
        if cls is not None and cls.venue == adapter.venue:
            out.append(pytest.param(cls, id=adapter.venue))
    return out


@pytest.mark.parametrize("status", [200, 400, 503])
@pytest.mark.parametrize("grammar_cls", grammars())
def test_an_answer_of_a_shape_the_grammar_does_not_know_is_a_typed_error(
    grammar_cls: Any, status: int
) -> None:
    g = grammar_cls()
    budget = RateBudget(g.venue, [], ip="test", account="test")
    call = Call("POST", "/order", {"symbol": "X"})
    for body in BODIES:
        try:
            read_answer(g, budget, lambda: 0.0, status, body, {}, call)
        except TickwireError as e:
            if status < 300 and not isinstance(e, TransportError):
                # A 2xx the grammar read as the venue's own refusal is typed too; any other typed
                # error of a 2xx must say the answer was unreadable.
                assert getattr(e, "code", None) is not None or "unreadable" in str(e), (body, e)
        except Exception as e:
            raise AssertionError(f"{g.venue} HTTP {status} {body!r}: bare {type(e).__name__}: {e}") from e


def _id_only(answer: bytes) -> bytes:
    """The venue's answer with everything but its request id gone: a shape no venue writes."""
    msg = orjson.loads(answer)
    return orjson.dumps({k: v for k, v in msg.items() if k in ("id", "reqId", "req_id")})


# (venue, transport, the place's operation at the simulator, what its answer is replaced by)
GARBLED = [
    *[("okx", "rest", "POST /api/v5/trade/order", b) for b in (b"null", b"5", b"[]")],
    *[("bybit", "rest", "POST /v5/order/create", b) for b in (b"null", b"5", b"[]")],
    ("binance", "ws", "order.place", _id_only),
    ("okx", "ws", "order", _id_only),
    ("bybit", "ws", "order.create", _id_only),
]


@pytest.mark.parametrize(("venue", "transport", "op", "garble"), GARBLED)
def test_a_placed_orders_answer_naming_no_venue_code_is_reconciled(
    venue: str, transport: str, op: str, garble: Any
) -> None:
    """The venue places the order and its answer names no venue code — over REST a 200 whose body is a
    bare ``null``, number or list; over the order socket an answer that keeps only the request's id
    (the simulator's ``garble_answer``): the order is asked of the venue, as for a lost answer, and
    tracked as the venue has it — once, resting. Before: the readers made a code-less ``OrderError``
    of it, taken for the venue's refusal (the order recorded ``rejected`` while it rested), or Bybit's
    socket reader raised a bare ``KeyError`` out of ``place_order``, the order left pending."""
    from test_session_binance import BINANCE
    from test_session_bybit import BYBIT
    from test_session_okx import OKX
    from tickwire.sim import Simulator
    from tickwire.trading.session import TradingSession

    a = {"binance": BINANCE, "okx": OKX, "bybit": BYBIT}[venue]

    async def go(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        price = bid - 10 * tr.rules[a.symbol].tick_size
        sim.endpoint(a.venue, 0).garble_answer(op, garble)
        got = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price, 2), price)
        [theirs] = a.orders(sim)
        assert theirs.client_id == got.client_id and theirs.open, theirs
        assert got.status == "new" and tr.tracker.get(got.client_id).status == "new"  # type: ignore[union-attr]

    a.run(go, transport=transport, timeout=1.0)
