"""Client order ids: unique per session, tagged with a per-strategy prefix, inside each venue's format.

Several scripts may share one API key (Clarofinlore's document asks each to use its own client-order-id
prefix), so an id is ``prefix [sep] nonce counter``: the prefix says whose it is, the nonce (random
letters and digits drawn once per ``ClientIds``) keeps two sessions started in the same millisecond
apart, the counter (base 62) makes each id of a session distinct. ``sep`` is ``-`` where the format
allows it (OKX allows only letters and digits). When the counter would outgrow its room a new nonce is
drawn and counting restarts.

Where the format has no separator the counter is always spelled in full (six digits, from 62**5) and
the nonce is always ``_MAX_NONCE`` long: an id's length then tells its prefix's, so ``mm``'s ids are
never taken for ``mm2``'s (nor ``mm2``'s for ``mm``'s) when a restarted strategy adopts its own.

Uniqueness matters beyond politeness: Binance accepts a closed order's id again (venues.md section 9),
so a resend of an old id can duplicate an order; OKX refuses a duplicate ``clOrdId``.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

from tickwire.trading.codes import invalid_order

__all__ = ["FORMATS", "ClientIdFormat", "ClientIds"]

_ALNUM = string.ascii_letters + string.digits  # 62 symbols, the nonce's and the counter's alphabet
_MIN_NONCE = 6  # 62**6 ≈ 5.7e10 nonces: same-prefix sessions collide with negligible probability
_MAX_NONCE = 10
_COUNTER_ROOM = 6  # 62**6 ids per nonce before a new nonce is drawn


@dataclass(frozen=True, slots=True)
class ClientIdFormat:
    """What a venue accepts as a client order id: ``pattern`` (full match), at most ``max_len``."""

    venue: str
    field: str  # the venue's parameter name
    max_len: int
    pattern: re.Pattern[str]
    sep: str  # separator after the prefix when generating ("" where the format allows none)
    source: str  # where the format is documented

    def check(self, client_id: str) -> str:
        """``client_id`` if the venue accepts it, else ``InvalidOrder`` (rule ``client_id``)."""
        if not isinstance(client_id, str) or not client_id:
            raise invalid_order(f"{self.venue} {self.field}: empty or not a string", rule="client_id")
        if len(client_id) > self.max_len:
            raise invalid_order(
                f"{self.venue} {self.field} {client_id!r}: {len(client_id)} chars, max {self.max_len}",
                rule="client_id",
            )
        if not self.pattern.fullmatch(client_id):
            raise invalid_order(
                f"{self.venue} {self.field} {client_id!r} does not match {self.pattern.pattern}",
                rule="client_id",
            )
        return client_id


def _fmt(venue: str, field: str, max_len: int, chars: str, sep: str, source: str) -> ClientIdFormat:
    return ClientIdFormat(venue, field, max_len, re.compile(f"[{chars}]{{1,{max_len}}}"), sep, source)


_BINANCE = ("newClientOrderId", 36, "A-Za-z0-9_-", "-", "Binance: ^[a-zA-Z0-9-_]{1,36}$ (errors.md -1100)")
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}"

FORMATS: dict[str, ClientIdFormat] = {
    "binance": _fmt("binance", *_BINANCE),
    "binance-usdm": _fmt("binance-usdm", *_BINANCE),
    "okx": _fmt("okx", "clOrdId", 32, "A-Za-z0-9", "", "OKX v5 Place order: <= 32 alphanumerics"),
    "bybit": _fmt("bybit", "orderLinkId", 36, "A-Za-z0-9_-", "-", "Bybit v5 Place Order: <= 36, A-Za-z0-9-_"),
    # Kraken: a long UUID (36 with hyphens), a short UUID (32 hex) or free ASCII text of up to 18
    # characters (docs.kraken.com "Spot Client Order Identifiers"; add_order cl_ord_id). tickwire
    # generates the free-text form (readable prefix) from letters, digits and '-'.
    "kraken": ClientIdFormat(
        "kraken",
        "cl_ord_id",
        36,
        re.compile(f"{_UUID}|[\\x21-\\x7e]{{1,18}}"),
        "-",
        "Kraken cl_ord_id: UUID, 32 hex, or free text up to 18 characters",
    ),
    # Coinbase documents client_order_id as a string with no length or alphabet; tickwire keeps to a
    # conservative 128 letters, digits, '-' and '_' (UUIDs fit).
    "coinbase": _fmt("coinbase", "client_order_id", 128, "A-Za-z0-9_-", "-", "Coinbase: any string (UUID)"),
    "htx": _fmt("htx", "client-order-id", 64, "A-Za-z0-9_-", "-", "HTX place order: client-order-id, max 64"),
    "clarofinlore": _fmt("clarofinlore", "client_order_id", 36, "A-Za-z0-9-", "-", "seed-venues.md default"),
    # Tradefence documents no client order id: tickwire carries its id in the free-text `strategy`
    # field (venues/tradefence/orders.py); the simulator takes up to 64 characters.
    "tradefence": _fmt("tradefence", "strategy", 36, "A-Za-z0-9-", "-", "seed-venues.md default (strategy)"),
}


def _base62(n: int) -> str:
    out = []
    while True:
        n, r = divmod(n, 62)
        out.append(_ALNUM[r])
        if n == 0:
            return "".join(reversed(out))


# The first counters' text, worked out once: most sessions never count past them.
_SMALL = [_base62(i) for i in range(62 * 62)]


class ClientIds:
    """Generates and checks one venue's client ids for one strategy (``prefix``) in one session."""

    def __init__(self, venue_format: str | ClientIdFormat, prefix: str = "") -> None:
        fmt = venue_format if isinstance(venue_format, ClientIdFormat) else FORMATS.get(venue_format)
        if fmt is None:
            raise invalid_order(
                f"no client id format for venue {venue_format!r} (known: {', '.join(FORMATS)})"
            )
        self.format = fmt
        self.prefix = prefix
        # Kraken's generated ids are free text, whose limit (18) is tighter than the UUID forms'.
        limit = 18 if fmt.venue == "kraken" else fmt.max_len
        head = prefix + fmt.sep if prefix else ""
        room = limit - len(head) - _COUNTER_ROOM
        # No separator: nothing but the id's length marks where the prefix ends, so the nonce and the
        # counter are of one length whatever the prefix (else ``mm`` owned every id ``mm2`` makes: a
        # restart adopted, counted and reported another strategy's orders on the key).
        fixed = bool(prefix) and not fmt.sep
        least = _MAX_NONCE if fixed else _MIN_NONCE
        if room < least:
            raise invalid_order(
                f"prefix {prefix!r} is too long for {fmt.venue} ids (at most "
                f"{limit - _COUNTER_ROOM - least - len(fmt.sep)} characters)",
                rule="client_id",
            )
        if prefix and not fmt.pattern.fullmatch(head + "0"):
            raise invalid_order(
                f"prefix {prefix!r} has characters {fmt.venue} ids cannot hold", rule="client_id"
            )
        self._head = head
        self._nonce_len = min(room, _MAX_NONCE)
        self._stems: set[str] = set()  # every nonce this object drew, with the head
        # What the counter's spelling starts from: 62**5 spells every count in the room's six digits.
        self._base = 62 ** (_COUNTER_ROOM - 1) if fixed else 0
        self._width = _COUNTER_ROOM if fixed else 0  # the counter's one length (0: any up to the room)
        self._limit = 62**_COUNTER_ROOM - self._base
        self._new_nonce()

    def _new_nonce(self) -> None:
        self.nonce = "".join(secrets.choice(_ALNUM) for _ in range(self._nonce_len))
        self._stem = self._head + self.nonce
        self._stems.add(self._stem)
        self._count = 0
        self._last: str | None = None

    def next(self) -> str:
        """A fresh id: never returned before by this object, and (by its random nonce) by another."""
        c = self._count
        if c >= self._limit:
            self._new_nonce()
            c = 0
        self._count = c + 1
        n = c + self._base
        self._last = cid = self._stem + (_SMALL[n] if n < 3844 else _base62(n))
        return cid

    __next__ = next

    def give_back(self, client_id: str) -> None:
        """``client_id``, what :meth:`next` returned last with nothing taken since, went into nothing
        written (the order's numbers were refused): the next order takes it, so a refusal leaves the
        count as it was. Any other id is left spent (one a reservation holds among them)."""
        if client_id == self._last:
            self._count -= 1
            self._last = None

    def reserve(self, n: int) -> tuple[str, int, int]:
        """Sets aside up to ``n`` ids for an order template to spell itself (``OrderTemplate.give_ids``):
        ``(stem, first, end)``, the ids ``stem + base62(c)`` for ``first <= c < end``, as :meth:`next`
        spells them; never returned by :meth:`next` or another reservation."""
        c = self._count
        if c >= self._limit:
            self._new_nonce()
            c = 0
        end = min(c + max(1, n), self._limit)
        self._count = end
        self._last = None
        return self._stem, c + self._base, end + self._base

    def __iter__(self) -> ClientIds:
        return self

    def check(self, client_id: str) -> str:
        """A user-given id, if the venue's format accepts it; else ``InvalidOrder``."""
        return self.format.check(client_id)

    def has_prefix(self, client_id: str) -> bool:
        """Whether ``client_id`` begins with this strategy's prefix (an id made by hand included): what
        a gateway asks of the ids a strategy places, and which events it hands that strategy."""
        return bool(self._head) and client_id.startswith(self._head)

    def owns(self, client_id: str) -> bool:
        """Whether ``client_id`` is one this strategy makes (any session): its prefix, then a nonce and
        a counter of the lengths this prefix gets and nothing else — so ``mm``'s ids are not taken for
        ``mm-2``'s. For adopting orders after a restart while leaving other scripts' orders on a shared
        key alone. Where the format has no separator (OKX) the id's one length tells the prefix's."""
        if not self.has_prefix(client_id):
            return False
        rest = client_id[len(self._head) :]
        n = self._nonce_len
        if self._width:
            return len(rest) == n + self._width and rest.isascii() and rest.isalnum()
        return n < len(rest) <= n + _COUNTER_ROOM and rest.isascii() and rest.isalnum()

    def mine(self, client_id: str) -> bool:
        """Whether this object made ``client_id`` (one of the nonces it drew): an order of this very
        session, never another run's."""
        stem = client_id[: len(self._head) + self._nonce_len]
        return stem in self._stems
