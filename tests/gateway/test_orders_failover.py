"""A gateway surviving what breaks around it, each against the simulator and a real nats-server: a
lease re-check the store does not answer (asked again until it does), a start while the venue is
unreachable (started again until it is), a step-down (its dead-man switch no longer refreshed), a
stop with events JetStream did not take (left to the next gateway's catch-up), and a config whose
repr shows no NATS password. Each failed on the code before 2026-12-05 (found by a review)."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import pytest
from gateway_harness import (
    FAST_COUNTDOWNS,
    VENUE,
    NatsProxy,
    config,
    outcome,
    proxied,
    remote,
    rest_buy,
    resting_qty,
    run,
    service,
    venue,
)
from session_cases import settle
from tickwire.errors import TransportError
from tickwire.gateway.config import GatewayConfig
from tickwire.gateway.run import Gateway
from tickwire.trading.orders import Fill

nats_urls = gateway_harness.nats_urls


async def take(v: Any, tr: Any, symbol: str = "BTCUSDT") -> Any:
    """A buy at the best ask: filled at once."""
    price = v.sim.book(VENUE, symbol).asks[0][0]
    return await tr.place_order(symbol, "buy", "limit", resting_qty(tr, symbol, price), price)


def test_a_lease_recheck_that_fails_once_does_not_leave_the_gateway_deaf(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's link drops and comes back; the lease re-check meets a KV store not answering yet
    (JetStream recovering after a node restart): it is asked again until it answers, and requests are
    answered again. Before, ``suspect`` stayed set "to be asked at the next return", with no next
    return: every request went unanswered for good while the heartbeat said the gateway was alive."""
    import tickwire.gateway.state as state

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v, Gateway(config([url], v.account("deaf"), name="gwdeaf")) as gw, \
                remote(nats_urls, "deaf", "d1", timeout=1.0) as tr:  # fmt: skip
            held, calls = state.Lease.held, []

            async def store_not_ready_once(self: Any) -> bool:
                calls.append(1)
                if len(calls) == 1:
                    raise TimeoutError("nats: timeout")  # JetStream not answering yet
                return await held(self)

            monkeypatch.setattr(state.Lease, "held", store_not_ready_once)
            proxy.cut()
            await settle(lambda: bool(calls) and gw.nc.is_connected, "link back, lease re-checked", 10)
            await asyncio.sleep(2.0)  # the store answers again long since
            assert tr.health()["gateway_alive"]  # heartbeat: "alive"
            assert await tr.open_orders() == []  # RequestTimeoutError: never answered again
            assert (await rest_buy(v, tr)).status == "new"

    run(body)


def test_a_gateway_started_during_a_venue_outage_serves_once_the_venue_is_back(nats_urls: list[str]) -> None:
    """The gateway restarts while the venue is unreachable (maintenance, a network blip): its session is
    started again in the background until the venue is back, and then serves — the kill flattens the
    account. Before, the start's error was kept for good and the lease kept any other gateway out."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("outage")
            [ep] = acct["options"]["endpoints"]
            proxies: list[NatsProxy] = []

            async def via_proxy(url: str) -> str:
                scheme, rest = url.split("://", 1)
                hostport, _, path = rest.partition("/")
                p = NatsProxy(int(hostport.rsplit(":", 1)[1]))
                proxies.append(p)
                port = (await p.start()).rsplit(":", 1)[1]
                return f"{scheme}://127.0.0.1:{port}" + (f"/{path}" if path else "")

            ws_base = ep["ws"]["ws"].rsplit("/", 1)[0]
            ws_proxy = (await via_proxy(ws_base + "/")).rstrip("/")
            ep = {"ws": {k: u.replace(ws_base, ws_proxy) for k, u in ep["ws"].items()},
                  "rest": await via_proxy(ep["rest"])}  # fmt: skip
            acct["options"] = {"endpoints": [ep]}
            async with Gateway(config(nats_urls, acct, name="gwout")), \
                    remote(nats_urls, "outage", "o1") as tr:  # fmt: skip
                o = await rest_buy(v, tr)
            assert [x.client_id for x in v.open("outage")] == [o.client_id]
            for p in proxies:
                p.refuse = True
                p.cut()
            async with Gateway(config(nats_urls, acct, name="gwout")) as gw:
                assert service(gw, "outage").failed is not None  # the venue is away at the start
                for p in proxies:
                    p.refuse = False
                await asyncio.sleep(2.0)  # the venue is back
                async with remote(nats_urls, "outage", "o1", timeout=10.0) as tr:
                    await tr.kill("flatten")
                    assert v.open("outage") == []

    run(body)


# The take-over gateway in its own process (so it can be SIGKILLed), a stale lease taken after 0.5 s.
PATCHED_GATEWAY = (
    "import sys, tickwire.gateway.state as s; s.STARTING_S = 0.5; "
    "from tickwire.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_a_gateway_that_stepped_down_no_longer_refreshes_the_dead_man_switch(
    nats_urls: list[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A loses its NATS link, B takes the account over, A's link returns and A steps down, its
    dead-man switch no longer refreshed. A is then closed (B frozen meanwhile, so none of its refreshes
    hides what A's close does) and B SIGKILLed: the venue's countdown cancels the account's orders,
    as for any dead gateway. Before, A's stepped-down session kept refreshing the countdown, so the
    orders stayed open with no gateway serving the account; and (until stop 46) A's close disarmed the
    countdown B had armed — a clean close of a session that was no longer the account's."""
    import json
    import signal
    import sys

    import tickwire.gateway.state as state
    from gateway_harness import child_env, write_config

    monkeypatch.setattr(state, "STARTING_S", 0.5)

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue(FAST_COUNTDOWNS) as v:
            acct = v.account("stepdm")
            acct["options"]["dead_man"] = 1.0
            a = await Gateway(config([url], acct, name="gwsa")).start()
            proc = None
            try:
                async with remote(nats_urls, "stepdm", "sd") as tr:
                    await rest_buy(v, tr)
                proxy.refuse = True
                proxy.cut()
                await asyncio.sleep(1.0)  # A's lease is older than STARTING_S
                path = write_config(tmp_path / "gateway.json", nats_urls, acct, name="gwsb")
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", PATCHED_GATEWAY, "gateway", "--config", str(path),
                    env=child_env(), stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                assert proc.stdout is not None
                assert json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))["gateway"] == "gwsb"
                proxy.refuse = False
                await settle(lambda: service(a, "stepdm").stepped_down, "A to step down", 10)
                assert len(v.open("stepdm")) == 1
                proc.send_signal(signal.SIGSTOP)
                await a.close()
                assert v.dead_man().armed("key-stepdm"), "A's close disarmed B's countdown"
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                await settle(lambda: not v.open("stepdm"), "the venue's countdown", 4.0)
            finally:
                if proc is not None and proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                await a.close()

    run(body)


def test_events_queued_when_the_gateway_stops_reach_the_client_from_the_next_gateway(
    nats_urls: list[str],
) -> None:
    """A taker fills while JetStream does not take the gateway's publishes (a leader election, an
    outage); the gateway is stopped (a deploy) with the fill still queued: its order is left in the
    ledger, so the next gateway's catch-up tells the fill. Before, the queue was dropped and the order,
    never heard open, was not in the ledger: the client never heard the fill."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("dropped")
            fills: list[Fill] = []
            gw = await Gateway(config(nats_urls, acct, name="gwdrop")).start()
            async with remote(nats_urls, "dropped", "mm1", on_fill=fills.append, timeout=3.0) as tr:
                svc = service(gw, "dropped")

                async def refused(*a: Any, **k: Any) -> Any:
                    raise TimeoutError("nats: timeout")

                svc.events.js.publish = refused  # type: ignore[method-assign]
                o = await take(v, tr)
                assert o.status == "filled"
                await gw.close()  # the fill still queued
                async with Gateway(config(nats_urls, acct, name="gwdrop")):
                    made = sorted(str(f.trade_id) for x in v.orders("dropped") for f in x.fills)
                    await settle(lambda: sorted(f.trade_id for f in fills) == made, "the fill", 8)

    run(body)


def test_order_entry_is_refused_while_the_event_backlog_is_at_its_bound_and_nothing_queued_is_lost(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """JetStream takes none of the gateway's events (its publishes meet the real server's "no
    responders", as with the stream away) while a taker fills and resting orders are placed: once 4
    events wait (the bound, made small here), a new order is refused, unsent (``TransportError``), and
    never reaches the venue; a cancel-all still runs, its events queued past the bound. Once JetStream
    takes them, the client hears the fill (the simulator's trade ids) and every order's end, and order
    entry is accepted again. Before, the backlog had no bound: every order went through while nothing
    could be stored, the events held in memory without limit ("no refusal")."""
    import tickwire.gateway.events as events

    monkeypatch.setattr(events, "BACKLOG_MAX", 4, raising=False)  # raising: the code before had none

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("backlog"), name="gwbl")) as gw:
            heard: list[Any] = []
            fills: list[Fill] = []
            async with remote(
                nats_urls, "backlog", "bl", on_order=heard.append, on_fill=fills.append, timeout=3.0
            ) as tr:
                svc = service(gw, "backlog")
                stream = dict(svc.events._subject)
                svc.events._subject = {k: f"twtest.nostream.{k}" for k in stream}  # no stream takes these
                assert (await take(v, tr)).status == "filled"
                rested: list[Any] = []
                refused: Any = None
                for i in range(8):
                    got = await outcome(rest_buy(v, tr, ticks=30 + i))
                    if isinstance(got, Exception):
                        refused = got
                        break
                    rested.append(got)
                queued = svc.events.backlog
                assert refused is not None, f"no refusal: {len(rested)} orders placed, {queued} events queued"
                assert isinstance(refused, TransportError), repr(refused)
                assert getattr(refused, "unsent", False), repr(refused)
                assert "not yet stored in JetStream" in str(refused), refused
                # The refused order never reached the venue.
                assert len(v.orders("backlog")) == 1 + len(rested)
                assert svc.events.backlog >= 4 and svc.events.published == 0

                await tr.cancel_all()  # takes risk away: run, its events queued past the bound
                assert v.open("backlog") == [] and svc.events.backlog > 4

                svc.events._subject = stream  # JetStream back
                made = sorted(str(f.trade_id) for x in v.orders("backlog") for f in x.fills)
                ended = {x.client_id for x in v.orders("backlog")}
                assert made
                await settle(lambda: sorted(f.trade_id for f in fills) == made, "the fill heard", 5)
                await settle(
                    lambda: {o.client_id for o in heard if not o.is_open} >= ended, "the ends heard", 5
                )
                assert (await rest_buy(v, tr, ticks=50)).status == "new"

    run(body)


def test_the_gateway_configs_repr_shows_no_nats_password() -> None:
    secret = "S3cretNatsPass"
    cfg = GatewayConfig.from_dict({"gateway": {"name": "g", "nats": [f"nats://tw:{secret}@127.0.0.1:4222"]}})
    assert secret not in repr(cfg)


def test_the_gateway_configs_repr_shows_no_session_option() -> None:
    """Session options may carry secrets (Tradefence's ``webhook_secret``, a token in an endpoint's
    URL); the config's repr leaves them out (before 2026-12-05 it showed them)."""
    hook, token = "Hook-secret-never-seen", "Url-token-never-seen"
    cfg = GatewayConfig.from_dict(
        {
            "gateway": {"name": "g", "nats": ["nats://127.0.0.1:4222"]},
            "account": [{"name": "a", "venue": "tradefence", "options": {"webhook_secret": hook}}],
            "market": [
                {"venue": "okx", "symbols": ["BTC-USDT"], "options": {"endpoints": [f"wss://x/?t={token}"]}}
            ],
        }
    )
    assert cfg.accounts[0].options["webhook_secret"] == hook  # read, only not shown
    assert hook not in repr(cfg) and token not in repr(cfg)
