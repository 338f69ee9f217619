"""The subject layout every gateway and remote client shares (README "Scaling out").

    tw.md.<venue>.<symbol>.book|trade|bbo.<gateway>
                                            market data: binary bus messages (Rust ``rust/bus``);
                                            ``….book.*`` follows every gateway serving the venue (A/B)
    tw.md.<venue>.status.<gateway>          status events of the gateway's sessions (JSON)
    tw.snap.<venue>.<symbol>.<gateway>      request → one book snapshot message (request-reply)
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


def market(venue: str, symbol: str, channel: str, gateway: str = "*") -> str:
    """``gateway="*"``: the subscription that hears every gateway serving the venue."""
    return f"tw.md.{token(venue)}.{token(symbol)}.{channel}.{_gw(gateway)}"


def status(venue: str, gateway: str = "*") -> str:
    return f"tw.md.{token(venue)}.status.{_gw(gateway)}"


def snapshot(venue: str, symbol: str, gateway: str) -> str:
    return f"tw.snap.{token(venue)}.{token(symbol)}.{token(gateway)}"


def snapshot_service(venue: str, gateway: str) -> str:
    return f"tw.snap.{token(venue)}.*.{token(gateway)}"


def _gw(gateway: str) -> str:
    return gateway if gateway in ("*", ">") else token(gateway)


def last_token(subject: str) -> str:
    return untoken(subject.rsplit(".", 1)[1])


def heartbeat(gateway: str) -> str:
    return f"tw.gw.{token(gateway)}.hb"


HEARTBEATS = "tw.gw.*.hb"


def orders(venue: str, account: str, op: str) -> str:
    return f"tw.ord.{token(venue)}.{token(account)}.{op}"


def events(venue: str, account: str, kind: str = "*") -> str:
    return f"tw.evt.{token(venue)}.{token(account)}.{kind}"
