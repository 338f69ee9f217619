"""The gateway's order service under bad or hostile requests, sent raw over a real nats-server (what a
client other than ``tickwire.remote``, or a buggy one, may send): each is refused with a typed error
the client raises as its ``tickwire.errors`` class, nothing of it reaches the simulator, the account's
state (its ledger in ``TW_GATEWAY``) is as it was, and a well-behaved client is served afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import orjson
import pytest
from gateway_harness import VENUE, config, remote, rest_buy, resting_qty, run, venue
from tickwire.bus import codec, subjects
from tickwire.errors import InvalidOrder, TickwireError
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


async def raw(tr: Any, account: str, op: str, body: dict[str, Any]) -> Any:
    """``op`` sent as it is on ``tr``'s connection: the reply's result, or its error raised as the class
    the client raises (``codec.error_from``)."""
    msg = await tr.nc.request(subjects.orders(VENUE, account, op), orjson.dumps(body), timeout=5)
    reply = orjson.loads(msg.data)
    if "error" in reply:
        raise codec.error_from(reply)
    return reply.get("result")


def place_body(v: Any, tr: Any, ticks: int = 30, **kw: Any) -> dict[str, Any]:
    """A valid resting buy's place request from ``tr`` (its strategy, a fresh id of its own)."""
    tick = tr.rules["BTCUSDT"].tick_size
    price = v.sim.book(VENUE, "BTCUSDT").bids[0][0] - ticks * tick
    body = {
        "strategy": tr.strategy, "symbol": "BTCUSDT", "side": "buy", "type": "limit",
        "qty": str(resting_qty(tr, "BTCUSDT", price)), "price": str(price), "tif": "GTC",
        "post_only": False, "reduce_only": False, "client_id": tr.client_ids.next(),
    }  # fmt: skip
    return {**body, **kw}


def test_a_post_only_or_reduce_only_that_is_not_a_bool_is_refused_before_the_venue(
    nats_urls: list[str],
) -> None:
    """``"post_only": "false"`` or ``"reduce_only": "no"`` (a client that sends text): refused with
    ``InvalidOrder`` as the local session refuses them, nothing sent to the venue. Before, the gateway
    read them with ``bool()`` — a truthy "false" — and the simulator held a post-only order nobody asked
    for, and had been sent a reduce-only one."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("badflags"))), \
                remote(nats_urls, "badflags", "bf") as tr:  # fmt: skip
            sent = len(v.statuses())
            for flag, text in (("post_only", "false"), ("reduce_only", "no"), ("post_only", 1)):
                with pytest.raises(InvalidOrder, match="post_only and reduce_only"):
                    await raw(tr, "badflags", "place", {**place_body(v, tr), flag: text})
            assert v.orders("badflags") == [] and len(v.statuses()) == sent  # the venue never asked
            # unstated (an older or terser client) is False, as before
            o = await raw(tr, "badflags", "place", {
                k: x for k, x in place_body(v, tr).items() if k not in ("post_only", "reduce_only")
            })  # fmt: skip
            [theirs] = v.orders("badflags")
            assert (theirs.client_id, theirs.post_only) == (o["client_id"], False)
            assert (await rest_buy(v, tr, ticks=31)).status == "new"

    run(body)


def test_a_place_refused_for_a_missing_or_malformed_field_leaves_no_ledger_entry(
    nats_urls: list[str],
) -> None:
    """A place without ``side`` or ``type``, or naming its symbol as a list, is refused with
    ``InvalidOrder`` and nothing reaches the venue — and the ledger the account's next gateway reads
    has no entry of it. Before, the entry the place wrote ahead was left as an order heard open (the
    refusal, a ``KeyError``/``TypeError``, was taken for "may be at the venue"), for every later gateway
    to ask the venue about."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("badfields"))) as gw, \
                remote(nats_urls, "badfields", "bq") as tr:  # fmt: skip
            ledger = gw.accounts[0].events.ledger
            sent = len(v.statuses())
            bad = [
                {k: x for k, x in place_body(v, tr).items() if k != "side"},
                {k: x for k, x in place_body(v, tr).items() if k != "type"},
                {k: x for k, x in place_body(v, tr).items() if k != "qty"},
                place_body(v, tr, symbol=["BTCUSDT"]),
                place_body(v, tr, symbol={"s": "BTCUSDT"}),
            ]
            for b in bad:
                with pytest.raises(InvalidOrder):
                    await raw(tr, "badfields", "place", b)
            assert v.orders("badfields") == [] and len(v.statuses()) == sent
            left = await ledger.opens()
            assert left == {}, f"the ledger holds refused places as heard open: {left}"
            o = await rest_buy(v, tr)
            assert await ledger.opens() == {o.client_id: "BTCUSDT"}
            assert [x.client_id for x in v.orders("badfields")] == [o.client_id]

    run(body)


def test_a_request_id_another_strategy_used_is_not_answered_with_that_strategys_reply(
    nats_urls: list[str],
) -> None:
    """``mm2`` sends a place under the request id ``mm1``'s place went under (a client whose ids are
    not unique — a counter from 1 — or one replaying what it saw): ``mm2``'s own order is placed and
    returned, not ``mm1``'s; ``mm2`` asking the outcome of that id, or of ``mm1``'s next one, learns
    nothing of ``mm1``'s and does not make ``mm1``'s next place refused as given up. Before, ``mm2``
    got ``mm1``'s order as its own place's reply (its own never placed), ``outcome`` handed it
    ``mm1``'s reply, and ``mm1``'s next place was refused unrun."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("ridclash"))), \
                remote(nats_urls, "ridclash", "mm1") as one, \
                remote(nats_urls, "ridclash", "mm2") as two:  # fmt: skip
            theirs = await rest_buy(v, one)
            rid = f"{one._rid_stem}{one._rid}"
            mine = await raw(two, "ridclash", "place", place_body(v, two, ticks=35, rid=rid))
            assert mine["client_id"].startswith("mm2-"), mine
            assert sorted(o.client_id for o in v.open("ridclash")) == sorted(
                [theirs.client_id, mine["client_id"]]
            )
            asked = await raw(two, "ridclash", "outcome", {"strategy": "mm2", "rid": rid})
            assert asked["reply"]["result"]["client_id"] == mine["client_id"], asked  # its own, not mm1's
            nobody = await raw(two, "ridclash", "outcome", {"strategy": "mm2", "rid": f"{one._rid_stem}99"})
            assert nobody == {"state": "unseen", "order": None}
            one._rid = 98  # mm1's next request goes under the id mm2 asked about
            assert (await rest_buy(v, one, ticks=40)).status == "new"
            # mm1's own outcome question still finds its own first place's reply
            again = await raw(one, "ridclash", "outcome", {"strategy": "mm1", "rid": rid})
            assert again["reply"]["result"]["client_id"] == theirs.client_id

    run(body)


def test_reconcile_by_order_id_alone_finds_the_strategys_open_order(nats_urls: list[str]) -> None:
    """A ``reconcile`` naming only the order id of the strategy's own resting order answers that order.
    Before, the gateway asked the venue about the client id "None" and answered None — "no trace of
    it" — for an order resting at the venue, on which a client may place it again."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("recoid"))), \
                remote(nats_urls, "recoid", "ro") as tr:  # fmt: skip
            o = await rest_buy(v, tr)
            got = await raw(
                tr, "recoid", "reconcile", {"strategy": "ro", "symbol": "BTCUSDT", "order_id": o.order_id}
            )
            assert got is not None and (got["client_id"], got["status"]) == (o.client_id, "new"), got

    run(body)


def test_a_query_naming_no_symbol_or_a_malformed_since_is_refused_before_the_venue(
    nats_urls: list[str],
) -> None:
    """``fills`` with no symbol, a symbol that is not text, or ``since_ms`` that is not an integer, and a
    ``status``/``cancel`` of the strategy's own order with its symbol ``None``: ``InvalidOrder``, and
    the venue is not asked. Before, each went to the venue as the text "None" or "abc" (a request
    against the account's rate budget, answered by the venue's own refusal or, for ``since_ms``, an
    empty list as if the account had no fills)."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("badq"))), \
                remote(nats_urls, "badq", "bq") as tr:  # fmt: skip
            o = await rest_buy(v, tr)
            sent = len(v.statuses())
            for op, b in (
                ("fills", {"symbol": None}),
                ("fills", {"symbol": 5}),
                ("fills", {"symbol": "BTCUSDT", "since_ms": "abc"}),
                ("fills", {"symbol": "BTCUSDT", "since_ms": 1.5}),
                ("status", {"symbol": None, "client_id": o.client_id}),
                ("cancel", {"symbol": None, "client_id": o.client_id, "rid": "bq.x.1"}),
                ("amend", {"symbol": None, "client_id": o.client_id, "qty": str(o.qty * 2), "rid": "bq.x.2"}),
            ):
                with pytest.raises(InvalidOrder):
                    await raw(tr, "badq", op, {"strategy": "bq", **b})
            assert len(v.statuses()) == sent
            assert [x.client_id for x in v.open("badq")] == [o.client_id]
            assert (await tr.fills("BTCUSDT", since_ms=0)) == []
            assert (await tr.cancel_order("BTCUSDT", client_id=o.client_id)).status == "canceled"

    run(body)


def test_garbage_and_unknown_requests_get_typed_errors_and_the_gateway_serves_on(
    nats_urls: list[str],
) -> None:
    """Bytes that are not JSON, JSON that is not an object, nesting past the parser's depth, an
    unknown op, a request naming no strategy, floats / NaN / negative / huge quantities, an unknown
    type or symbol, another strategy's id prefix: each a typed error (``InvalidOrder``), nothing at
    the venue, no ledger entry; then a well-behaved client is served."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("garbage"))) as gw, \
                remote(nats_urls, "garbage", "gq") as tr, \
                remote(nats_urls, "garbage", "gz") as other:  # fmt: skip
            subject = subjects.orders(VENUE, "garbage", "place")
            for data in (b"\xff\x00not json", b"[1, 2]", b"[" * 5000 + b"]" * 5000, b'"x"'):
                reply = orjson.loads((await tr.nc.request(subject, data, timeout=5)).data)
                assert isinstance(codec.error_from(reply), InvalidOrder), reply
            cases: list[tuple[str, dict[str, Any]]] = [
                ("frobnicate", {"strategy": "gq"}),
                ("place", {k: x for k, x in place_body(v, tr).items() if k != "strategy"}),
                ("place", place_body(v, tr, qty=0.01)),
                ("place", place_body(v, tr, qty="NaN")),
                ("place", place_body(v, tr, qty="-1")),
                ("place", place_body(v, tr, qty="1e40")),
                ("place", place_body(v, tr, qty=None)),
                ("place", place_body(v, tr, type="stop")),
                ("place", place_body(v, tr, symbol="NOPE")),
                ("place", place_body(v, tr, symbol=None)),
                ("place", place_body(v, tr, client_id=other.client_ids.next())),
                ("place", place_body(v, tr, client_id=12345)),
                ("place_many", {"strategy": "gq", "orders": "x", "rid": "gq.r.1"}),
                ("place_many", {"strategy": "gq", "orders": ["x"], "rid": "gq.r.2"}),
            ]
            for op, b in cases:
                with pytest.raises(TickwireError) as refused:
                    await raw(tr, "garbage", op, b)
                assert isinstance(refused.value, InvalidOrder), (op, b, refused.value)
            assert v.orders("garbage") == [] and await gw.accounts[0].events.ledger.opens() == {}
            assert (await rest_buy(v, tr)).status == "new"

    run(body)


def test_a_snapshot_request_for_a_malformed_symbol_token_is_answered_with_the_error_header(
    nats_urls: list[str],
) -> None:
    """A snapshot request whose symbol token is no %-escaping (``%ZZ``, a lone ``%``) is answered at
    once with the ``Tickwire-Error`` header an unknown symbol gets, and the service goes on serving a
    real book. Before, the token's decoding raised outside the handler's ``try``: no answer, the
    asker waited out its time-out."""
    from market_cases import gateway_config
    from tickwire.bus.client import connect
    from tickwire.sim import Simulator

    urls = nats_urls

    async def body() -> None:
        async with Simulator(["binance"], seed=7, rate=5, depth=10) as sim:
            gw = await Gateway(gateway_config("gsnap", urls, sim)).start()
            nc = await connect(urls)
            try:
                for tok in ("%ZZ", "%", "NOPE"):
                    msg = await nc.request(f"tw.snap.binance.{tok}.gsnap", b"", timeout=1.0)
                    assert msg.data == b"" and "Tickwire-Error" in (msg.headers or {}), (tok, msg.headers)
                for _ in range(50):  # the book synced: served
                    msg = await nc.request("tw.snap.binance.BTCUSDT.gsnap", b"", timeout=1.0)
                    if msg.data:
                        break
                    await asyncio.sleep(0.1)
                assert msg.data and not msg.headers
            finally:
                await nc.close()
                await gw.close()

    run(body)


def test_a_place_sent_twice_at_once_under_one_client_id_leaves_the_resting_order_in_the_ledger(
    nats_urls: list[str],
) -> None:
    """Two place requests of one client id sent together (a client that sent again under a new request
    id, a replay): the venue holds one order, the other request is refused with ``InvalidOrder`` — and
    the ledger the next gateway reads names the resting order. Before, the second overtook the first
    while the first's write-ahead awaited the store (50 ms here), placed the order, and the first, then
    refused as a reused id, took the entry back as its own: the order rested at the venue with no
    entry, so a gateway crash left its fills untold."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("twice"))) as gw, \
                remote(nats_urls, "twice", "tw2") as tr:  # fmt: skip
            ledger = gw.accounts[0].events.ledger
            opened = ledger.opened

            async def slow_store(cid: str, symbol: str) -> None:
                await asyncio.sleep(0.05)
                await opened(cid, symbol)

            ledger.opened = slow_store
            b = place_body(v, tr)
            got = await asyncio.gather(
                *(raw(tr, "twice", "place", {**b, "rid": f"tw2.x.{i}"}) for i in range(2)),
                return_exceptions=True,
            )
            placed = [g for g in got if isinstance(g, dict)]
            assert len(placed) == 1 and sum(isinstance(g, InvalidOrder) for g in got) == 1, got
            assert [o.client_id for o in v.open("twice")] == [b["client_id"]]
            await asyncio.sleep(0.2)  # whatever either request still had to do with the ledger
            left = await ledger.opens()
            assert left == {b["client_id"]: "BTCUSDT"}, f"the resting order's ledger entry: {left}"

    run(body)


def test_remote_place_orders_refuses_a_post_only_that_is_not_a_bool(nats_urls: list[str]) -> None:
    """``tr.place_orders([{…, "post_only": "false"}])`` raises ``InvalidOrder`` as ``place_order`` does
    for the same value, and nothing reaches the venue. Before, the remote client read the entry's
    flags with ``bool()`` before sending: the simulator held a post-only order nobody asked for."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("manyflags"))), \
                remote(nats_urls, "manyflags", "mf") as tr:  # fmt: skip
            b = place_body(v, tr)
            entry = {k: b[k] for k in ("symbol", "side", "type", "qty", "price")}
            for flag in ({"post_only": "false"}, {"reduce_only": "no"}):
                with pytest.raises(InvalidOrder, match="post_only and reduce_only"):
                    await tr.place_orders([{**entry, **flag}])
            assert v.orders("manyflags") == []
            [o] = await tr.place_orders([entry])
            assert not isinstance(o, Exception) and not o.post_only
            assert [(x.client_id, x.post_only) for x in v.orders("manyflags")] == [(o.client_id, False)]

    run(body)


def test_a_refusal_that_would_exceed_the_bus_payload_limit_is_still_answered_typed(
    nats_urls: list[str],
) -> None:
    """A place naming a 300 kB symbol of characters Python's ``repr`` spells four times longer: the
    refusal (``unknown symbol '\\x7f…'``) would be a 1.2 MB reply, over the server's 1 MB max payload.
    It is answered all the same — ``InvalidOrder``, its message cut — within the client's time-out, and
    nothing reaches the venue. Before, the reply was refused by nats-py and the error swallowed: no
    answer, the client timing out (``RequestTimeoutError``; for ``tickwire.remote``, an outcome
    question and more waiting) for a request the gateway had simply refused."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("huge"))) as gw, \
                remote(nats_urls, "huge", "hg") as tr:  # fmt: skip
            with pytest.raises(InvalidOrder, match="unknown symbol") as refused:
                await raw(tr, "huge", "place", place_body(v, tr, symbol="\x7f" * 300_000))
            assert len(str(refused.value)) < 10_000
            assert v.orders("huge") == [] and await gw.accounts[0].events.ledger.opens() == {}
            assert (await rest_buy(v, tr)).status == "new"

    run(body)


def test_a_kill_with_an_oversized_reason_is_answered_and_its_halt_kept(nats_urls: list[str]) -> None:
    """A kill whose ``reason`` is no short text (a 400,000-item list: 0.8 MB of JSON, 1.2 MB as the text
    the gateway makes of it) cancels the account's orders, is answered (``KillReport``), and its halt
    is kept in ``TW_GATEWAY`` so a restarted gateway still refuses orders. Before, the halt's write
    failed (over the store's max message size: "the halt was not stored", a restart a silent resume)
    and the report, carrying the reason, was over the bus's max payload: no answer, the client timing
    out on a kill that had run."""
    from tickwire.gateway.state import Halt, bucket

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("bigkill"))) as gw, \
                remote(nats_urls, "bigkill", "bk") as tr:  # fmt: skip
            await rest_buy(v, tr)
            report = await raw(
                tr, "bigkill", "kill", {"strategy": "bk", "rid": "bk.k.1", "reason": [0] * 400_000}
            )
            assert v.open("bigkill") == [] and len(report["cancelled"]) == 1
            kept = await Halt(await bucket(gw.nc), VENUE, "bigkill").get()
            assert kept is not None and kept.startswith("[0, 0"), (kept or "")[:80]
            await tr.resume()
            assert (await rest_buy(v, tr)).status == "new"

    run(body)
