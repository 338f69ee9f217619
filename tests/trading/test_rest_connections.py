"""The order session's kept-alive REST connections (``rest_connections``, default 2): opened at start,
so two requests at once — a tick's two orders, a cancel beside an order in flight — both write on a
connection already open, counted from the simulator's side (the connections its REST server accepted)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_session_binance import BINANCE
from tickwire.sim import Simulator
from tickwire.sim import http as sim_http
from tickwire.trading.session import TradingSession


def _count_accepts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The simulator's REST connections accepted so far (one counter for the test)."""
    accepted = [0]
    made = sim_http.HttpProtocol.connection_made

    def counted(self: Any, transport: Any) -> None:
        accepted[0] += 1
        made(self, transport)

    monkeypatch.setattr(sim_http.HttpProtocol, "connection_made", counted)
    return accepted


async def _two_at_once(sim: Simulator, tr: TradingSession) -> None:
    bid, _ = BINANCE.touch(sim)
    tick = tr.rules[BINANCE.symbol].tick_size
    prices = [bid - 40 * tick, bid - 41 * tick]
    placed = await asyncio.gather(
        *(tr.place_order(BINANCE.symbol, "buy", "limit", BINANCE.size(tr, p), p) for p in prices)
    )
    assert sorted(o.client_id for o in placed) == sorted(o.client_id for o in BINANCE.open(sim))


@pytest.mark.parametrize(("connections", "opened_for_the_pair"), [(None, 0), (1, 1)], ids=["default", "one"])
def test_two_orders_at_once_write_on_connections_opened_at_start(
    monkeypatch: pytest.MonkeyPatch, connections: int | None, opened_for_the_pair: int
) -> None:
    """By default two connections are kept: the pair of orders opens none (before 2026-12-07 one was
    kept, and the second order of the pair paid a connect — a TCP and TLS handshake to the venue —
    on its path, the connection closed after its answer). ``rest_connections=1`` keeps one, as before."""
    accepted = _count_accepts(monkeypatch)
    kept = 2 if connections is None else connections

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert accepted[0] == kept, f"{accepted[0]} REST connections opened at start, not {kept}"
        await _two_at_once(sim, tr)
        assert accepted[0] == kept + opened_for_the_pair

    kw = {} if connections is None else {"rest_connections": connections}
    BINANCE.run(body, private_stream=False, **kw)


def test_rest_connections_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="rest_connections"):
        BINANCE.run(lambda sim, tr: asyncio.sleep(0), rest_connections=0)
