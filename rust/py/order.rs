//! `OrderTemplate`: Python binding of `crate::order` (thin: build once, then one call per order).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::order::{self, binance, OrderError, Rules};
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
    /// (`transport="ws"`). Prices are mantissas at `price_scale` decimals, quantities at `qty_scale`.
    #[staticmethod]
    #[pyo3(signature = (
        signer, symbol, side, *, transport, price_scale, qty_scale, tick, lot, tif = "GTC",
        post_only = false, resp_type = "FULL", recv_window = None, head = None,
        tail = None, min_price = 0, max_price = 0, min_qty = 0, max_qty = 0,
        min_notional = 0, max_notional = 0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn binance_spot(
        signer: PyRef<'_, BinanceSigner>,
        symbol: &str,
        side: &str,
        transport: &str,
        price_scale: u32,
        qty_scale: u32,
        tick: u64,
        lot: u64,
        tif: &str,
        post_only: bool,
        resp_type: &str,
        recv_window: Option<u64>,
        head: Option<&[u8]>,
        tail: Option<&[u8]>,
        min_price: u64,
        max_price: u64,
        min_qty: u64,
        max_qty: u64,
        min_notional: u128,
        max_notional: u128,
    ) -> PyResult<Self> {
        guard(|| {
            let core = signer.core();
            let BinanceKey::Hmac(key) = &core.key else {
                return Err(err(
                    Kind::NotSupported,
                    "binance: order templates sign with an HMAC key (Ed25519/RSA keys use place_order)",
                ));
            };
            let spec = binance::Spec { symbol, side, post_only, tif, resp_type, recv_window };
            let layout = match transport {
                "rest" => binance::rest(&spec, head.unwrap_or_default(), tail.unwrap_or_default()),
                "ws" => binance::ws_api(&spec, &core.api_key),
                _ => return Err(pyo3::exceptions::PyValueError::new_err("transport is 'rest' or 'ws'")),
            }
            .map_err(invalid)?;
            let rules = Rules {
                price_scale,
                qty_scale,
                tick,
                lot,
                min_price,
                max_price,
                min_qty,
                max_qty,
                min_notional,
                max_notional,
            };
            let t = order::OrderTemplate::new(layout, key.clone(), rules).map_err(invalid)?;
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
