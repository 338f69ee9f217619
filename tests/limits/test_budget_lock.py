"""The budgets' lock (``_core.BudgetLock``) behaves as ``threading.RLock`` does where the budgets use it:
re-entrant for its holder, exclusive across threads (a waiter gets it only once the holder let go of
every level), released only by its holder; the same scenario run on both must end alike."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tickwire import _core


@pytest.mark.parametrize("make", [threading.RLock, _core.BudgetLock])
def test_reentrant_for_its_holder_and_exclusive_across_threads(make: Any) -> None:
    lock = make()
    order: list[str] = []
    with lock:
        with lock:  # re-entrant: the window made while the budget holds the lock
            assert lock.acquire(False)
            lock.release()

        def other() -> None:
            assert not lock.acquire(False)  # held by the main thread
            with lock:  # waits for it
                order.append("other")

        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.15)
        order.append("holder")  # still ours: the other thread is waiting
    t.join(5)
    assert order == ["holder", "other"]


@pytest.mark.parametrize("make", [threading.RLock, _core.BudgetLock])
def test_only_the_holder_releases(make: Any) -> None:
    lock = make()
    lock.acquire()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            lock.release()
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert len(errors) == 1
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
