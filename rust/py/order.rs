//! `OrderTemplate`: Python binding of `crate::order` (thin: build once, then one call per order).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::order::{self, binance, okx, Layout, OrderError, Part, Rules, Slot};
use crate::py::errors::{err, guard, Kind};
use crate::py::venues::binance::BinanceSigner;
use crate::sign::venues::binance::BinanceKey;

#[cold]
#[inline(never)]
fn invalid(e: OrderError) -> PyErr {
    let e2 = err(Kind::InvalidOrder, e.message);
    Python::attach(|py| {
        let _ = e2.value(py).setattr("rule", e.rule);
    });
    e2
}

/// The instrument's integer rules from keyword arguments: `price_scale`, `qty_scale`, `tick`, `lot`
/// (required), `min_price`, `max_price`, `min_qty`, `max_qty`, `min_notional`, `max_notional` (0: none).
fn rules_of(kw: Option<&Bound<'_, PyDict>>) -> PyResult<Rules> {
    let mut r = Rules::default();
    let mut seen = 0;
    for (k, v) in kw.into_iter().flat_map(|d| d.iter()) {
        let name: String = k.extract()?;
        match name.as_str() {
            "price_scale" => r.price_scale = v.extract()?,
            "qty_scale" => r.qty_scale = v.extract()?,
            "tick" => r.tick = v.extract()?,
            "lot" => r.lot = v.extract()?,
            "min_price" => r.min_price = v.extract()?,
            "max_price" => r.max_price = v.extract()?,
            "min_qty" => r.min_qty = v.extract()?,
            "max_qty" => r.max_qty = v.extract()?,
            "min_notional" => r.min_notional = v.extract()?,
            "max_notional" => r.max_notional = v.extract()?,
            other => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "unexpected keyword argument {other:?}"
                )))
            }
        }
        if matches!(name.as_str(), "price_scale" | "qty_scale" | "tick" | "lot") {
            seen += 1;
        }
    }
    if seen < 4 {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "price_scale, qty_scale, tick and lot are required",
        ));
    }
    Ok(r)
}

/// The request bytes of one (venue, symbol, side, type, time in force, transport), filled, checked
/// and signed in one call.
#[pyclass(module = "tickwire._core")]
pub struct OrderTemplate {
    t: order::OrderTemplate,
    buf: Vec<u8>,
}

#[pymethods]
impl OrderTemplate {
    /// Binance spot `POST /api/v3/order` (`transport="rest"`: the whole HTTP/1.1 request, `head` the
    /// request line up to `?`, `tail` the rest after the query) or WS API `order.place`
    /// (`transport="ws"`). `rules`: see `rules_of` (prices are mantissas at `price_scale` decimals,
    /// quantities at `qty_scale`).
    #[staticmethod]
    #[pyo3(signature = (
        signer, symbol, side, *, transport, tif = "GTC", post_only = false, resp_type = "FULL",
        recv_window = None, head = None, tail = None, **rules
    ))]
    #[allow(clippy::too_many_arguments)]
    fn binance_spot(
        signer: PyRef<'_, BinanceSigner>,
        symbol: &str,
        side: &str,
        transport: &str,
        tif: &str,
        post_only: bool,
        resp_type: &str,
        recv_window: Option<u64>,
        head: Option<&[u8]>,
        tail: Option<&[u8]>,
        rules: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let core = signer.core();
            let BinanceKey::Hmac(key) = &core.key else {
                return Err(err(
                    Kind::NotSupported,
                    "binance: order templates sign with an HMAC key (Ed25519/RSA keys use place_order)",
                ));
            };
            let rules = rules_of(rules)?;
            let spec = binance::Spec { symbol, side, post_only, tif, resp_type, recv_window };
            let layout = match transport {
                "rest" => binance::rest(&spec, head.unwrap_or_default(), tail.unwrap_or_default()),
                "ws" => binance::ws_api(&spec, &core.api_key),
                _ => return Err(pyo3::exceptions::PyValueError::new_err("transport is 'rest' or 'ws'")),
            }
            .map_err(invalid)?;
            let t = order::OrderTemplate::new(layout, key.clone(), rules).map_err(invalid)?;
            Ok(Self { t, buf: Vec::new() })
        })
    }

    /// OKX spot limit order as the `order` op on the logged-in private socket (unsigned);
    /// `expires`: the request carries `expTime`, written from `fill`'s `timestamp_ms`.
    #[staticmethod]
    #[pyo3(signature = (inst_id, side, ord_type, *, expires, **rules))]
    fn okx_ws(
        inst_id: &str,
        side: &str,
        ord_type: &str,
        expires: bool,
        rules: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let rules = rules_of(rules)?;
            let spec = okx::Spec { inst_id, side, ord_type, expires };
            let layout = okx::ws_order(&spec).map_err(invalid)?;
            let t = order::OrderTemplate::unsigned(layout, rules).map_err(invalid)?;
            Ok(Self { t, buf: Vec::new() })
        })
    }

    /// An unsigned request (a logged-in socket's) from its pieces in order: `bytes` literal, `str` a
    /// slot (`"price"`, `"qty"`, `"client_id"`, `"timestamp"`, `"request_id"`). The venue module that
    /// lays it out proves it byte-equal to its slow path (`tickwire.trading.template`).
    #[staticmethod]
    #[pyo3(signature = (parts, **rules))]
    fn unsigned(parts: &Bound<'_, PyList>, rules: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        guard(|| {
            let rules = rules_of(rules)?;
            let mut layout = Layout::default();
            for item in parts.iter() {
                if let Ok(b) = item.cast::<PyBytes>() {
                    Layout::lit(&mut layout.out, b.as_bytes());
                    continue;
                }
                let name: String = item.extract()?;
                let slot = match name.as_str() {
                    "price" => Slot::Price,
                    "qty" => Slot::Qty,
                    "client_id" => Slot::ClientId,
                    "timestamp" => Slot::Timestamp,
                    "request_id" => Slot::RequestId,
                    _ => {
                        return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown slot {name:?}")))
                    }
                };
                layout.out.push(Part::Slot(slot));
            }
            let t = order::OrderTemplate::unsigned(layout, rules).map_err(invalid)?;
            Ok(Self { t, buf: Vec::new() })
        })
    }

    /// The request bytes, checked against the instrument's tick, lot and bounds (`InvalidOrder`, with
    /// `rule`, and nothing produced otherwise) and signed.
    #[pyo3(signature = (price, qty, client_id, timestamp_ms, request_id = ""))]
    fn fill<'py>(
        &mut self,
        py: Python<'py>,
        price: u64,
        qty: u64,
        client_id: &str,
        timestamp_ms: u64,
        request_id: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| {
            self.t.fill(price, qty, client_id, timestamp_ms, request_id, &mut self.buf).map_err(invalid)?;
            Ok(PyBytes::new(py, &self.buf))
        })
    }

    /// The instrument's rules alone (`InvalidOrder` unless the mantissas pass).
    fn check(&self, price: u64, qty: u64) -> PyResult<()> {
        guard(|| self.t.check(price, qty).map_err(invalid))
    }

    #[getter]
    fn price_scale(&self) -> u32 {
        self.t.rules().price_scale
    }

    #[getter]
    fn qty_scale(&self) -> u32 {
        self.t.rules().qty_scale
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<OrderTemplate>()
}
