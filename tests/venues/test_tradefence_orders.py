"""The Tradefence grammar's client id -> venue order id map (``Orders._ids``) stays bounded in a
long-running session: one entry is learnt from every order read, and 100 orders a second for a week is
~60 million of them."""

from __future__ import annotations

from tickwire.venues.tradefence import orders as tf


def _body(i: int, status: str = "FILLED") -> dict[str, object]:
    return {
        "id": f"o{i}", "strategy": f"mm-{i}", "symbol": "BTC-USD", "side": "BUY", "type": "LIMIT",
        "quantity": "1", "price": "100", "status": status, "filled_quantity": "1",
        "average_price": "100", "created": 1_700_000_000_000 + i,
    }  # fmt: skip


def test_order_ids_learnt_from_answers_stay_capped(monkeypatch):
    monkeypatch.setattr(tf, "MAX_IDS", 500, raising=False)
    g = tf.Orders()
    for i in range(5_000):
        g.read_order(_body(i))
    assert len(g._ids) <= 500, f"{len(g._ids)} client ids remembered after 5000 ended orders (cap 500)"
    # The newest are the ones kept: a cancel by client id of a recent order still finds its venue id.
    assert g.venue_id("mm-4999", None) == "o4999"
    assert g.venue_id("mm-0", None) is None
    # An id read again is the newest again, not evicted as the oldest it once was.
    g.read_order(_body(4_600))
    for i in range(5_000, 5_450):
        g.read_order(_body(i))
    assert g.venue_id("mm-4600", None) == "o4600"
