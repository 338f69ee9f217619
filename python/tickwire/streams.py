"""What a venue stream connection is made of, shared by the venue modules, the session and
``recovery``: where to connect (:class:`Endpoint`), what to subscribe (:class:`Sub` of a
:data:`Channel`), and what a control frame means (:class:`Control`, read with :func:`typed_control`
after :func:`inflate` where the venue compresses)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Channel = Literal["book", "trades", "bbo"]
Op = Literal["subscribe", "unsubscribe"]
CHANNELS: tuple[Channel, ...] = ("book", "trades", "bbo")


@dataclass(frozen=True)
class Endpoint:
    """One venue endpoint: WebSocket URLs by label (``"public"``, ``"stream"``, …) and a REST base.

    The shape is what :meth:`tickwire.sim.Simulator.urls` returns per endpoint, so simulator URLs can be
    passed straight to ``tickwire.connect(..., endpoints=sim.urls()["okx"])``.
    """

    ws: Mapping[str, str]
    rest: str | None = None
    name: str = ""

    def __repr__(self) -> str:
        # The URLs may carry a credential (a password in the user part, a token in the query), which
        # the connections accept: shown as the audit file and the capture show them.
        from tickwire.audit import shown_url

        ws = {k: shown_url(v) for k, v in self.ws.items()}
        rest = None if self.rest is None else shown_url(self.rest)
        return f"Endpoint(ws={ws!r}, rest={rest!r}, name={self.name!r})"

    @classmethod
    def of(cls, spec: Endpoint | Mapping[str, Any], index: int = 0) -> Endpoint:
        if isinstance(spec, Endpoint):
            return spec
        ws = spec["ws"]
        if isinstance(ws, str):
            ws = {"default": ws}
        return cls(dict(ws), spec.get("rest"), str(spec.get("name") or f"#{index}"))


@dataclass(frozen=True)
class Sub:
    channel: Channel
    symbol: str


@dataclass
class Control:
    """What a control frame (ack, error, login answer, pong, shutdown notice) means to the session."""

    kind: Literal["pong", "ack", "error", "auth_ok", "auth_failed", "shutdown", "other"]
    message: str = ""
    code: str = ""
    symbols: tuple[str, ...] = field(default_factory=tuple)


def inflate(payload: bytes | memoryview) -> bytes:
    """A compressed control frame's text (the feed inflates market data itself, in Rust): gzip or
    zlib by header, else raw deflate; the bytes as they are when none of them fits."""
    data = bytes(payload)
    for wbits in (47, -15):  # 47: gzip or zlib, told apart by the header
        try:
            return zlib.decompress(data, wbits)
        except zlib.error:
            continue
    return data


def typed_control(msg: dict[str, Any]) -> Control | None:
    """Control frames shaped ``{"type": "error" | "subscribed" | "unsubscribed", ...}`` (the seed
    venues, Coinbase errors)."""
    kind = msg.get("type")
    if kind == "error":
        return Control("error", str(msg.get("message", "")), str(msg.get("code", "")))
    if kind in ("subscribed", "unsubscribed"):
        return Control("ack")
    return None
