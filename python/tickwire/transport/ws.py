"""The WebSocket transport: picows, with TLS set up the way venues need it.

picows parses frames in C and hands each one to the listener as a view into its receive buffer, so
the Rust feed decodes straight from the socket buffer (no copy, no Python object per frame beyond
the frame itself). Everything here runs on whatever loop is running: tickwire never installs a loop
or a policy behind the application's back (``tickwire.run`` and the threaded handle opt in to uvloop).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from picows import WSAutoPingStrategy, WSError, WSInvalidStatusError, WSListener, WSTransport, ws_connect

from tickwire.errors import RateLimitError, RequestTimeoutError, TransportError
from tickwire.transport.http_conn import retry_after_s


class _PicowsLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """picows' client logger (``picows.client``, as before) without its record of the upgrade request
    it sends (level 9, "Send upgrade request"): the request carries the URL's path (a Binance user
    data stream's is its listenKey) and the upgrade headers (Clarofinlore's ``Authorization: Bearer``),
    which no log record may hold, whatever the level. An adapter, not a filter: picows logs each
    connection on a child logger of a ``Logger`` it is given, where a filter on the parent never runs."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if isinstance(msg, str) and msg.startswith("Send upgrade request"):
            return
        super().log(level, msg, *args, **kwargs)


_PICOWS_LOG = _PicowsLog(logging.getLogger("picows.client"), {})


def tls_context(
    *,
    verify: bool = True,
    cafile: str | None = None,
    cadata: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    tls13_only: bool = False,
) -> ssl.SSLContext:
    """A client TLS context: certificate verification on unless ``verify=False`` (only for a local
    test venue), an optional client certificate for mutual TLS (Clarofinlore), TLS 1.3 only on request."""
    ctx = ssl.create_default_context(cafile=cafile, cadata=cadata)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client_cert is not None:
        ctx.load_cert_chain(client_cert, client_key)
    if tls13_only:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def default_ssl(url: str, ssl_context: ssl.SSLContext | None) -> ssl.SSLContext | None:
    if url.startswith(("wss:", "https:")):
        return ssl_context or tls_context()
    return None


async def open_ws(
    url: str,
    listener: Callable[[], WSListener],
    *,
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    proxy: str | None = None,
    handshake_timeout: float = 5.0,
    ping_idle: float | None = None,
    pong_timeout: float = 10.0,
    ping_periodic: bool = False,
    max_frame_size: int = 64 << 20,
) -> tuple[WSTransport, WSListener]:
    """Connects; failures become :class:`TransportError` / :class:`RequestTimeoutError`.

    ``ping_idle``: picows' auto-ping sends the listener's ping after that many idle seconds (or
    every that many seconds with ``ping_periodic``) and drops the connection if no pong arrives in
    ``pong_timeout`` — the connection-level stale detector.
    """
    kw: dict[str, Any] = {}
    if ping_idle is not None:
        kw.update(
            enable_auto_ping=True,
            auto_ping_idle_timeout=ping_idle,
            # picows requires the reply window to fit in the idle window.
            auto_ping_reply_timeout=min(pong_timeout, ping_idle),
            auto_ping_strategy=(
                WSAutoPingStrategy.PING_PERIODICALLY if ping_periodic else WSAutoPingStrategy.PING_WHEN_IDLE
            ),
        )
    connecting = asyncio.ensure_future(
        asyncio.wait_for(
            ws_connect(
                listener,
                url,
                ssl_context=default_ssl(url, ssl_context),
                websocket_handshake_timeout=handshake_timeout,
                extra_headers=dict(headers) if headers else None,
                proxy=proxy,
                max_frame_size=max_frame_size,
                logger_name=_PICOWS_LOG,
                **kw,
            ),
            handshake_timeout * 2,
        )
    )
    try:
        return await asyncio.shield(connecting)
    except asyncio.CancelledError:
        # A connect cancelled mid-handshake leaves picows' TCP connection open, unreferenced: the
        # connect is left to end on its own (within its time-out) and what it opens is closed.
        connecting.add_done_callback(_close_opened)
        raise
    except TimeoutError as e:
        raise RequestTimeoutError(f"WebSocket connect to {_host(url)} timed out") from e
    except WSInvalidStatusError as e:
        refusal = _rate_refusal(e, url)
        if refusal is not None:
            raise refusal from None
        raise TransportError(f"WebSocket connect to {_host(url)} failed: {_reason(e, url)}") from None
    except (WSError, OSError, ssl.SSLError) as e:
        # picows' own errors may quote the URL (``WSInvalidURL``): not chained, their text is shown
        # through ``_reason``. OS and TLS errors name addresses only.
        err = TransportError(f"WebSocket connect to {_host(url)} failed: {_reason(e, url)}")
        raise err from (None if isinstance(e, WSError) else e)


def _rate_refusal(e: WSInvalidStatusError, url: str) -> RateLimitError | None:
    """An upgrade answered 429/418 (Binance spot charges a WS API connection 2 weight and refuses it
    past the address's limit): a :class:`RateLimitError` with the answer's code and ``Retry-After``,
    as a REST answer's (the caller blocks the budget with it), else None."""
    resp = e.response
    status = int(getattr(resp, "status", 0) or 0)
    if status not in (429, 418):
        return None
    headers = getattr(resp, "headers", None) or {}
    value = next((str(v) for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    code: Any = None
    try:
        data = orjson.loads(e.raw_body or b"")
        if isinstance(data, dict):
            code = data.get("code")
    except orjson.JSONDecodeError:
        pass
    err = RateLimitError(f"WebSocket connect to {_host(url)} refused for rate (HTTP {status})")
    err.__dict__.update(status=status, venue=None, code=code, retry_after=retry_after_s(value))
    return err


def _close_opened(done: asyncio.Future[tuple[WSTransport, WSListener]]) -> None:
    if not done.cancelled() and done.exception() is None:
        done.result()[0].disconnect()


def _host(url: str) -> str:
    """Scheme, host and port only. Never the query (some venues carry tokens there), the path (a
    Binance user data stream's is its listenKey) or a user part."""
    try:
        u = urlsplit(url)
        netloc = u.netloc.rpartition("@")[2]
    except ValueError:
        return "<unparsable URL>"
    return f"{u.scheme}://{netloc}" if u.scheme and netloc else "<URL>"


def _reason(e: BaseException, url: str = "") -> str:
    text = str(e) or type(e).__name__
    if url:
        text = text.replace(url, _host(url))
        try:
            path = urlsplit(url).path
        except ValueError:
            path = ""
        if len(path) > 1:
            text = text.replace(path, "/…")
    return text.split("?", 1)[0][:200]
