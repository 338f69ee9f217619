"""``tickwire.trade("tradefence")`` against the simulator: the shared cases (``session_cases``), every
session opened with the OAuth code flow captured on a loopback redirect; Tradefence's own batch, AI
recommendations and account; the webhook receiver fed by the simulator's own webhook sender."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import tickwire
from session_cases import Body, SessionCases, SimAccount
from tickwire.sim import Simulator
from tickwire.transport.http import HttpClient
from tickwire.venues import tradefence


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CID, SECRET = "tf-client", "tf-client-secret"
REDIRECT = f"http://127.0.0.1:{_free_port()}/callback"


async def follow(url: str) -> None:
    """The user's browser: asks for the authorization (the simulator consents at once) and follows
    its redirect to the loopback URI, where the signer captures the code."""
    u = urlsplit(url)
    async with HttpClient(f"{u.scheme}://{u.netloc}") as http:
        r = await http.get(u.path, query=u.query)
    assert r.status == 302, r.status
    loc = urlsplit(r.headers["location"])
    async with HttpClient(f"{loc.scheme}://{loc.netloc}") as http:
        assert (await http.get(loc.path, query=loc.query)).status == 200


@dataclass(frozen=True)
class OAuthAccount(SimAccount):
    """A Tradefence account: the session's bearer token comes from the code flow against this
    simulator (its URL is known only once it runs)."""

    def run(self, body: Body, **trade_kw: Any) -> None:
        async def go() -> None:
            async with Simulator([self.venue], seed=31, rate=0, depth=20, **self.sim_kw(trade_kw)) as sim:
                self.register(sim.venue(self.venue))
                sim.fund(self.venue, self.key, self.funds)
                signer = tradefence.Signer(
                    CID, SECRET, redirect_uri=REDIRECT, auth_url=sim.urls()[self.venue][0]["rest"]
                )
                await signer.authorize(follow)
                async with tickwire.trade(
                    self.venue, credentials=signer, endpoints=sim.urls()[self.venue], **trade_kw
                ) as tr:
                    await body(sim, tr)

        asyncio.run(go())

    @staticmethod
    def sim_kw(trade_kw: dict[str, Any]) -> dict[str, Any]:
        timeouts = trade_kw.pop("sim_timeouts", None)
        return {"timeouts": timeouts} if timeouts else {}


TRADEFENCE = OAuthAccount(
    venue="tradefence",
    symbol="AAPL",
    key=CID,
    signer=None,
    register=lambda v: v.add_client(CID, SECRET, REDIRECT),
    place_op="POST /v1/orders",
    unknown_symbol="NOPE",
    # The shared cases size their refusal from "BTC" and check BTC and USDT balances: they are held
    # here untouched, next to the USD and AAPL that trade (checked in this module's own tests).
    funds={"USD": "1000000", "AAPL": "100", "BTC": "100", "USDT": "0"},
)


class TestTradefence(SessionCases):
    acct = TRADEFENCE
