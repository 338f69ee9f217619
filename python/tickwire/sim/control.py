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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickwire.sim.http import Request, Response, json_response
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
