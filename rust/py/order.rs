//! `OrderTemplate`: Python binding of `crate::order` (thin: build once, then one call per order).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use pyo3::exceptions::PyValueError;

use crate::order::ids::{IdRange, MAX_ID_LEN};
use crate::order::jwt::JwtSlot;
use crate::order::{self, binance, Layout, OrderError, Part, Rules, SigText, Slot};
use crate::py::clock::{monotonic_ns, VenueTime};
use crate::py::errors::{err, guard, Kind};
use crate::py::limits::BudgetTaker;
use crate::py::venues::binance::BinanceSigner;
use crate::py::venues::bybit::BybitSigner;
use crate::py::venues::clarofinlore::ClarofinloreSigner;
use crate::py::venues::coinbase::CoinbaseSigner;
use crate::py::venues::htx::HtxSigner;
use crate::py::venues::okx::OkxSigner;
use crate::sign::hmac::HmacKey;
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

/// The slot a part's name stands for.
fn slot_of(name: &str) -> PyResult<Slot> {
    Ok(match name {
        "price" => Slot::Price,
        "qty" => Slot::Qty,
        "client_id" => Slot::ClientId,
        "timestamp" => Slot::Timestamp,
        "request_id" => Slot::RequestId,
        "request_num" => Slot::RequestNum,
        "signature" => Slot::Signature,
        "iso_ms" => Slot::IsoMillis,
        "iso_s_form" => Slot::IsoSecondsForm,
        "expiry" => Slot::Expiry,
        "body_len" => Slot::BodyLen,
        "nonce" => Slot::Nonce,
        "jwt" => Slot::Jwt,
        _ => return Err(PyValueError::new_err(format!("unknown slot {name:?}"))),
    })
}

/// `items` into `l.out` (`signed`: false) or `l.signed`; `"body"` only in the request.
fn parts_of(items: &Bound<'_, PyList>, l: &mut Layout, signed: bool) -> PyResult<()> {
    for item in items.iter() {
        let parts = if signed { &mut l.signed } else { &mut l.out };
        if let Ok(b) = item.cast::<PyBytes>() {
            Layout::lit(parts, b.as_bytes());
            continue;
        }
        let name: String = item.extract()?;
        if name == "body" && !signed {
            l.start_body();
        } else {
            parts.push(Part::Slot(slot_of(&name)?));
        }
    }
    Ok(())
}

/// A layout from Python: `bytes` are literal, a `str` names a slot (`"price"`, `"qty"`, `"client_id"`,
/// `"timestamp"`, `"request_id"`, `"request_num"`, `"signature"`, `"iso_ms"`, `"iso_s_form"`, `"expiry"`, `"body_len"`,
/// `"nonce"`, `"jwt"`)
/// or, in the request only, `"body"`: where the body (measured by `"body_len"`) starts.
fn layout_of(parts: &Bound<'_, PyList>, signed: Option<&Bound<'_, PyList>>) -> PyResult<Layout> {
    let mut l = Layout::default();
    parts_of(parts, &mut l, false)?;
    if let Some(signed) = signed {
        parts_of(signed, &mut l, true)?;
    }
    Ok(l)
}

/// The pre-keyed HMAC of a signer the templates know.
fn hmac_key_of(signer: &Bound<'_, PyAny>) -> PyResult<HmacKey> {
    if let Ok(s) = signer.cast::<BinanceSigner>() {
        return match &s.get().core().key {
            BinanceKey::Hmac(key) => Ok(key.clone()),
            _ => Err(err(
                Kind::NotSupported,
                "binance: order templates sign with an HMAC key (Ed25519/RSA keys use place_order)",
            )),
        };
    }
    if let Ok(s) = signer.cast::<OkxSigner>() {
        return Ok(s.get().core().hmac_key().clone());
    }
    if let Ok(s) = signer.cast::<BybitSigner>() {
        return Ok(s.get().core().hmac_key().clone());
    }
    if let Ok(s) = signer.cast::<HtxSigner>() {
        return Ok(s.get().core().hmac_key().clone());
    }
    if let Ok(s) = signer.cast::<ClarofinloreSigner>() {
        return Ok(s.get().core().hmac_key().clone());
    }
    Err(err(
        Kind::NotSupported,
        "order templates sign with a Binance (HMAC), OKX, Bybit, HTX or Clarofinlore signer",
    ))
}

/// The request bytes of one (venue, symbol, side, type, time in force, transport), filled, checked
/// and signed in one call.
#[pyclass(module = "tickwire._core")]
pub struct OrderTemplate {
    t: order::OrderTemplate,
    buf: Vec<u8>,
    /// The client ids `fire` writes (`give_ids`).
    ids: IdRange,
    /// `monotonic_ns` right before `fire` last handed its bytes to `write`: what the library's own
    /// work ends at, apart from the send syscall (whose cost on one host depends on whether the
    /// reader was asleep).
    ready_ns: i64,
    /// The client id, price and quantity of the last order whose `write` raised: its bytes may have
    /// gone out, so its id stays spent and Python reconciles it (`take_raised`).
    raised: Option<(String, u64, u64)>,
}

impl Drop for OrderTemplate {
    /// The last request written (signed, a token in it on some venues) wiped with the template.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

impl OrderTemplate {
    fn of(t: order::OrderTemplate) -> Self {
        Self { t, buf: Vec::new(), ids: IdRange::default(), ready_ns: 0, raised: None }
    }

    /// `fire`'s body, also called from the frame route by a quote rule (`crate::py::quote`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fire_with<'py>(
        &mut self,
        py: Python<'py>,
        price: u64,
        qty: u64,
        timestamp_ms: &Bound<'py, PyAny>,
        request_id: &str,
        write: &Bound<'py, PyAny>,
        head: Option<&Bound<'py, PyAny>>,
        take: Option<&Bound<'py, BudgetTaker>>,
    ) -> PyResult<Option<(Bound<'py, PyString>, Bound<'py, PyBytes>)>> {
        // Only this call's raised write is ever taken back: none left over from an earlier one.
        self.raised = None;
        // The venue's clock: its estimate read here, a clock called, or a stamp given.
        let timestamp_ms: u64 = match timestamp_ms.cast::<VenueTime>() {
            Ok(t) => t.borrow().l.now_ms().max(0) as u64,
            Err(_) if timestamp_ms.is_callable() => timestamp_ms.call0()?.extract()?,
            Err(_) => timestamp_ms.extract()?,
        };
        let mut cid = [0u8; MAX_ID_LEN];
        let Some(n) = self.ids.take(&mut cid) else { return Ok(None) };
        // The range's alphabet and a str stem: always UTF-8.
        let cid = std::str::from_utf8(&cid[..n]).map_err(|e| PyValueError::new_err(e.to_string()))?;
        if let Err(e) = self.t.fill(price, qty, cid, timestamp_ms, request_id, &mut self.buf) {
            self.ids.untake();
            return Err(invalid(e));
        }
        if let Some(t) = take {
            let taken = BudgetTaker::take(t);
            if !matches!(taken, Ok(w) if w <= 0.0) {
                self.ids.untake();
                return taken.map(|_| None);
            }
        }
        let data = PyBytes::new(py, &self.buf);
        self.ready_ns = monotonic_ns();
        let wrote = match head {
            Some(h) => write.call1((h, &data)),
            None => write.call1((&data,)),
        };
        if let Err(e) = wrote {
            self.raised = Some((cid.to_owned(), price, qty));
            return Err(e);
        }
        Ok(Some((PyString::new(py, cid), data)))
    }
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
            Ok(Self::of(t))
        })
    }

    /// An unsigned request (a logged-in socket's) from its pieces in order: `bytes` literal, `str` a
    /// slot (see `layout_of`). `expiry_ms` is what the `"expiry"` slot adds to the timestamp. The venue
    /// module that lays it out proves it byte-equal to its slow path (`tickwire.trading.template`).
    #[staticmethod]
    #[pyo3(signature = (parts, *, expiry_ms = 0, **rules))]
    fn unsigned(
        parts: &Bound<'_, PyList>,
        expiry_ms: u64,
        rules: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let rules = rules_of(rules)?;
            let mut layout = layout_of(parts, None)?;
            layout.expiry_ms = expiry_ms;
            let t = order::OrderTemplate::unsigned(layout, rules).map_err(invalid)?;
            Ok(Self::of(t))
        })
    }

    /// A request signed with `signer`'s pre-keyed HMAC (a Binance HMAC, OKX, Bybit, HTX or
    /// Clarofinlore signer):
    /// `parts` the request, `signed` the text the venue's scheme MACs, both as for `unsigned` (`signed`
    /// has no signature or body marker); `sig` the signature's text: `"hex"`, `"base64"` or
    /// `"base64_form"` (form-encoded for a query string).
    #[staticmethod]
    #[pyo3(signature = (signer, parts, signed, *, sig, expiry_ms = 0, **rules))]
    fn signed(
        signer: &Bound<'_, PyAny>,
        parts: &Bound<'_, PyList>,
        signed: &Bound<'_, PyList>,
        sig: &str,
        expiry_ms: u64,
        rules: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let rules = rules_of(rules)?;
            let key = hmac_key_of(signer)?;
            let mut layout = layout_of(parts, Some(signed))?;
            layout.expiry_ms = expiry_ms;
            layout.sig = match sig {
                "hex" => SigText::Hex,
                "base64" => SigText::Base64,
                "base64_form" => SigText::Base64Form,
                _ => return Err(PyValueError::new_err("sig is 'hex', 'base64' or 'base64_form'")),
            };
            let t = order::OrderTemplate::new(layout, key, rules).map_err(invalid)?;
            Ok(Self::of(t))
        })
    }

    /// A request that carries a fresh JWT from `signer` (a Coinbase signer: its ES256 or EdDSA key) in
    /// its `"jwt"` slot, for `method host path` (its `uri` claim) and the timestamp's seconds, with a
    /// fresh 64-character nonce per fill. `parts` as for `unsigned`.
    #[staticmethod]
    #[pyo3(signature = (signer, parts, *, method, host, path, **rules))]
    fn jwt(
        signer: PyRef<'_, CoinbaseSigner>,
        parts: &Bound<'_, PyList>,
        method: &str,
        host: &str,
        path: &str,
        rules: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let rules = rules_of(rules)?;
            let layout = layout_of(parts, None)?;
            let slot = JwtSlot::coinbase(signer.core(), method, host, path).map_err(invalid)?;
            let t = order::OrderTemplate::with_jwt(layout, slot, rules).map_err(invalid)?;
            Ok(Self::of(t))
        })
    }

    /// The request bytes, checked against the instrument's tick, lot and bounds (`InvalidOrder`, with
    /// `rule`, and nothing produced otherwise) and signed. `timestamp_ms` is an int; a request that
    /// carries no time (Tradefence's, whose signer's clock reads float seconds) takes any number. A
    /// layout with a nonce slot or a JWT gets a fresh random nonce unless `nonce` is given (the build-time
    /// proof's fixed one: `tickwire.trading.template._checked`).
    #[pyo3(signature = (price, qty, client_id, timestamp_ms, request_id = "", *, nonce = None))]
    #[allow(clippy::too_many_arguments)]
    fn fill<'py>(
        &mut self,
        py: Python<'py>,
        price: u64,
        qty: u64,
        client_id: &str,
        timestamp_ms: &Bound<'py, PyAny>,
        request_id: &str,
        nonce: Option<&str>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| {
            let ts = match timestamp_ms.extract::<u64>() {
                Ok(ts) => ts,
                Err(_) if !self.t.stamped() && timestamp_ms.extract::<f64>().is_ok() => 0,
                Err(e) => return Err(e),
            };
            self.t
                .fill_with_nonce(price, qty, client_id, ts, request_id, nonce, &mut self.buf)
                .map_err(invalid)?;
            Ok(PyBytes::new(py, &self.buf))
        })
    }

    /// Client ids `stem` + base 62 of `first..end` for `fire` (a range `ClientIds.reserve` set aside).
    fn give_ids(&mut self, stem: &str, first: u64, end: u64) -> PyResult<()> {
        self.ids =
            IdRange::new(stem, first, end).ok_or_else(|| PyValueError::new_err("client id stem too long"))?;
        Ok(())
    }

    /// How many of the given client ids `fire` has left.
    #[getter]
    fn ids_left(&self) -> u64 {
        self.ids.left()
    }

    /// `fill` with the next given client id, stamped by `timestamp_ms` (an int, a clock to call, or a
    /// `VenueTime` read in Rust), the rate budget taken (`take`, the template's
    /// `BudgetTaker`), written at once: `write(data)`, or `write(head, data)` when `head` is given (a
    /// picows transport's `send(WSMsgType.TEXT, data)`). Returns the client id and the bytes written;
    /// None, nothing written or taken, when no client id is left (`ids_left` is 0: `give_ids`) or the
    /// budget has no room now. `InvalidOrder`, nothing written or taken, when the numbers break the
    /// instrument's rules. An id not written is kept for the next order.
    #[pyo3(signature = (price, qty, timestamp_ms, request_id, write, head = None, take = None))]
    #[allow(clippy::too_many_arguments)]
    fn fire<'py>(
        &mut self,
        py: Python<'py>,
        price: u64,
        qty: u64,
        timestamp_ms: &Bound<'py, PyAny>,
        request_id: &str,
        write: &Bound<'py, PyAny>,
        head: Option<&Bound<'py, PyAny>>,
        take: Option<&Bound<'py, BudgetTaker>>,
    ) -> PyResult<Option<(Bound<'py, PyString>, Bound<'py, PyBytes>)>> {
        guard(|| self.fire_with(py, price, qty, timestamp_ms, request_id, write, head, take))
    }

    /// The instrument's rules alone (`InvalidOrder` unless the mantissas pass).
    fn check(&self, price: u64, qty: u64) -> PyResult<()> {
        guard(|| self.t.check(price, qty).map_err(invalid))
    }

    /// `(client_id, price, qty)` of the order the last `fire` was writing when its `write` raised
    /// (its bytes may have gone out: the id stays spent, the order is the venue's to tell), then
    /// forgotten; None when that `fire`'s write did not raise (whatever else it raised came before
    /// any bytes were made).
    fn take_raised(&mut self) -> Option<(String, u64, u64)> {
        self.raised.take()
    }

    /// `time.monotonic_ns()` right before the last `fire` called `write` (0 before any).
    #[getter]
    fn ready_ns(&self) -> i64 {
        self.ready_ns
    }

    /// Whether the request carries a price (False: a market order).
    #[getter]
    fn priced(&self) -> bool {
        self.t.priced()
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
