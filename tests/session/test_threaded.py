"""The thread-backed handle for synchronous bots, against the simulator in its own process."""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from simproc import control, sim_process


def test_threaded_handle_serves_books_to_a_synchronous_bot() -> None:
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        seen_threads: set[str] = set()

        def on_book(book: Any) -> None:
            seen_threads.add(threading.current_thread().name)

        md = tickwire.connect_threaded(
            "binance", ["BTCUSDT"], endpoints=urls["binance"], on_book=on_book, probe_interval=None
        )
        try:
            assert md.is_synced("BTCUSDT")
            # Callbacks fire on live updates, and start() returns the moment the snapshot lands:
            # under load the next update can be many milliseconds away. Wait for one, so the
            # reads below run while frames arrive and the callback check has something to check.
            end = time.monotonic() + 10.0
            while not seen_threads and time.monotonic() < end:
                time.sleep(0.005)
            # Consistent reads from this (non-loop) thread while frames keep arriving.
            for _ in range(200):
                with md.locked():
                    bid = md.book("BTCUSDT").best_bid()
                    ask = md.book("BTCUSDT").best_ask()
                assert bid is not None and ask is not None and bid[0] < ask[0]
            # The books equal the simulator process's own (paused) books.
            asyncio.run(control(urls, "/pause", {}))
            truth = asyncio.run(control(urls, "/book?venue=binance&symbol=BTCUSDT"))
            want = [(float(Decimal(p)), float(Decimal(q))) for p, q in truth["bids"]]
            end = time.monotonic() + 3.0
            while True:  # frames already in flight land within a moment
                with md.locked():
                    got = md.book("BTCUSDT").levels("bid", 1000)
                if got == want or time.monotonic() > end:
                    break
                time.sleep(0.02)
            assert got == want
            assert md.health()["lines"][0]["connected"]
            assert seen_threads == {"tickwire-binance"}  # callbacks ran on the session's thread
        finally:
            md.close()
        assert not md._thread.is_alive()
        # After the close, as the async session does, its health says so (before: LoopStopped raised).
        assert not any(line["connected"] for line in md.health()["lines"])


def test_a_callback_may_hold_the_books_still_as_the_readme_shows() -> None:
    """``on_book`` runs on the session thread inside the frame's hold on the books; ``with md.locked():``
    there takes it again instead of waiting for itself (before: the session froze for good)."""
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        held: list[float] = []
        box: list[Any] = []

        def on_book(book: Any) -> None:
            if box:
                with box[0].locked():
                    bid = book.best_bid()
                    assert bid is not None
                    held.append(bid[0])

        md = tickwire.connect_threaded(
            "binance", ["BTCUSDT"], endpoints=urls["binance"], on_book=on_book, probe_interval=None
        )
        box.append(md)
        try:
            end = time.monotonic() + 10.0
            while len(held) < 20 and time.monotonic() < end:
                time.sleep(0.01)
            assert len(held) >= 20  # frames kept being applied and called back
            with md.locked():  # and this thread can still take it between frames
                assert md.book("BTCUSDT").best_bid() is not None
        finally:
            md.close()
        assert not md._thread.is_alive()


def test_threaded_queue_dispatch_and_start_failure() -> None:
    with sim_process("--venue", "okx", "--rate", "300", "--depth", "20") as urls:
        with tickwire.connect_threaded(
            "okx",
            ["BTC-USDT"],
            endpoints=urls["okx"],
            on_book=lambda b: None,
            dispatch="queue",
            probe_interval=None,
        ) as md:
            kinds = {md.get(timeout=2)[0] for _ in range(20)}
            assert "book" in kinds
    # Nothing listens here: start() raises the session's error in the caller's thread.
    with pytest.raises(tickwire.errors.RequestTimeoutError):
        tickwire.connect_threaded(
            "okx",
            ["BTC-USDT"],
            endpoints=[{"ws": "ws://127.0.0.1:9/"}],
            ready_timeout=0.5,
            probe_interval=None,
        )


def test_a_snapshot_waits_while_a_reader_holds_the_books() -> None:
    """``md.locked()`` holds every change to the books, not only the frames': a resync's REST snapshot
    fetched while a reader holds them is applied once the reader lets go (before: applied under the
    reader's hold, the resync done within it). The simulator process is paused, so no frame comes
    between."""
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        md = tickwire.connect_threaded("binance", ["BTCUSDT"], endpoints=urls["binance"], probe_interval=None)
        try:
            asyncio.run(control(urls, "/pause", {}))
            time.sleep(0.2)  # frames already in flight land
            inner, book = md.md, md.book("BTCUSDT")
            with md.locked():
                before = book.levels("bid", 1000)
                md._thread.loop.call_soon_threadsafe(inner.resyncer.request, "BTCUSDT", "test")
                time.sleep(0.5)  # the snapshot is fetched on loopback in milliseconds
                assert "BTCUSDT" in inner.resyncer.tasks and book.levels("bid", 1000) == before
            end = time.monotonic() + 5.0
            while "BTCUSDT" in inner.resyncer.tasks and time.monotonic() < end:
                time.sleep(0.01)
            assert "BTCUSDT" not in inner.resyncer.tasks and md.is_synced("BTCUSDT")
            truth = asyncio.run(control(urls, "/book?venue=binance&symbol=BTCUSDT"))
            want = [(float(Decimal(p)), float(Decimal(q))) for p, q in truth["bids"]]
            with md.locked():
                assert book.levels("bid", 1000) == want
        finally:
            md.close()


def _acting_in_a_callback(urls: Any, act: Any) -> tuple[Any, list[Any]]:
    """A threaded handle on the simulator's Binance whose first ``on_book`` (on the session thread)
    runs ``act(handle)``: the handle, and what ``act`` returned or raised, once it has run."""
    box: list[Any] = []
    got: list[Any] = []

    def on_book(book: Any) -> None:
        if box and not got:
            try:
                got.append(act(box[0]))
            except Exception as e:
                got.append(e)

    md = tickwire.connect_threaded(
        "binance", ["BTCUSDT"], endpoints=urls["binance"], on_book=on_book, probe_interval=None
    )
    box.append(md)
    return md, got


def test_a_callback_may_read_the_handles_health() -> None:
    """``on_book`` runs on the session thread; ``md.health()`` there answers at once (before: it waited
    for the very thread it blocked, froze the session for the call's 5 s and raised ``TimeoutError``)."""
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        md, got = _acting_in_a_callback(urls, lambda md: md.health())
        try:
            end = time.monotonic() + 10.0
            while not got and time.monotonic() < end:
                time.sleep(0.01)
            assert got and isinstance(got[0], dict), got
            assert got[0]["lines"][0]["connected"]
        finally:
            md.close()


def test_a_close_from_a_callback_begins_the_close_and_returns() -> None:
    """``on_book`` (the session thread) closes the handle: the close returns at once and the session
    closes behind it (before: ``RuntimeError: cannot join current thread`` raised in the callback)."""
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        md, got = _acting_in_a_callback(urls, lambda md: md.close() or "returned")
        try:
            end = time.monotonic() + 10.0
            while md._thread.is_alive() and time.monotonic() < end:
                time.sleep(0.01)
            assert got == ["returned"], got
            assert not md._thread.is_alive()
            assert not any(line["connected"] for line in md.health()["lines"])
        finally:
            md.close()
