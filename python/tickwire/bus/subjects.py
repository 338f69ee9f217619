"""The subject layout every gateway and remote client shares (README "Scaling out").

    tw.md.<venue>.<symbol>.book|trade|bbo   market data: binary bus messages (Rust ``rust/bus``)
    tw.md.<venue>.status                    status events of the gateway's sessions (JSON)
    tw.snap.<venue>.<symbol>                request → one book snapshot message (request-reply)
    tw.gw.<gateway>.hb                      gateway heartbeat (JSON), every ``heartbeat`` seconds
    tw.ord.<venue>.<account>.<op>           order entry (request-reply) to the gateway owning the account
    tw.evt.<venue>.<account>.order|fill     order events and fills (JetStream stream ``TW_EVENTS``)

Symbols are written into one subject token each: the characters NATS gives meaning to (``.``, ``*``,
``>``, white space) and ``%`` itself are %-escaped, so every symbol maps to one token and back.
"""

from __future__ import annotations

EVENTS_STREAM = "TW_EVENTS"
EVENTS_SUBJECTS = "tw.evt.>"

_ESC = {c: f"%{ord(c):02X}" for c in "%.*> \t\r\n"}


def token(name: str) -> str:
    """``name`` as one subject token (reversible: :func:`untoken`)."""
    if not name:
        raise ValueError("empty subject token")
    return "".join(_ESC.get(c, c) for c in name)


def untoken(tok: str) -> str:
    out, i = [], 0
    while i < len(tok):
        if tok[i] == "%":
            out.append(chr(int(tok[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(tok[i])
            i += 1
    return "".join(out)


def market(venue: str, symbol: str, channel: str) -> str:
    return f"tw.md.{token(venue)}.{token(symbol)}.{channel}"


def market_all(venue: str) -> str:
    return f"tw.md.{token(venue)}.*.*"


def status(venue: str) -> str:
    return f"tw.md.{token(venue)}.status"


def snapshot(venue: str, symbol: str) -> str:
    return f"tw.snap.{token(venue)}.{token(symbol)}"


def heartbeat(gateway: str) -> str:
    return f"tw.gw.{token(gateway)}.hb"


HEARTBEATS = "tw.gw.*.hb"


def orders(venue: str, account: str, op: str) -> str:
    return f"tw.ord.{token(venue)}.{token(account)}.{op}"


def events(venue: str, account: str, kind: str = "*") -> str:
    return f"tw.evt.{token(venue)}.{token(account)}.{kind}"
