"""Kraken's WebSocket token across reconnects, against the simulator (which counts the token on the
REST counter, as the docs say of every call but order entry, and refuses a token first used on a
connection after its ``expires``): a reconnect within the token's life needs no REST call, so a socket
cut while lookups fill the REST budget comes back at once; a token past its life, or one the venue
stopped taking, is fetched anew — in the lane cancels use, not behind the queries."""

from __future__ import annotations

import asyncio

import pytest
from session_cases import settle
from test_session_kraken import KRAKEN
from tickwire.errors import AuthError, RateLimitError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

TOKEN_OP = "POST /0/private/GetWebSocketsToken"


def tokens_fetched(sim: Simulator) -> int:
    exchanges = sim.endpoint("kraken", 0).exchanges
    return sum(1 for _, op, status, _ in exchanges if op == TOKEN_OP and status == 200)


async def fill_the_query_lane(tr: TradingSession) -> None:
    """Lookups until the next would wait for the REST counter (45 s window)."""
    for _ in range(30):
        try:
            await asyncio.wait_for(tr.open_orders(KRAKEN.symbol), 0.5)
        except (RateLimitError, TimeoutError):
            assert tr.budget.check({"REST": 1}, "query") > 5.0
            return
    raise AssertionError("the lookups never reached the REST budget")


async def both_back(tr: TradingSession, connects: int, timeout: float) -> None:
    await settle(
        lambda: (
            tr.stream is not None
            and tr.orders_ws is not None
            and tr.stream.connected
            and tr.orders_ws.connected
            and tr.stream.connects >= connects
            and tr.orders_ws.connects >= connects
        ),
        "both sockets back",
        timeout,
    )


async def placed_over_the_socket(sim: Simulator, tr: TradingSession) -> None:
    before = [e for e in sim.endpoint("kraken", 0).exchanges if e[1] == KRAKEN.place_op]
    o = await KRAKEN.rest_below(sim, tr, 40)
    [theirs] = KRAKEN.orders(sim, o.client_id)
    assert o.status == "new" and theirs.open
    # Over the socket: no AddOrder reached REST.
    assert [e for e in sim.endpoint("kraken", 0).exchanges if e[1] == KRAKEN.place_op] == before


def test_a_socket_cut_while_lookups_fill_the_rest_budget_comes_back_with_its_token() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await both_back(tr, 1, 3.0)
        fetched = tokens_fetched(sim)
        await fill_the_query_lane(tr)
        sim.endpoint("kraken", 0).drop()
        # Before 2026-12-06 each connect fetched a token in the query lane: it waited out the 45 s
        # window, the order socket down meanwhile (orders under transport="ws" refused).
        await both_back(tr, 2, 3.0)
        assert tokens_fetched(sim) == fetched
        await placed_over_the_socket(sim, tr)

    KRAKEN.run(body, transport="ws", timeout=1.0)


def test_a_token_past_its_life_is_fetched_anew_in_the_cancel_lane() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await both_back(tr, 1, 3.0)
        fetched = tokens_fetched(sim)
        await fill_the_query_lane(tr)
        await asyncio.sleep(2.2)  # the simulator refuses the token on a new connection now
        sim.endpoint("kraken", 0).drop()
        await both_back(tr, 2, 3.0)
        assert tokens_fetched(sim) > fetched
        assert tr.budget.check({"REST": 1}, "query") > 5.0  # the lookups' lane still full
        await placed_over_the_socket(sim, tr)

    KRAKEN.run(body, transport="ws", timeout=1.0, sim_timeouts={"token_life": 2.0})


def test_a_token_the_venue_stopped_taking_is_fetched_anew_after_the_refused_set_up() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await both_back(tr, 1, 3.0)
        fetched = tokens_fetched(sim)
        # The venue drops every token (an upgrade: tokens "do sometimes expire" in Kraken's words).
        sim.venue("kraken").trade.tokens.clear()  # type: ignore[attr-defined]
        sim.endpoint("kraken", 0).drop()
        await both_back(tr, 2, 3.0)
        assert tokens_fetched(sim) > fetched
        await placed_over_the_socket(sim, tr)

    KRAKEN.run(body, transport="ws", timeout=1.0)


def order_socket_up(tr: TradingSession, connects: int) -> bool:
    ws = tr.orders_ws
    return ws is not None and ws.connected and ws.connects >= connects


def test_an_order_socket_on_a_token_the_venue_stopped_taking_reconnects_with_a_fresh_one() -> None:
    """The order socket has no subscription to refuse a dead token at its set-up: cut alone after the
    venue stopped taking the token, it came back on the reused one, and every order over it was
    refused ``EAPI:Invalid key`` for as long as the connection lasted (the stream still up, nothing
    fetched a new token). Now the first refusal cuts it, and it comes back on a fresh token."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await both_back(tr, 1, 3.0)
        fetched = tokens_fetched(sim)
        sim.venue("kraken").trade.tokens.clear()  # type: ignore[attr-defined]
        assert tr.orders_ws is not None
        tr.orders_ws.drop()
        await settle(lambda: order_socket_up(tr, 2), "the order socket back", 3.0)
        with pytest.raises(AuthError):  # the one order that finds the token dead
            await KRAKEN.rest_below(sim, tr, 40)
        await settle(lambda: order_socket_up(tr, 3), "the order socket back on a fresh token", 3.0)
        assert tokens_fetched(sim) > fetched
        await placed_over_the_socket(sim, tr)

    KRAKEN.run(body, transport="ws", timeout=1.0)


def test_a_permission_refusal_keeps_the_token_and_a_key_refusal_drops_it() -> None:
    """What makes the order socket reconnect for a new token (``login_stale``): the venue refusing the
    token or key, not a key without the trading permission — a new token would be refused again, and
    each order would cost a reconnect and a REST call."""
    import pytest
    from tickwire.errors import AuthError
    from tickwire.venues import kraken

    g = kraken.SocketOrders()
    g.read_login_call({"token": "T", "expires": 900})
    for error, stale in (("EGeneral:Permission denied", False), ("EAPI:Invalid key", True)):
        with pytest.raises(AuthError):
            g.read_ws_answer({"method": "add_order", "req_id": 1, "success": False, "error": error})
        assert g.login_stale is stale, error


def test_tokens_fetched_for_two_keys_at_once_are_labelled_by_the_key_that_fetched_each() -> None:
    """A key rotation fetches a token for the new key while one for the old may be on its way: each
    answer is labelled with the key whose request fetched it, whatever the order the answers come
    in (before: with the key asked for last, so the old key's token could pass for the new key's and
    be reused by the new key's next connect)."""
    from tickwire.venues import kraken

    old, new = kraken.Signer("old-key", "c2VjcmV0"), kraken.Signer("new-key", "c2VjcmV0")
    g = kraken.SocketOrders()
    assert g.login_call(old) is not None and g.login_call(new) is not None  # both on their way
    g.read_login_call({"token": "NEW", "expires": 900}, new)
    g.read_login_call({"token": "OLD", "expires": 900}, old)  # the old key's answer last
    assert g.login_call(new) is not None, "the old key's token passed for the new key's"
    assert g.login_call(old) is None
