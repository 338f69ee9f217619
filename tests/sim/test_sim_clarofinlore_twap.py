"""Clarofinlore TWAP (seed-venues.md default ``POST /v1/orders/twap``): slices go out on schedule,
split the quantity exactly, fill against the ground-truth book, retries are idempotent, DELETE and
the kill switch stop it, and a slice the margin cannot pay ends it as failed."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from claro import Claro
from tickwire.sim import Simulator

SECRET = "twap-secret"


def test_twap_slices_schedule_and_idempotency() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=20) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            claro = Claro(sim.urls()["clarofinlore"][0]["rest"], "ck", SECRET)
            await claro.login()
            req = {"symbol": "btc-usdt", "side": "buy", "quantity": "0.00011", "duration_s": 0.3, "slices": 4}
            best = sim.book("clarofinlore", "btc-usdt", 1).asks[0]
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            status, t = await claro.call("POST", "/v1/orders/twap", {**req, "client_order_id": "tw1"})
            assert status == 200 and t["status"] == "running" and t["slices_done"] == 1
            # 11 lots in 4 slices: 3, 3, 3, 2.
            assert t["orders"][0]["quantity"] == "0.00003" and t["orders"][0]["client_order_id"] == "tw1.0"
            assert t["orders"][0]["status"] == "filled"
            # The slice took the best ask: the ground truth shows that level 3 lots smaller.
            after = sim.book("clarofinlore", "btc-usdt", 1).asks[0]
            assert after == (best[0], best[1] - Decimal("0.00003")) or after[0] > best[0]
            _, again = await claro.call("POST", "/v1/orders/twap", {**req, "client_order_id": "tw1"})
            assert again["twap_id"] == t["twap_id"], "a retried client order id starts nothing new"
            while True:
                _, t = await claro.call("GET", f"/v1/orders/twap/{t['twap_id']}")
                if t["status"] != "running":
                    break
                await asyncio.sleep(0.02)
            elapsed = loop.time() - t0
            assert t["status"] == "done" and 0.2 <= elapsed < 1.0, elapsed  # last slice at 3/4 of 0.3 s
            assert [o["quantity"] for o in t["orders"]] == ["0.00003", "0.00003", "0.00003", "0.00002"]
            assert t["filled"] == "0.00011"
            _, acct = await claro.call("GET", "/v1/account")
            assert acct["positions"][0]["quantity"] == "0.00011"

    asyncio.run(go())


def test_twap_stopped_by_delete_kill_switch_and_margin() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=20) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            claro = Claro(sim.urls()["clarofinlore"][0]["rest"], "ck", SECRET)
            await claro.login()
            slow = {
                "symbol": "btc-usdt",
                "side": "sell",
                "quantity": "0.0001",
                "duration_s": 30,
                "slices": 10,
            }
            _, a = await claro.call("POST", "/v1/orders/twap", {**slow, "client_order_id": "a"})
            _, b = await claro.call("POST", "/v1/orders/twap", {**slow, "client_order_id": "b"})
            _, a = await claro.call("DELETE", f"/v1/orders/twap/{a['twap_id']}")
            assert a["status"] == "cancelled" and a["slices_done"] == 1
            await claro.call("POST", "/v1/orders/cancel-all")
            _, b = await claro.call("GET", f"/v1/orders/twap/{b['twap_id']}")
            assert b["status"] == "cancelled" and b["slices_done"] == 1

            # 100 USDT at 10x pays for about 0.0166 BTC: the third 0.006 slice cannot be paid for.
            sim.fund("clarofinlore", "ck", {"USDT": "100"})
            await claro.call("POST", "/v1/positions/close-all")
            big = {"symbol": "btc-usdt", "side": "buy", "quantity": "0.03", "duration_s": 0.05, "slices": 5}
            _, c = await claro.call("POST", "/v1/orders/twap", {**big, "client_order_id": "c"})
            await asyncio.sleep(0.15)
            _, c = await claro.call("GET", f"/v1/orders/twap/{c['twap_id']}")
            assert c["status"] == "failed" and c["reason"] == "insufficient margin" and c["slices_done"] == 2
            assert not sim.errors

    asyncio.run(go())
