"""The loopback control endpoint, so a separate process can steer a running simulator.

GET  /urls                                   every venue's endpoints
GET  /book?venue=binance&symbol=BTCUSDT[&depth=N]   ground-truth book
POST /fault  {"venue": "binance", "endpoint": 0, "fault": "gap", "args": {"symbol": "BTCUSDT"}}
GET  /faults/pending                         book faults not applied yet, per venue and endpoint
POST /advance {"steps": 10, "venue": "okx"}  (venue/symbol optional)
POST /keys {"venue": "okx", "args": {"key": …, "secret": …, "passphrase": …}}: each venue's add_key
     arguments (Binance {"key", "secret"} or {"key", "public_key": PEM}; Tradefence add_client's)
POST /fund {"venue": "binance", "account": "<api key>", "balances": {"USDT": "1000", "BTC": "0.5"}}
POST /pause, POST /resume
GET  /orders?venue=binance&account=<api key>  the engine's orders of that account, with their fills
GET  /account?venue=binance&account=<api key> the ledger's balances of that account (free, locked)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import BID
from tickwire.sim.server import FAULTS

if TYPE_CHECKING:
    from tickwire.sim.simulator import Simulator


async def handle(sim: Simulator, req: Request) -> Response:
    try:
        return await _route(sim, req)
    except (KeyError, ValueError, TypeError, IndexError) as e:
        return json_response({"error": f"{type(e).__name__}: {e}"}, 400)


async def _route(sim: Simulator, req: Request) -> Response:
    route = (req.method, req.path)
    if route == ("GET", "/urls"):
        return json_response(sim.urls())
    if route == ("GET", "/faults"):
        return json_response(list(FAULTS))
    if route == ("GET", "/faults/pending"):
        return json_response(sim.pending_faults())
    if route == ("GET", "/book"):
        q = req.query
        depth = int(q["depth"]) if "depth" in q else None
        view = sim.book(q["venue"], q["symbol"], depth)
        return json_response(
            {
                "symbol": view.symbol,
                "update_id": view.update_id,
                "bids": [[str(p), str(s)] for p, s in view.bids],
                "asks": [[str(p), str(s)] for p, s in view.asks],
            }
        )
    if route == ("GET", "/orders"):
        return json_response(_orders(sim, req.query["venue"], req.query["account"]))
    if route == ("GET", "/account"):
        ledger = sim.venue(req.query["venue"]).engine.ledger
        held = ledger.holdings(req.query["account"])
        return json_response({"balances": {a: {"free": str(f), "locked": str(lk)} for a, f, lk in held}})
    body: dict[str, Any] = req.json() or {}
    if route == ("POST", "/fault"):
        ep = sim.endpoint(body["venue"], int(body.get("endpoint", 0)))
        result = await ep.fault(str(body["fault"]), **dict(body.get("args", {})))
        return json_response({"ok": True, "result": result})
    if route == ("POST", "/keys"):
        sim.venue(str(body["venue"])).register(dict(body.get("args", {})))
        return json_response({"ok": True})
    if route == ("POST", "/fund"):
        sim.fund(str(body["venue"]), str(body["account"]), dict(body["balances"]))
        return json_response({"ok": True})
    if route == ("POST", "/advance"):
        sim.advance(int(body.get("steps", 1)), body.get("venue"), body.get("symbol"))
        return json_response({"ok": True})
    if route == ("POST", "/pause"):
        sim.pause()
        return json_response({"ok": True})
    if route == ("POST", "/resume"):
        sim.resume()
        return json_response({"ok": True})
    return json_response({"error": f"no route {req.method} {req.path}"}, 404)


def _orders(sim: Simulator, venue: str, account: str) -> list[dict[str, Any]]:
    """The account's orders as the matching engine has them, in exact decimals."""
    v = sim.venue(venue)
    out = []
    for o in v.engine.orders.values():
        if o.account != account:
            continue
        inst = v.instruments[o.symbol]
        out.append(
            {
                "id": o.id, "client_id": o.client_id, "symbol": o.symbol,
                "side": "buy" if o.side == BID else "sell", "type": o.type, "tif": o.tif,
                "qty": str(inst.qty(o.qty)), "filled": str(inst.qty(o.filled)),
                "price": None if o.price is None else str(inst.price(o.price)), "status": o.status,
                "fills": [
                    {"trade_id": f.trade_id, "price": str(inst.price(f.price)), "qty": str(inst.qty(f.qty)),
                     "maker": f.maker}
                    for f in o.fills
                ],
            }
        )  # fmt: skip
    return out
