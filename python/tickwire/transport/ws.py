"""The WebSocket transport: picows, with TLS set up the way venues need it.

picows parses frames in C and hands each one to the listener as a view into its receive buffer, so
the Rust feed decodes straight from the socket buffer (no copy, no Python object per frame beyond
the frame itself). Everything here runs on whatever loop is running: tickwire never installs a loop
or a policy behind the application's back (``tickwire.run`` and the threaded handle opt in to uvloop).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from picows import WSAutoPingStrategy, WSError, WSListener, WSTransport, ws_connect

from tickwire.errors import RequestTimeoutError, TransportError


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
    try:
        return await asyncio.wait_for(
            ws_connect(
                listener,
                url,
                ssl_context=default_ssl(url, ssl_context),
                websocket_handshake_timeout=handshake_timeout,
                extra_headers=dict(headers) if headers else None,
                proxy=proxy,
                max_frame_size=max_frame_size,
                **kw,
            ),
            handshake_timeout * 2,
        )
    except TimeoutError as e:
        raise RequestTimeoutError(f"WebSocket connect to {_host(url)} timed out") from e
    except (WSError, OSError, ssl.SSLError) as e:
        raise TransportError(f"WebSocket connect to {_host(url)} failed: {_reason(e)}") from e


def _host(url: str) -> str:
    # Never the query: some venues carry tokens there.
    return url.split("?", 1)[0]


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.split("?", 1)[0][:200]
