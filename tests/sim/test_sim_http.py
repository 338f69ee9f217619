"""The simulator's HTTP/1.1 server against RFC 9112 basics: keep-alive, pipelining answered in order,
Content-Length bodies, raw targets kept for signing, malformed requests refused."""

from __future__ import annotations

import asyncio

import orjson
from tickwire.sim.http import HttpServer, Request, Response, json_response


async def echo(req: Request) -> Response:
    body = {"m": req.method, "p": req.path, "raw": req.raw_path, "q": req.raw_query, "b": req.body.decode()}
    body["h"] = req.headers.get("x-test", "")
    return json_response(body)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
    body = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split(" ")[1]), headers, body


def test_keep_alive_pipelining_and_parsing() -> None:
    async def go() -> None:
        server = HttpServer(echo)
        await server.listen()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /a%2Fb?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nX-Test: one\r\n\r\n"
            b"POST /order HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\nsym=BTC"
        )
        s1, _, b1 = await read_response(reader)
        s2, h2, b2 = await read_response(reader)
        assert s1 == s2 == 200 and h2["content-type"] == "application/json"
        one, two = orjson.loads(b1), orjson.loads(b2)
        assert one == {"m": "GET", "p": "/a/b", "raw": "/a%2Fb", "q": "x=1&y=%20", "b": "", "h": "one"}
        assert (two["m"], two["p"], two["b"]) == ("POST", "/order", "sym=BTC")
        writer.write(b"GET /third HTTP/1.1\r\nHost: h\r\n\r\n")  # same connection, later
        assert orjson.loads((await read_response(reader))[2])["p"] == "/third"
        writer.close()
        await server.close()

    asyncio.run(go())


def test_malformed_and_chunked_requests_are_refused() -> None:
    async def go() -> None:
        server = HttpServer(echo)
        await server.listen()
        for raw in (
            b"NONSENSE\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nbad header line\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(raw)
            status, headers, _ = await read_response(reader)
            assert status == 400 and headers["connection"] == "close", raw
            assert await reader.read() == b""  # and the server closed the connection
            writer.close()
        await server.close()

    asyncio.run(go())
