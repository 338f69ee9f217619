"""A request written well after its weight was taken — its new connection slow to set up (a distant
venue's TLS handshake, a stall of the process) — is counted by the venue from its arrival. The budget
counted it from the take, so its weight left the budget's window early and let the next request in
while the venue still counted it: a window full at its edge crossed by one. Now the budget's gate
counts a late first write from the write (``RateBudget.restamp``, ``resend_gate``)."""

from __future__ import annotations

import asyncio
import time

from tickwire.limits import Limit, RateBudget
from tickwire.limits.budget import resend_gate
from tickwire.sim.limits import WeightLimiter
from tickwire.transport.http import HttpClient

LIMIT, WINDOW_S = 5, 1.0
COST = {"REQUESTS": 1}
SLOW_CONNECT_S = 0.5


async def venue(limiter: WeightLimiter, arrivals: list[float]) -> asyncio.Server:
    """A venue counting every request by the simulator's own rule (a fixed window opened by the first
    request after the last one ended), answering 429 past its limit."""

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                await r.readuntil(b"\r\n\r\n")
                now = time.monotonic()
                arrivals.append(now)
                verdict, _ = limiter.charge(now)
                status = b"200 OK" if verdict == "ok" else b"429 Too Many Requests"
                w.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            w.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def test_a_request_whose_connection_was_slow_to_set_up_is_counted_from_its_write() -> None:
    """One request (taken at 0) waits 0.5 s for its new connection; four more are taken at 0.2 on
    connections already open. The venue's window opens at 0.2 and holds all five. Counted from its
    take, the slow one left the budget's window (1.1 s) at about 1.15, and a sixth went at once — at
    the venue inside the same window: ``refused == 1`` (a 429). Counted from its write, the sixth waits
    for the four taken at 0.2 to leave: the venue's next window."""

    async def go() -> None:
        limiter, arrivals = WeightLimiter(LIMIT, WINDOW_S), []
        server = await venue(limiter, arrivals)
        port = server.sockets[0].getsockname()[1]
        budget = RateBudget(
            "v-late", [Limit("REQUESTS", LIMIT, WINDOW_S)], ip="ip-late", account="acct-late", reserve=0
        )
        slow = HttpClient(f"http://127.0.0.1:{port}")
        fast = HttpClient(f"http://127.0.0.1:{port}", pool_size=LIMIT)
        real_open = slow._open

        async def slow_open(loop: asyncio.AbstractEventLoop, deadline: float) -> object:
            await asyncio.sleep(SLOW_CONNECT_S)
            return await real_open(loop, deadline)

        slow._open = slow_open  # type: ignore[method-assign]
        await asyncio.gather(*(fast.get("/warm") for _ in range(LIMIT - 1)))  # connections open
        await asyncio.sleep(WINDOW_S + 0.2)  # the warm-up's window over, at the venue and here
        limiter.refused = 0

        async def send(http: HttpClient) -> int:
            await budget.acquire(COST, "cancel")
            return (await http.get("/x", gate=resend_gate(budget, COST, "cancel"))).status

        first = asyncio.create_task(send(slow))
        await asyncio.sleep(0.2)
        burst = await asyncio.gather(*(send(fast) for _ in range(LIMIT - 1)))
        statuses = [*burst, await first, await send(fast)]
        assert limiter.refused == 0, (statuses, [round(t - arrivals[0], 3) for t in arrivals])
        assert statuses == [200] * (LIMIT + 1)
        await slow.close()
        await fast.close()
        server.close()

    asyncio.run(go())
