"""OKX instrument metadata: ``GET /api/v5/public/instruments?instType=SPOT[&instId=]`` in the shape of
the v5 "Get instruments" reference, every value from the simulator's instruments, which the matching
engine enforces: ``px`` off ``tickSz`` is refused with sCode 51000, ``sz`` off ``lotSz`` with 51121,
below ``minSz`` with 51020. Each lists its integer ``instIdCode`` (``inst_codes``), the only name
OKX's WebSocket order ops take since 2026 (``trade.py``). The simulator lists spot instruments only;
other ``instType`` values answer an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.market import Instrument

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")
LISTED = "1606468572000"  # listTime: a fixed date, so answers compare across runs


def inst_codes(symbols: Iterable[str]) -> dict[str, int]:
    """The instruments' integer codes (``instIdCode``): stable for a simulator run."""
    return {s: 1000 + n for n, s in enumerate(sorted(symbols))}


def _s(x: Decimal) -> str:
    return f"{x.normalize():f}"


def instrument(inst: Instrument, code: int) -> dict[str, Any]:
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
        "state": "live",
        "stk": "",
        "tickSz": _s(inst.tick),
        "uly": "",
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


def instruments(insts: Mapping[str, Instrument], q: dict[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
    """(code, msg, data) for ``GET /api/v5/public/instruments``."""
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
    codes = inst_codes(insts)
    return "0", "", [instrument(i, codes[s]) for s, i in insts.items() if inst_id in (None, s)]
