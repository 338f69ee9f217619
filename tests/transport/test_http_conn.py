"""One HTTP/1.1 connection's response parsing (``transport/http_conn.py``) against tiny scripted
servers: chunked, split and until-close bodies, status errors with the venue's codes and
``Retry-After``, malformed responses refused with a transport error."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from http_scripted import Runner, Tiny, response
from tickwire.errors import AuthError, RateLimitError, TransportError, VenueError
from tickwire.transport.http import HttpClient
from tickwire.transport.http_conn import HttpResponse, retry_after_s


def test_chunked_split_content_length_and_body_until_close(run: Runner) -> None:
    payload = b'{"bids":[["1.5","2"]],"asks":[]}' * 50

    async def script(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while (req := await t.read_request(r)) is not None:
            if req.startswith(b"GET /chunked"):
                w.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(payload), 700):
                    part = payload[i : i + 700]
                    w.write(f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n")
                    await w.drain()
                    await asyncio.sleep(0.001)
                w.write(b"0\r\nX-Trailer: t\r\n\r\n")
            elif req.startswith(b"GET /trickle"):
                for byte in response(200, payload[:300]):
                    w.write(bytes([byte]))
                    if byte == ord("\n"):
                        await w.drain()
                        await asyncio.sleep(0)
            elif req.startswith(b"HEAD"):
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n")
            elif req.startswith(b"GET /nocontent"):
                w.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            else:  # no length at all: the body ends when the server closes
                w.write(b"HTTP/1.1 200 OK\r\n\r\n" + payload)
                return

    async def go() -> None:
        async with Tiny(script) as t, HttpClient(t.url) as http:
            chunked = await http.get("/chunked")
            assert chunked.status == 200 and chunked.body == payload
            trickle = await http.get("/trickle")
            assert trickle.body == payload[:300] and trickle.headers["content-length"] == "300"
            head = await http.request("HEAD", "/head")
            assert head.body == b"" and head.headers["content-length"] == "12345"
            assert (await http.get("/nocontent")).status == 204
            assert t.conns == 1  # all of the above framed correctly on one connection
            assert (await http.get("/until-close")).body == payload
            assert (await http.get("/chunked")).body == payload
            assert t.conns == 2

    run(go())


def test_status_errors_from_scripted_answers() -> None:
    answers = {
        b"/429": response(429, b'{"code":-1003,"msg":"Too many requests"}', "Retry-After: 7"),
        b"/418": response(418, b'{"code":-1003,"msg":"banned"}', "Retry-After: 120"),
        b"/401": response(401, b'{"retCode":10003,"retMsg":"API key is invalid."}'),
        b"/403": response(403, b"<html>forbidden</html>"),
        b"/500": response(500, b'{"status":"error","err-code":"base-system-error"}'),
        b"/400": response(400, b"x" * 5000),
        b"/200": response(200, b'{"code":"0"}'),
    }

    async def script(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while (req := await t.read_request(r)) is not None:
            w.write(answers[req.split(b" ")[1]])

    async def go() -> None:
        async with Tiny(script) as t, HttpClient(t.url) as http:
            got: dict[str, Any] = {}
            for path in answers:
                resp = await http.get(path.decode(), headers={"X-Signature": "sig-never-shown"})
                try:
                    assert resp.raise_for_status("v") is resp
                    got[path.decode()] = resp
                except VenueError as e:
                    got[path.decode()] = e
                    assert "sig-never-shown" not in str(e) and str(resp.status) in str(e)
        e429, e418, e401, e403, e500, e400 = (
            got[p] for p in ("/429", "/418", "/401", "/403", "/500", "/400")
        )
        assert type(e429) is RateLimitError and (e429.retry_after, e429.status, e429.code) == (
            7.0,
            429,
            -1003,
        )
        assert type(e418) is RateLimitError and e418.retry_after == 120.0
        assert type(e401) is AuthError and e401.code == 10003 and "API key is invalid" in str(e401)
        assert type(e403) is AuthError and e403.code is None
        assert type(e500) is VenueError and e500.code == "base-system-error" and e500.status == 500
        assert type(e400) is VenueError and len(str(e400)) < 300
        assert isinstance(got["/200"], HttpResponse) and got["/200"].json() == {"code": "0"}

    asyncio.run(go())


def test_retry_after_forms() -> None:
    now = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC).timestamp()
    assert retry_after_s("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_s("2.5") == 2.5 and retry_after_s("-3") == 0.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None


def test_malformed_response_is_a_transport_error() -> None:
    async def script(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await t.read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n")
        await asyncio.sleep(1)

    async def go() -> None:
        async with Tiny(script) as t, HttpClient(t.url) as http:
            with pytest.raises(TransportError, match="malformed"):
                await http.get("/")

    asyncio.run(go())


def test_an_error_answer_echoing_a_token_is_masked_in_the_error() -> None:
    """A proxy's or WAF's error page that echoes the request's credentials: the error's text quotes the
    answer masked as the audit file masks it (before: the token verbatim in the message)."""
    from tickwire.errors import AuthError
    from tickwire.transport.http_conn import HttpResponse

    token = "tok-never-seen-0123456789"
    body = (
        b'{"error":"forbidden","token":"'
        + token.encode()
        + b'","echo":"Authorization: Bearer '
        + token.encode()
        + b'"}'
    )
    with pytest.raises(AuthError) as e:
        HttpResponse(401, {}, body).raise_for_status("venue")
    assert token not in str(e.value) and "forbidden" in str(e.value), str(e.value)
