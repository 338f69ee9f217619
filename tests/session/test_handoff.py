"""``dispatch="queue"``'s handoff (``session/handoff.py``) against a naive list model: a book waits
once however often it changes, the other events in order, at most ``maxlen`` in all with the oldest
dropped and counted; and against the simulator: a bot that stops reading holds a bounded queue."""

from __future__ import annotations

import queue
import threading
import time

import pytest
import tickwire
from hypothesis import given, settings
from hypothesis import strategies as st
from simproc import sim_process
from tickwire.session.handoff import Handoff

BOOKS = [object(), object(), object()]  # stand-ins for the route's one view per book


class Model:
    def __init__(self, maxlen: int) -> None:
        self.maxlen, self.items, self.dropped = maxlen, [], 0

    def put(self, kind: str, value: object) -> None:
        if kind == "book" and any(k == "book" and v is value for k, v in self.items):
            return
        self.items.append((kind, value))
        if len(self.items) > self.maxlen:
            self.items.pop(0)
            self.dropped += 1

    def get(self) -> tuple[str, object] | None:
        return self.items.pop(0) if self.items else None


ops = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, len(BOOKS) - 1)),
        st.tuples(st.just("trade"), st.integers(0, 1000)),
        st.tuples(st.just("get"), st.just(0)),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), ops)
def test_the_handoff_keeps_what_the_model_keeps(maxlen: int, steps: list[tuple[str, int]]) -> None:
    h, m = Handoff(maxlen), Model(maxlen)
    for op, n in steps:
        if op == "get":
            want = m.get()
            if want is None:
                with pytest.raises(queue.Empty):
                    h.get(timeout=0)
            else:
                got = h.get(timeout=0)
                assert got == want
        else:
            value = BOOKS[n] if op == "book" else n
            h.put(op, value)
            m.put(op, value)
        assert len(h) == len(m.items) and h.dropped == m.dropped


def test_get_waits_for_an_event_from_another_thread() -> None:
    h = Handoff(4)
    threading.Timer(0.05, h.put, ("trade", 1)).start()
    assert h.get(timeout=2) == ("trade", 1)
    with pytest.raises(ValueError):
        Handoff(0)


def test_a_bot_that_stops_reading_holds_a_bounded_queue() -> None:
    """OKX books and trades at 300 events a second; the bot reads nothing for a second. At most
    ``queue_max`` events wait (before: every one of them, for as long as it stayed away), the book
    once, the rest dropped and counted; then it reads the freshest."""
    with sim_process("--venue", "okx", "--rate", "300", "--depth", "20") as urls:
        with tickwire.connect_threaded(
            "okx", ["BTC-USDT"], channels=["book", "trades"], endpoints=urls["okx"],
            on_book=lambda b: None, on_trade=lambda t: None, dispatch="queue", queue_max=16,
            probe_interval=None,
        ) as md:  # fmt: skip
            time.sleep(1.0)
            h = md.health()
            assert h["queue_waiting"] <= 16 and h["queue_dropped"] > 0, h
            waiting = [md.get(timeout=0) for _ in range(h["queue_waiting"])]
            assert sum(k == "book" for k, _ in waiting) <= 1
            assert {k for k, _ in waiting} <= {"book", "trade", "status"}
