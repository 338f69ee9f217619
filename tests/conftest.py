"""Shared fixtures: the NATS server skip, fresh rate windows per test, a short lost-order wait and a
short OKX ``expTime``, the helper folders on the path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Helper modules beside the suites that use them (simclient, certs, simbook, simproc, session_cases,
# gateway_harness, the limits suites' accounts): importable from any suite, whatever order pytest
# collects the folders in.
for helpers in ("sim", "session", "trading", "gateway", "limits"):
    sys.path.insert(0, str(Path(__file__).resolve().parent / helpers))


@pytest.fixture
def needs_nats_server() -> None:
    """A skip with the reason when there is no nats-server binary (``pytest.mark.usefixtures``)."""
    from tickwire.bus.server import NatsServerMissing, binary

    try:
        binary()
    except NatsServerMissing as e:
        pytest.skip(str(e))


@pytest.fixture(autouse=True)
def fresh_rate_windows() -> Iterator[None]:
    """Each test starts with the venues' rate windows empty. They are process-wide — every session on
    one key or one address counts in one window, as in production — and the tests reuse keys, so
    without this a test's requests were counted against the next one's (a Kraken test after eight
    others on the same key found its 15-per-45 s window full and was refused a 45 s wait)."""
    yield
    from tickwire.limits import budget

    with budget._lock:
        budget._windows.clear()
        budget._announced.clear()


# What a session waits, by default, before calling a lost order with no trace "not placed" where the
# venue bounds no request's life (``lost_order_wait_s``), in the suite: see ``short_lost_order_wait``.
SUITE_LOST_ORDER_WAIT_S = 0.5


@pytest.fixture(autouse=True)
def short_lost_order_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions a test builds without ``lost_order_wait_s`` wait ``SUITE_LOST_ORDER_WAIT_S``, not the
    library's 5 s: each lost-answer case on OKX over REST, Kraken, Coinbase, HTX, Clarofinlore,
    Tradefence or USDⓈ-M whose order is absent would wait 5 s (as the short time-outs the cases set, a
    shorter bound with the same steps). The cases of the wait itself name it; a test that reads the
    library's default undoes this (``monkeypatch.undo()``). Sessions in a subprocess keep 5 s."""
    from tickwire.trading import request_path

    monkeypatch.setattr(request_path, "LOST_ORDER_WAIT_S", SUITE_LOST_ORDER_WAIT_S)


# OKX's ``expTime`` in the suite (ms from signing; ``request_ttl_ms``, 5 s by default): see
# ``short_okx_exptime``.
SUITE_OKX_TTL_MS = 2000


@pytest.fixture(autouse=True)
def short_okx_exptime(monkeypatch: pytest.MonkeyPatch) -> None:
    """OKX's places and amends carry ``expTime`` (over REST and its socket), and a lost one is called
    absent once it has passed: in the suite 2 s, not 5 s, so each lost-answer case on OKX waits that
    (the simulator handles every request well within it; a case that holds one longer sets its own).
    ``okx_without_exptime``: none, OKX then a venue that bounds no request's life."""
    from tickwire.venues.okx.orders import Orders

    monkeypatch.setattr(Orders, "request_ttl_ms", SUITE_OKX_TTL_MS)


@pytest.fixture
def okx_without_exptime(monkeypatch: pytest.MonkeyPatch) -> None:
    """OKX sends no ``expTime``: a venue that bounds no request's life, its lost orders' verdicts
    waiting the session's ``lost_order_wait_s`` (``pytest.mark.usefixtures``)."""
    from tickwire.venues.okx.orders import Orders

    monkeypatch.setattr(Orders, "request_ttl_ms", 0)
