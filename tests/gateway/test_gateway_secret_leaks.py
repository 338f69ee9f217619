"""The gateway publishes no secret: what it answers on NATS about an account whose session did not
start (review of the secret-handling rule)."""

from __future__ import annotations

import logging

import gateway_harness
import pytest
from gateway_harness import VENUE, config, remote, run, venue
from tickwire.bus import subjects
from tickwire.bus.server import free_port
from tickwire.errors import TickwireError
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session
pytestmark = pytest.mark.usefixtures("needs_nats_server")


def test_a_session_that_could_not_open_its_user_data_stream_publishes_no_listen_key(
    nats_urls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The account's user data stream (``<private base>/<listenKey>``) cannot connect: the error every
    request is answered with over NATS (and the gateway's log) must not carry the listenKey."""
    seen: list[str] = []
    issued: list[str] = []

    async def body() -> None:
        async with venue() as v:
            acct = v.account("leaky")
            eps = [dict(e) for e in acct["options"]["endpoints"]]
            ws = dict(eps[0]["ws"])
            ws["private"] = f"ws://127.0.0.1:{free_port()}/private/ws"
            eps[0]["ws"] = ws
            acct["options"] = {"endpoints": eps, "timeout": 1.0}
            async with (
                Gateway(config(nats_urls, acct, name="gwleak")),
                remote(nats_urls, "leaky", "lk") as tr,
            ):
                try:
                    await tr.balances()
                except TickwireError as e:
                    seen.extend([str(e), repr(e.args)])
                raw = await tr.nc.request(subjects.orders(VENUE, "leaky", "health"), b"{}", timeout=2.0)
                seen.append(raw.data.decode())
            issued.extend(v.sim.venue(VENUE).listen_keys.issued)

    with caplog.at_level(logging.DEBUG):
        run(body)
    seen.extend(r.getMessage() for r in caplog.records)
    text = "\n".join(seen)
    assert issued, "no listenKey was issued"
    for key in issued:
        assert key not in text, f"listenKey {key!r} published: {text[:800]!r}"
