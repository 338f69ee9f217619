"""No secret in logs, exceptions, reprs or the audit file, on every venue with order entry and every
kind of credential: a session is driven through the paths that log and raise the most (a refused
order, a lost answer, an order template, a cancel of an unknown order, the kill switch, a wrong key)
with every logger at DEBUG, then everything it produced is searched for the secret material. The
venues and their credentials are in ``test_secrets_venues``; here are the driver, the wiretap, the
quote rule and answers cut short.

What is searched for: the credentials given (HMAC secrets, passphrases, a Kraken secret and the bytes it
decodes to, PEM bodies and private scalars of EC/Ed25519 keys, OAuth client secrets, the client key of
mutual TLS) and every credential that crossed the wire, read on the simulator's side as it arrived or
left: signatures (headers, query, WebSocket auth), bearer tokens and JWTs (a JWT is a bearer credential
for its whole life, so it is a secret like the rest), access and refresh tokens, Kraken's WebSocket
token, Binance's listenKey."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
import tickwire
from tickwire.audit import AuditLog
from tickwire.errors import TickwireError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

# Names whose values are credentials, in headers, queries, forms and JSON (at any depth); not the
# names of a signing method or version (HTX's SignatureMethod=HmacSHA256).
_SECRET_NAME = re.compile(
    r"sign(?!ature(method|version))|token|jwt|secret|passphrase|listenkey|authorization|^code$", re.I
)
MIN_LEN = 8  # shorter values (an empty token, "true") would match unrelated text


class Wiretap:
    """Collects the credentials in what a simulated venue receives and answers."""

    def __init__(self) -> None:
        self.material: set[str] = set()

    def _add(self, value: Any) -> None:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str):
            value = value.strip()
            if value.lower().startswith("bearer "):
                value = value[7:].strip()
            if len(value) >= MIN_LEN:
                self.material.add(value)

    def _walk(self, obj: Any, named: bool = False) -> None:
        if isinstance(obj, dict):
            if obj.get("op") == "auth" and isinstance(obj.get("args"), list) and len(obj["args"]) >= 3:
                self._add(obj["args"][-1])  # Bybit's auth op: [key, expires, signature]
            for k, v in obj.items():
                self._walk(v, named or bool(_SECRET_NAME.search(str(k))))
        elif isinstance(obj, list):
            for x in obj:
                self._walk(x, named)
        elif named:
            self._add(obj)

    def _text(self, text: str) -> None:
        try:
            self._walk(orjson.loads(text))
        except orjson.JSONDecodeError:
            for k, v in parse_qsl(text, keep_blank_values=True):
                if _SECRET_NAME.search(k):
                    self._add(v)

    def _headers(self, headers: Any) -> None:
        items = headers.items() if isinstance(headers, dict) else headers
        for k, v in items:
            if _SECRET_NAME.search(str(k)):
                self._add(v)

    def attach(self, venue: Any) -> None:
        http, on_message, accept = venue.http, venue.on_message, venue.accept

        async def spy_http(ep: Any, req: Any) -> Any:
            self._headers(req.headers)
            self._text(req.raw_query)
            self._text(req.body.decode("utf-8", "replace"))
            resp = await http(ep, req)
            self._text(resp.body.decode("utf-8", "replace"))
            return resp

        def spy_message(conn: Any, data: bytes, binary: bool) -> None:
            if not binary:
                self._text(data.decode("utf-8", "replace"))
            on_message(conn, data, binary)

        def spy_accept(conn: Any) -> Any:
            self._headers(conn.headers)
            self._text(conn.raw_query)  # the query as sent (``conn.query`` is its parsed dict)
            return accept(conn)

        venue.http, venue.on_message, venue.accept = spy_http, spy_message, spy_accept

    def extra(self, name: str, venue: Any) -> None:
        """What the venue issued and keeps (in case an answer carrying it was lost)."""
        if name == "kraken":
            self.material.update(venue.trade.tokens)  # WebSocket tokens
        elif name == "binance-usdm":
            self.material.update(venue.listen_keys.issued)
        elif name == "tradefence":
            self.material.update(venue.tokens, venue.refresh)  # access and refresh tokens


Wrong = tuple[Any, dict[str, Any]]  # a credential the venue refuses, and trade() options with it


@dataclass
class Case:
    id: str
    venue: str
    symbol: str
    key: str
    register: Callable[[Any], None]
    make_signer: Callable[[Simulator], Any]
    make_wrong: Callable[[Simulator], list[Wrong]]
    lose: tuple[str, ...]  # the place operations (REST, socket) whose answer is lost
    too_much: str  # a sell the account cannot cover
    unknown_symbol: str
    secrets: list[tuple[str, str]]
    raw: list[bytes] = field(default_factory=list)  # key bytes that must not be in the audit file
    funds: dict[str, str] = field(default_factory=lambda: {"USDT": "1000000", "BTC": "10"})
    trade_kw: dict[str, Any] = field(default_factory=lambda: {"transport": "auto"})
    tls: Callable[[Case, Path], dict[str, Any]] | None = None  # TLS set-up: the simulator's options
    authorize: Callable[[Any], Awaitable[None]] | None = None

    async def signer(self, sim: Simulator) -> Any:
        s = self.make_signer(sim)
        if self.authorize is not None:
            await self.authorize(s)
        return s

    async def wrong(self, sim: Simulator) -> list[Wrong]:
        return self.make_wrong(sim)

    def sim_kw(self, tmp_path: Path) -> dict[str, Any]:
        return {} if self.tls is None else self.tls(self, tmp_path)


def _told(e: BaseException) -> list[str]:
    """Everything a caller could print of ``e``: its text, repr, attributes and whole traceback chain."""
    return [str(e), repr(e), repr(getattr(e, "__dict__", {})), "".join(traceback.format_exception(e))]


def _around(text: str, secret: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 200) : at + len(secret) + 80]


def _size(tr: TradingSession, symbol: str, price: Decimal, times: int = 1) -> Decimal:
    r = tr.rules[symbol]
    notional = r.min_notional or Decimal(0)
    lots = (notional / price / r.lot_size).to_integral_value(rounding=ROUND_CEILING)
    return max(r.min_qty, lots * r.lot_size) * times


async def _session(case: Case, sim: Simulator, tr: TradingSession, seen: list[str]) -> None:
    """The paths that log and raise: resting, lost, refused, templated, cancelled, killed."""
    ep = sim.endpoint(case.venue, 0)
    seen.extend(repr(x) for x in (tr, tr.signer, tr.budget, tr.wire, tr.grammar, tr.wire.tokens))
    seen.append(str(tr.signer))

    async def attempt(call: Any) -> Any:
        try:
            return await call()
        except TickwireError as e:
            seen.extend(_told(e))
            return None

    book = sim.book(case.venue, case.symbol)
    bid, ask = book.bids[0][0], book.asks[0][0]
    tick = tr.rules[case.symbol].tick_size
    size = _size(tr, case.symbol, bid)
    o = await tr.place_order(case.symbol, "buy", "limit", size, bid - 50 * tick)
    for op in case.lose:  # the one the session sends it on loses its answer
        ep.lose_answer(op)
    await attempt(lambda: tr.place_order(case.symbol, "buy", "limit", size, bid - 60 * tick))
    assert ep.lost, f"{case.venue}: no answer was lost"
    ep.lose_left.clear()
    await attempt(lambda: tr.place_order(case.symbol, "buy", "limit", "1000000", bid))
    await attempt(lambda: tr.place_order(case.symbol, "sell", "limit", case.too_much, ask + 50 * tick))
    await attempt(lambda: tr.place_order(case.unknown_symbol, "buy", "limit", "1", "1"))
    await attempt(lambda: tr.cancel_order(case.symbol, client_id="neverplaced1"))
    try:
        tmpl = tr.template(case.symbol, "buy")
    except TickwireError as e:  # Binance with an Ed25519 key: place_order only
        seen.extend(_told(e))
    else:
        await attempt(lambda: tmpl.send(bid - 70 * tick, size))
        await attempt(lambda: tmpl.send(bid - 70 * tick + tick / 2, size))  # off the tick: refused unsent
    await attempt(lambda: tr.cancel_order(case.symbol, client_id=o.client_id))
    seen.append(repr(await tr.kill("test")))
    tr.audit.flush()


def run_case(case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``case``'s session driven (``_session``), then its wrong credentials refused; then the scan."""
    audit = tmp_path / "audit.jsonl"
    seen: list[str] = []
    tap = Wiretap()

    async def go() -> None:
        async with Simulator([case.venue], seed=3, rate=0, depth=20, **case.sim_kw(tmp_path)) as sim:
            v = sim.venue(case.venue)
            case.register(v)
            sim.fund(case.venue, case.key, case.funds)
            tap.attach(v)
            eps = sim.urls()[case.venue]
            kw = {"endpoints": eps, "timeout": 1.0, **case.trade_kw}
            signer = await case.signer(sim)
            with AuditLog(audit) as log:
                async with tickwire.trade(case.venue, credentials=signer, audit=log, **kw) as tr:
                    await _session(case, sim, tr, seen)
            # Refused at once over REST; a refused socket log-in is seen when its wait runs out.
            quick = {**kw, "timeout": 0.5}
            for wrong, options in await case.wrong(sim):
                seen.extend([repr(wrong), str(wrong)])
                try:
                    async with tickwire.trade(case.venue, credentials=wrong, **{**quick, **options}) as t2:
                        await t2.balances()
                except TickwireError as e:
                    seen.extend(_told(e))
                else:
                    raise AssertionError(f"{case.venue}: a wrong credential was accepted")
            tap.extra(case.venue, v)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    seen.extend(r.getMessage() for r in caplog.records)
    seen.append(caplog.text)
    written = audit.read_bytes()
    seen.append(written.decode("utf-8", "replace"))
    text = "\n".join(seen)
    assert len(text) > 1000, len(text)
    assert "order_request" in text, written[:3000]  # the scan saw the session's output
    assert tap.material, "nothing secret crossed the wire?"
    for what, secret in [*case.secrets, *(("wire", m) for m in sorted(tap.material))]:
        assert secret not in text, f"{case.venue}: {what} {secret[:12]!r}… leaked: {_around(text, secret)!r}"
    for raw in case.raw:
        assert raw not in written, f"{case.venue}: raw key bytes in the audit file"


def test_no_secret_reaches_the_logs_or_errors_of_a_quote_rule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The quote rule (Binance, HMAC: its hand-written template): an order whose answer is lost, then
    one the venue refuses, which stops the rule with its error."""
    from quote_cases import ioc, moves, run
    from session_cases import settle
    from template_cases import SECRET, SYMBOL

    seen: list[str] = []
    tap = Wiretap()
    audit = tmp_path / "audit.jsonl"

    async def body(sim: Simulator, md: Any, tr: TradingSession, _: Any) -> None:
        tap.attach(sim.venue("binance"))
        q = ioc(tr, md)
        sim.endpoint("binance", 0).lose_answer("POST /api/v3/order")
        await moves(sim, q, 2)
        assert q.last is not None
        seen.append(repr(await q.last))
        q.stop()
        bad = tr.template(SYMBOL, "buy", tif="IOC").quote(md, 1, when="every")  # under the minimum
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: bad.stopped, "the refusal")
        assert bad.error is not None
        seen.extend([repr(q), repr(bad), *_told(bad.error)])
        tr.audit.flush()

    with caplog.at_level(logging.DEBUG), AuditLog(audit) as log:
        run(body, timeout=1.0, audit=log)
    seen.extend(r.getMessage() for r in caplog.records)
    seen.extend([caplog.text, audit.read_text()])
    text = "\n".join(seen)
    assert "order_request" in text and "InvalidOrder" in text and tap.material
    for secret in [SECRET, *sorted(tap.material)]:
        assert secret not in text, f"{secret[:12]!r}… leaked: {_around(text, secret)!r}"


def _cut_first_answer(venue: Any, path: str, issued: list[str]) -> None:
    """The venue's first answer to ``path`` arrives cut short by a byte (HTTP 200 still): what it
    carried (a token) is taken into ``issued``; the venue meant it, so it is valid there."""

    http = venue.http

    async def cut(ep: Any, req: Any) -> Any:
        resp = await http(ep, req)
        if req.path == path and not issued:
            tap = Wiretap()
            tap._text(resp.body.decode())
            issued.extend(tap.material)
            resp.body = resp.body[:-1]
        return resp

    venue.http = cut


@pytest.mark.parametrize("venue", ["kraken", "clarofinlore"])
def test_a_token_answer_cut_short_is_not_quoted_in_the_error_or_the_log(
    venue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Kraken's ``GetWebSocketsToken`` and Clarofinlore's log-in answer, cut short (undecodable): the
    error their grammar raises quotes the answer's start, which is the token itself (Kraken's, whole;
    Clarofinlore's access token, as much as fits). Neither the error nor the log may hold it."""
    from tickwire.venues import clarofinlore, kraken

    key, secret = "cut-key", base64.b64encode(b"cut secret never seen 0123456789").decode()
    issued: list[str] = []
    seen: list[str] = []

    async def go() -> None:
        async with Simulator([venue], seed=3, rate=0, depth=5) as sim:
            v = sim.venue(venue)
            v.add_key(key, secret)
            sim.fund(venue, key, {"USDT": "1000", "BTC": "1"})
            path = "/0/private/GetWebSocketsToken" if venue == "kraken" else "/v1/auth/token"
            _cut_first_answer(v, path, issued)
            signer = kraken.Signer(key, secret) if venue == "kraken" else clarofinlore.Signer(key, secret)
            try:
                async with tickwire.trade(
                    venue, credentials=signer, endpoints=sim.urls()[venue], timeout=1.0
                ) as tr:
                    await tr.balances()
            except TickwireError as e:
                seen.extend(_told(e))

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    seen.extend(r.getMessage() for r in caplog.records)
    seen.append(caplog.text)
    text = "\n".join(seen)
    assert issued and "HTTP 200" in text, text[-2000:]  # the cut answer was read and reported
    for token in issued:
        assert token[:24] not in text, f"{venue}: token {token[:12]!r}… leaked: {_around(text, token[:24])!r}"


def test_the_audit_masks_an_opaque_bearer_token_in_free_text_and_error_excerpts_mask_tokens() -> None:
    """What the audit's masking by name cannot see: an opaque token (Tradefence's, Kraken's: no JWT
    shape) after ``Bearer`` in a message; and ``excerpt``, the start of an unreadable answer quoted in
    an error, masks what the audit file would."""
    from tickwire.audit import Redactor, excerpt

    opaque = "tf-opaque-ACCESS_token.never~seen/+=="
    got = Redactor().mapping({"message": f"refused: Bearer {opaque} (HTTP 401)"}.items())
    assert opaque[:12] not in str(got) and "Bearer ***" in got["message"]
    cut = b'{"error":[],"result":{"token":"KRAKEN-ws-token-never-seen","expires":9'
    assert excerpt(cut) == '{"error":[],"result":{"token":"***","expires":9'
    assert excerpt(b"<html>" + b"x" * 1000).startswith("<html>x") and len(excerpt(b"y" * 1000)) == 200
