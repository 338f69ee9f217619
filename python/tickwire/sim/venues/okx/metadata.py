"""OKX instrument metadata: ``GET /api/v5/public/instruments?instType=SPOT[&instId=]`` in the shape of
the v5 "Get instruments" reference, every value from the simulator's instruments, which the matching
engine enforces: ``px`` off ``tickSz`` is refused with sCode 51000, ``sz`` off ``lotSz`` with 51121,
below ``minSz`` with 51020. Each lists its integer ``instIdCode`` (``inst_codes``), the only name
OKX's WebSocket order ops take since 2026 (``trade.py``). The simulator lists spot instruments only;
other ``instType`` values answer an empty list. A symbol set ``cancel_only`` or ``closed``
(``Simulator.set_status``) is listed ``suspend``; the profile's ``preopen`` names pairs announced and
not listed yet, shown as OKX shows them since 2025-05-06 ("Instruments endpoints revamp": ``state``
``preopen``, every field but ``instType``, ``instId``, ``listTime`` and ``state`` empty until minutes
before ``listTime``) — no book, no order. A grid changed by ``Simulator.set_grid`` is listed from
when it takes effect, and an announced change (``at_ms``) until then in ``upcChg`` (empty otherwise,
as OKX lists it since 2025-12-22); the order entry enforces the grid in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.market import Instrument
from tickwire.sim.venues.grid import GridChange, Grids

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")
LISTED = "1606468572000"  # listTime: a fixed date, so answers compare across runs
_PARAMS = {"tick": "tickSz", "lot": "lotSz", "min_qty": "minSz"}  # upcChg's names for a GridChange's


def inst_codes(symbols: Iterable[str]) -> dict[str, int]:
    """The instruments' integer codes (``instIdCode``): stable for a simulator run."""
    return {s: 1000 + n for n, s in enumerate(sorted(symbols))}


def preopen_codes(listed: Iterable[str], preopen: Iterable[str]) -> dict[str, int]:
    """The announced pairs' codes, after the listed ones'."""
    first = 1000 + len(list(listed))
    return {s: first + n for n, s in enumerate(preopen)}


def _s(x: Decimal) -> str:
    return f"{x.normalize():f}"


def announced(inst_id: str, code: int) -> dict[str, Any]:
    """A pair announced, not listed yet: its empty fields as OKX's changelog shows them."""
    shown = instrument(Instrument(inst_id, Decimal(1), Decimal(1), Decimal(1)), code)
    keep = {"instType", "instId", "listTime", "instIdCode", "upcChg"}  # upcChg: [], none announced
    out = {k: (v if k in keep else "") for k, v in shown.items()}
    out.update(state="preopen", listTime=str(int(LISTED) + 86_400_000 * 365 * 10))
    return out


def upc_chg(changes: Iterable[GridChange]) -> list[dict[str, str]]:
    """``upcChg``: the announced changes not in force yet, one entry per parameter ("Get instruments":
    ``param`` ``tickSz``/``minSz``/``maxMktSz``, ``newValue``, ``effTime`` in Unix ms)."""
    return [
        {"param": _PARAMS[name], "newValue": _s(value), "effTime": str(c.at_ms)}
        for c in changes
        for name, value in c.params().items()
    ]


def instrument(
    inst: Instrument, code: int, state: str = "live", upcoming: Iterable[GridChange] = ()
) -> dict[str, Any]:
    base, quote = split_symbol(inst.symbol)
    max_sz = _s(inst.max_qty) if inst.max_qty else "9999999999"
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": base,
        "category": "1",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "instFamily": "",
        "instId": inst.symbol,
        "instIdCode": code,
        "instType": "SPOT",
        "lever": "",
        "listTime": LISTED,
        "lotSz": _s(inst.lot),
        "maxIcebergSz": max_sz,
        "maxLmtAmt": "20000000",
        "maxLmtSz": max_sz,
        "maxMktAmt": "1000000",
        "maxMktSz": "1000000",
        "maxStopSz": "1000000",
        "maxTriggerSz": max_sz,
        "maxTwapSz": max_sz,
        "minSz": _s(inst.qty(inst.min_lots)),
        "optType": "",
        "quoteCcy": quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": state,
        "stk": "",
        "tickSz": _s(inst.tick),
        "uly": "",
        "upcChg": upc_chg(upcoming),
    }


def currencies(insts: Mapping[str, Instrument], q: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /api/v5/asset/currencies[?ccy=]`` (signed): one chain per currency the instruments trade,
    in the "Get currencies" shape (the fields clients read to list currencies; deposit and withdrawal
    are open with fixed, made-up network limits — the simulator moves no coins)."""
    names = sorted({c for i in insts.values() for c in split_symbol(i.symbol)})
    wanted = set(q["ccy"].split(",")) if q.get("ccy") else None
    return [
        {
            "ccy": c, "name": c, "chain": f"{c}-{c}", "mainNet": True, "canDep": True, "canWd": True,
            "canInternal": True, "minDep": "0.00000001", "minWd": "0.001", "maxWd": "1000000",
            "wdTickSz": "8", "minFee": "0.0001", "maxFee": "0.001", "needTag": False, "logoLink": "",
        }
        for c in names
        if wanted is None or c in wanted
    ]  # fmt: skip


def instruments(
    insts: Mapping[str, Instrument],
    q: dict[str, str],
    status: Mapping[str, str] | None = None,
    preopen: Iterable[str] = (),
    grids: Grids | None = None,
    now_ms: int = 0,
) -> tuple[str, str, list[dict[str, Any]]]:
    """(code, msg, data) for ``GET /api/v5/public/instruments``: the listed pairs (``status``: the
    symbols not open, listed ``suspend``; ``grids``: each with the grid in force at ``now_ms`` and
    the announced changes to come), then the ``preopen`` ones."""
    kind = q.get("instType", "")
    if not kind:
        return "50014", "Parameter instType can not be empty.", []
    if kind not in INST_TYPES:
        return "51000", "Parameter instType error", []
    if kind != "SPOT":
        return "0", "", []
    inst_id = q.get("instId")
    if inst_id is not None and inst_id not in insts:
        return "51001", "Instrument ID does not exist", []
    codes = inst_codes(insts)  # the listed pairs' codes as the order entry knows them (trade.py)
    codes.update(preopen_codes(insts, preopen))
    status = status or {}
    listed = [
        instrument(i, codes[s], "suspend" if s in status else "live")
        if grids is None
        else instrument(
            grids.listed(s, now_ms), codes[s], "suspend" if s in status else "live", grids.upcoming(s, now_ms)
        )
        for s, i in insts.items()
        if inst_id in (None, s)
    ]
    return "0", "", listed + [announced(s, codes[s]) for s in preopen if inst_id in (None, s)]
