"""The strict HTTP/1.1 server behind Tradefence's webhook receiver and OAuth loopback redirect: what it
refuses (before any handler sees it) and what it passes on, byte for byte."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from tickwire.venues.tradefence.httpd import MAX_BODY, HttpRequest, HttpServer


async def _exchange(raw: bytes) -> tuple[int, list[HttpRequest]]:
    seen: list[HttpRequest] = []

    async def handler(req: HttpRequest) -> tuple[int, bytes]:
        seen.append(req)
        return 200, b"OK"

    server = await HttpServer(handler).start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(raw)
        await writer.drain()
        writer.write_eof()
        line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        return int(line.split(b" ")[1]), seen
    finally:
        await server.close()


def run(raw: bytes) -> tuple[int, list[HttpRequest]]:
    return asyncio.run(_exchange(raw))


def test_a_well_formed_post_reaches_the_handler_as_sent() -> None:
    status, [req] = run(b"POST /hook?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Sig: ab\r\n\r\nhello")
    assert status == 200
    assert (req.method, req.path, req.query, req.body) == ("POST", "/hook", {"a": "1"}, b"hello")
    assert req.headers["x-sig"] == "ab"


@pytest.mark.parametrize(
    "raw,status",
    [
        (b"POST /h HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 400),  # only HTTP/1.1
        (b"POST  /h HTTP/1.1\r\n\r\n", 400),  # a request line with an extra space
        (b"POST /h HTTP/1.1\r\n folded: x\r\n\r\n", 400),  # obsolete line folding
        (b"POST /h HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
        (b"POST /h HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST /h HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
        (b"POST /h HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 400),
        (b"POST /h HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n", 400),
        (b"POST /h HTTP/1.1\r\nX: \xff\r\n\r\n", 400),
    ],
)
def test_malformed_requests_are_refused_before_the_handler(raw: bytes, status: int) -> None:
    got, seen = run(raw)
    assert got == status and seen == []


def test_the_receiver_refuses_unsigned_misdirected_and_malformed_deliveries() -> None:
    import hashlib
    import hmac

    from tickwire.venues import tradefence

    applied: list[object] = []
    emitted: list[tuple[str, object]] = []
    rx = tradefence.WebhookReceiver(
        tradefence.Orders(), applied.append, lambda k, v: emitted.append((k, v)), secret="s3cret"
    )
    body = b'{"id":"evt_1","type":"alert.triggered","created":5,"data":{"symbol":"AAPL","price":"190.5"}}'
    sig = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    def post(path: str, payload: bytes, headers: dict[str, str]) -> int:
        req = HttpRequest("POST", path, {}, headers, payload)
        return asyncio.run(rx._handle(req))[0]

    assert post("/webhooks/tradefence", body, {}) == 401  # a secret is set: unsigned is refused
    assert post("/webhooks/tradefence", body, {"x-tradefence-signature": "0" * 64}) == 401
    assert post("/elsewhere", body, {"x-tradefence-signature": sig}) == 404
    bad = b"[1]"
    assert (
        post(
            "/webhooks/tradefence",
            bad,
            {"x-tradefence-signature": hmac.new(b"s3cret", bad, "sha256").hexdigest()},
        )
        == 400
    )
    assert emitted == [] and applied == [] and (rx.refused, rx.malformed) == (2, 1)
    assert post("/webhooks/tradefence", body, {"x-tradefence-signature": sig.upper()}) == 200
    assert post("/webhooks/tradefence", body, {"x-tradefence-signature": sig}) == 200  # a duplicate
    [(kind, alert)] = emitted
    assert kind == "alert" and alert == tradefence.Alert(
        "evt_1", "", "AAPL", "", Decimal("190.5"), None, None, 5
    )
    assert (rx.applied, rx.duplicates) == (1, 1) and "s3cret" not in repr(rx)
