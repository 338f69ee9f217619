"""A bounded soak: three venues (Binance over A/B lines) against the simulator in its own process,
under a steady rate of faults for ``TICKWIRE_SOAK_S`` seconds (30 by default, within CI's time;
hours for a real soak). Every book must end equal to the simulator's, and the client's memory must
stay flat: allocated bytes and live Python objects in the second half of the run no higher than in
the first beyond a small allowance."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import time
import tracemalloc
from decimal import Decimal
from typing import Any

import tickwire
from simbook import Recorder, eventually
from simproc import control, sim_process

SOAK_S = float(os.environ.get("TICKWIRE_SOAK_S", "30"))
# Settling after the last fault may wait out a line's reconnect back-off (30 s at most by default).
SETTLE_S = 60.0
VENUES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "binance": (["BTCUSDT", "ETHUSDT"], {"redundancy": 2}),
    "okx": (["BTC-USDT", "ETH-USDT"], {}),
    "htx": (["btcusdt"], {"venue_options": {"levels": 20}}),
}


def _fault(rng: random.Random) -> dict[str, Any]:
    venue = rng.choice(sorted(VENUES))
    sym = rng.choice(VENUES[venue][0])
    kind = rng.choice(["drop", "gap", "gap", "malformed", "corrupt_checksum" if venue == "okx" else "gap"])
    args = {"symbol": sym} if kind in ("gap", "corrupt_checksum") else {}
    ep = rng.randrange(2) if venue == "binance" else 0
    return {"venue": venue, "endpoint": ep, "fault": kind, "args": args}


async def _truth(urls: dict[str, Any], venue: str, sym: str) -> Any:
    depth = "&depth=20" if venue == "htx" else ""
    return await control(urls, f"/book?venue={venue}&symbol={sym}{depth}")


async def _equal(urls: dict[str, Any], md: Any, venue: str, sym: str) -> bool:
    truth = await _truth(urls, venue, sym)
    want = [(float(Decimal(p)), float(Decimal(q))) for p, q in truth["bids"]]
    return bool(md.is_synced(sym) and md.book(sym).levels("bid", len(want)) == want)


def test_soak_under_steady_faults_memory_flat() -> None:
    args = ["--rate", "300", "--depth", "30", "--endpoints", "binance=2"]
    for v in VENUES:
        args += ["--venue", v]

    async def go(urls: dict[str, Any]) -> None:
        rng = random.Random(99)
        rec = Recorder()
        sessions = {
            v: tickwire.connect(
                v, syms, endpoints=urls[v], on_status=rec, on_book=lambda b: None, probe_interval=1.0, **o
            )
            for v, (syms, o) in VENUES.items()
        }
        await asyncio.gather(*(md.start() for md in sessions.values()))
        tracemalloc.start()
        faults = 0
        snaps: list[tuple[int, int]] = []
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < SOAK_S:
            await asyncio.sleep(0.25)
            await control(urls, "/fault", _fault(rng))
            faults += 1
            rec.events.clear()  # the test's own log must not count as the library's memory
            if (not snaps and elapsed > SOAK_S / 3) or (len(snaps) == 1 and elapsed > SOAK_S * 0.95):
                gc.collect()
                snaps.append((tracemalloc.get_traced_memory()[0], len(gc.get_objects())))
        tracemalloc.stop()
        # Settle before the market is frozen for the comparison. A book fault waits for its symbol's
        # next message (faults injected while a line sits out its reconnect back-off pile up for its
        # return), and a lost message shows only when the one after it arrives: frozen too early, a
        # book can stay an update behind while in sync by every sign the stream gives. So: every
        # fault applied, then every book in sync past where the simulator stood at that moment.
        end = time.monotonic() + SETTLE_S
        while True:
            pending = await control(urls, "/faults/pending")
            if not any(p for eps in pending.values() for p in eps):
                break
            assert time.monotonic() < end, f"faults not applied within {SETTLE_S} s: {pending}"
            await asyncio.sleep(0.05)
        marks = {(v, s): (await _truth(urls, v, s))["update_id"] for v in VENUES for s in VENUES[v][0]}
        for (v, s), mark in marks.items():
            await eventually(
                lambda md=sessions[v], s=s, mark=mark: md.is_synced(s) and md.book(s).last_update_id > mark,
                timeout=SETTLE_S,
                what=f"{v} {s} in sync past update {mark}",
            )
        await control(urls, "/pause", {})
        for v, (syms, _) in VENUES.items():
            for s in syms:
                ok = False
                for _ in range(200):
                    if ok := await _equal(urls, sessions[v], v, s):
                        break
                    await asyncio.sleep(0.02)
                assert ok, (v, s, sessions[v].health())
        health = {v: md.health() for v, md in sessions.items()}
        await asyncio.gather(*(md.close() for md in sessions.values()))
        (mem1, obj1), (mem2, obj2) = snaps
        print(f"\nsoak {SOAK_S:.0f} s, {faults} faults; memory {mem1}→{mem2} B, objects {obj1}→{obj2}")
        assert mem2 - mem1 < 256_000, (mem1, mem2)
        assert obj2 - obj1 < 1_000, (obj1, obj2)
        assert faults > SOAK_S * 3
        assert health["okx"]["resyncs"] > 0 and health["binance"]["arbiter"]["duplicates"] > 0
        assert health["okx"]["reconnects"] > 0

    with sim_process(*args) as urls:
        tickwire.run(go(urls))
