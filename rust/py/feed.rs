//! `BookFeed` / `OrderBook`: one Rust call per received frame; books stay in Rust.

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use pyo3::{intern, IntoPyObjectExt};

use super::errors::{err, guard, Kind};
use crate::book::num::{parse_dec, to_f64};
use crate::book::sync::{OosReason, SyncState};
use crate::book::{Book, BookError, Outcome};
use crate::venue::{Feed, FeedError, FeedOptions, FrameKind, Venue};

fn feed_err(e: FeedError) -> PyErr {
    match e {
        FeedError::Json(j) => err(Kind::Decode, format!("malformed frame, nothing applied: {j}")),
        FeedError::Book { symbol, err: BookError::Num(n) } => {
            err(Kind::ValueRange, format!("book {symbol}: {n}; nothing applied"))
        }
        FeedError::Book { symbol, err: BookError::ScaleFixed { what, needed, allowed } } => err(
            Kind::ValueRange,
            format!(
                "book {symbol}: a {what} needs {needed} decimals, the book allows {allowed}; nothing applied"
            ),
        ),
        FeedError::Book { symbol, err: e } => err(Kind::Book, format!("book {symbol}: {e}")),
        FeedError::NoSymbol => err(Kind::Decode, "book message without a symbol"),
        FeedError::NotASnapshot => err(Kind::Decode, "payload holds no book snapshot"),
    }
}

/// Runs `f` over the bytes of `payload` (bytes, bytearray, memoryview or str) without copying.
fn with_bytes<R>(payload: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> PyResult<R>) -> PyResult<R> {
    if let Ok(b) = payload.cast::<PyBytes>() {
        return f(b.as_bytes());
    }
    if let Ok(s) = payload.cast::<PyString>() {
        return f(s.to_str()?.as_bytes());
    }
    let buf = PyBuffer::<u8>::get(payload)
        .map_err(|_| err(Kind::Decode, "payload must be bytes, bytearray, memoryview or str"))?;
    if !buf.is_c_contiguous() {
        return Err(err(Kind::Decode, "payload buffer must be contiguous"));
    }
    // SAFETY: the buffer is held (and the GIL too) for the whole call and no Python code runs
    // while `f` reads it; a caller mutating a bytearray from another thread is their race.
    let slice = unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes()) };
    f(slice)
}

/// Cached Python strings for outcomes: built once, then only a refcount per use.
fn outcome_py<'py>(py: Python<'py>, o: &Outcome) -> &'py Bound<'py, PyString> {
    match o {
        Outcome::Applied => intern!(py, "applied"),
        Outcome::Buffered => intern!(py, "buffered"),
        Outcome::Stale => intern!(py, "stale"),
        Outcome::Ignored => intern!(py, "ignored"),
        Outcome::Gap => intern!(py, "gap"),
        Outcome::ChecksumMismatch { .. } => intern!(py, "checksum_mismatch"),
        Outcome::Crossed => intern!(py, "crossed"),
    }
}

fn kind_py(py: Python<'_>, k: FrameKind) -> &Bound<'_, PyString> {
    match k {
        FrameKind::Other => intern!(py, "other"),
        FrameKind::Book => intern!(py, "book"),
        FrameKind::Bbo => intern!(py, "bbo"),
        FrameKind::Trade => intern!(py, "trade"),
        FrameKind::Ping(_) => intern!(py, "ping"),
        FrameKind::Heartbeat => intern!(py, "heartbeat"),
        FrameKind::Control => intern!(py, "control"),
    }
}

fn state_name(s: SyncState) -> &'static str {
    match s {
        SyncState::Empty => "empty",
        SyncState::Buffering => "buffering",
        SyncState::Synced => "synced",
        SyncState::OutOfSync(OosReason::Gap) => "out_of_sync:gap",
        SyncState::OutOfSync(OosReason::Checksum) => "out_of_sync:checksum",
        SyncState::OutOfSync(OosReason::Crossed) => "out_of_sync:crossed",
        SyncState::Resyncing => "resyncing",
    }
}

/// Decodes one venue connection's frames into L2 books kept in Rust.
#[pyclass(module = "tickwire._core", name = "BookFeed")]
pub struct BookFeed {
    feed: Feed,
    /// Python str per book, created once so summaries only bump refcounts.
    names: Vec<Py<PyString>>,
    recv_ns: Vec<Option<i64>>,
}

impl BookFeed {
    /// `(kind, ((symbol, outcome), ...), ping_value | None)` for the last frame.
    fn summary<'py>(&mut self, py: Python<'py>, recv_ns: Option<i64>) -> PyResult<Bound<'py, PyTuple>> {
        for i in self.names.len()..self.feed.len() {
            let sym = String::from_utf8_lossy(self.feed.symbol_at(i).unwrap_or_default()).into_owned();
            self.names.push(PyString::new(py, &sym).unbind());
            self.recv_ns.push(None);
        }
        let s = self.feed.last_summary();
        let mut items = Vec::with_capacity(s.updates.len());
        for &(i, o) in &s.updates {
            if recv_ns.is_some() {
                self.recv_ns[i as usize] = recv_ns;
            }
            let name = self.names[i as usize].bind(py).clone().into_any();
            items.push(PyTuple::new(py, [name, outcome_py(py, &o).clone().into_any()])?);
        }
        let f = |d: crate::book::num::Dec| to_f64(d.mant, d.dec);
        let value = match s.kind {
            FrameKind::Ping(v) => v.into_bound_py_any(py)?,
            FrameKind::Bbo => {
                let (sym, q) = self.feed.last_quote();
                let sym = String::from_utf8_lossy(sym);
                (sym, f(q.bid_px), f(q.bid_qty), f(q.ask_px), f(q.ask_qty)).into_bound_py_any(py)?
            }
            FrameKind::Trade if !self.feed.last_quote().0.is_empty() => {
                let (sym, q) = self.feed.last_quote();
                (String::from_utf8_lossy(sym), f(q.px), f(q.qty), q.buyer_maker).into_bound_py_any(py)?
            }
            _ => py.None().into_bound(py),
        };
        let k = kind_py(py, s.kind).clone().into_any();
        PyTuple::new(py, [k, PyTuple::new(py, items)?.into_any(), value])
    }

    fn index(&self, symbol: &str) -> PyResult<usize> {
        let b = symbol.as_bytes();
        self.feed
            .index_of(b)
            .or_else(|| {
                // Binance names symbols in upper case on the wire; accept "btcusdt" too.
                matches!(self.feed.venue(), Venue::BinanceSpot | Venue::BinanceUsdm)
                    .then(|| self.feed.index_of(symbol.to_ascii_uppercase().as_bytes()))
                    .flatten()
            })
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(symbol.to_owned()))
    }
}

#[pymethods]
impl BookFeed {
    #[new]
    #[pyo3(signature = (venue, *, price_decimals=None, qty_decimals=None, max_depth=None,
        checksum_price_decimals=None, checksum_qty_decimals=None, check_crossed=None, verify_checksum=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        venue: &str,
        price_decimals: Option<u8>,
        qty_decimals: Option<u8>,
        max_depth: Option<usize>,
        checksum_price_decimals: Option<u8>,
        checksum_qty_decimals: Option<u8>,
        check_crossed: Option<bool>,
        verify_checksum: Option<bool>,
    ) -> PyResult<Self> {
        guard(|| {
            let v = Venue::parse(venue).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "unknown venue {venue:?}; one of binance, binance-usdm, okx, kraken, bybit, coinbase, htx, \
                     clarofinlore, tradefence"
                ))
            })?;
            for d in [price_decimals, qty_decimals, checksum_price_decimals, checksum_qty_decimals]
                .into_iter()
                .flatten()
            {
                if d > crate::book::num::MAX_DECIMALS {
                    return Err(pyo3::exceptions::PyValueError::new_err("decimals must be <= 18"));
                }
            }
            let opts = FeedOptions {
                price_decimals,
                qty_decimals,
                max_depth,
                checksum_price_decimals,
                checksum_qty_decimals,
                check_crossed,
                verify_checksum,
                round_qty_decimals: None,
            };
            Ok(BookFeed { feed: Feed::new(v, &opts), names: Vec::new(), recv_ns: Vec::new() })
        })
    }

    /// Decodes one received frame and applies its book messages. Returns
    /// `(kind, ((symbol, outcome), ...), ping_value)`; raises DecodeError / ValueRangeError (nothing
    /// applied) for a frame that cannot be decoded.
    #[pyo3(signature = (payload, recv_ns=None))]
    fn on_frame<'py>(
        &mut self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        recv_ns: Option<i64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            with_bytes(payload, |b| self.feed.on_frame(b).map(|_| ()).map_err(feed_err))?;
            self.summary(py, recv_ns)
        })
    }

    /// Applies a snapshot fetched out of band (Binance REST depth, HTX REQ reply) to `symbol`.
    fn on_snapshot<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            with_bytes(payload, |b| {
                self.feed.on_snapshot(symbol.as_bytes(), b).map(|_| ()).map_err(feed_err)
            })?;
            self.summary(py, None)
        })
    }

    /// Call after a reconnect: every book empties and waits for a fresh snapshot.
    fn reset(&mut self) -> PyResult<()> {
        guard(|| {
            self.feed.reset();
            Ok(())
        })
    }

    /// A live view of one symbol's book (KeyError if the feed has not seen it).
    fn book(slf: Bound<'_, Self>, symbol: &str) -> PyResult<OrderBook> {
        guard(|| {
            let index = slf.borrow().index(symbol)?;
            Ok(OrderBook { feed: slf.unbind(), index })
        })
    }

    /// Symbols seen so far, in order of first appearance.
    fn symbols(&self) -> Vec<String> {
        (0..self.feed.len())
            .map(|i| String::from_utf8_lossy(self.feed.symbol_at(i).unwrap_or_default()).into_owned())
            .collect()
    }

    /// Feed-wide counters.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.feed.stats();
        let d = PyDict::new(py);
        d.set_item("frames", s.frames)?;
        d.set_item("book_messages", s.book_msgs)?;
        d.set_item("errors", s.errors)?;
        d.set_item("connection_gaps", s.conn_gaps)?;
        Ok(d)
    }

    #[getter]
    fn venue(&self) -> String {
        format!("{:?}", self.feed.venue())
    }

    fn __len__(&self) -> usize {
        self.feed.len()
    }

    fn __repr__(&self) -> String {
        format!("BookFeed(venue={:?}, books={})", self.feed.venue(), self.feed.len())
    }
}

/// A live, read-only view of one book inside a `BookFeed`. Prices and quantities are floats for
/// convenience; the book itself is exact fixed point.
#[pyclass(module = "tickwire._core", name = "OrderBook")]
pub struct OrderBook {
    feed: Py<BookFeed>,
    index: usize,
}

impl OrderBook {
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&Book) -> R) -> PyResult<R> {
        let feed = self.feed.bind(py).try_borrow().map_err(|e| err(Kind::Book, e.to_string()))?;
        let book =
            feed.feed.book_at(self.index).ok_or_else(|| err(Kind::Internal, "book index out of range"))?;
        Ok(f(book))
    }
}

fn side_flag(side: &str) -> PyResult<bool> {
    match side {
        "bid" | "bids" | "buy" => Ok(false),
        "ask" | "asks" | "sell" => Ok(true),
        _ => Err(pyo3::exceptions::PyValueError::new_err("side must be 'bid' or 'ask'")),
    }
}

#[pymethods]
impl OrderBook {
    #[getter]
    fn symbol(&self, py: Python<'_>) -> PyResult<String> {
        let feed = self.feed.bind(py).borrow();
        Ok(String::from_utf8_lossy(feed.feed.symbol_at(self.index).unwrap_or_default()).into_owned())
    }

    /// Best bid as (price, quantity), or None for an empty side.
    fn best_bid(&self, py: Python<'_>) -> PyResult<Option<(f64, f64)>> {
        guard(|| self.with(py, |b| b.best_bid_f64()))
    }

    fn best_ask(&self, py: Python<'_>) -> PyResult<Option<(f64, f64)>> {
        guard(|| self.with(py, |b| b.best_ask_f64()))
    }

    fn spread(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        guard(|| self.with(py, |b| b.spread().map(|s| to_f64(s, b.price_scale()))))
    }

    fn mid(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        guard(|| self.with(py, |b| b.mid()))
    }

    fn microprice(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        guard(|| self.with(py, |b| b.microprice()))
    }

    /// Up to `n` levels of `side` from the touch as (price, quantity) floats.
    #[pyo3(signature = (side, n=10))]
    fn levels(&self, py: Python<'_>, side: &str, n: usize) -> PyResult<Vec<(f64, f64)>> {
        let ask = side_flag(side)?;
        guard(|| {
            self.with(py, |b| {
                let s = if ask { b.asks() } else { b.bids() };
                s.iter()
                    .take(n)
                    .map(|l| (to_f64(s.price_of(l), b.price_scale()), to_f64(l.qty, b.qty_scale())))
                    .collect()
            })
        })
    }

    /// Total quantity in the best `n` levels of `side`.
    #[pyo3(signature = (side, n=10))]
    fn depth(&self, py: Python<'_>, side: &str, n: usize) -> PyResult<f64> {
        let ask = side_flag(side)?;
        guard(|| self.with(py, |b| b.depth_qty(ask, n) as f64 / 10f64.powi(b.qty_scale() as i32)))
    }

    /// VWAP of taking `qty` from `side` ("ask" = buying): (vwap, worst price, filled quantity).
    fn impact(
        &self,
        py: Python<'_>,
        side: &str,
        qty: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(f64, f64, f64)>> {
        let ask = side_flag(side)?;
        let text: String = if let Ok(s) = qty.cast::<PyString>() {
            s.to_str()?.to_owned()
        } else {
            qty.str()?.to_str()?.to_owned()
        };
        let d = parse_dec(text.as_bytes()).map_err(|e| err(Kind::ValueRange, e.to_string()))?;
        guard(|| {
            self.with(py, |b| {
                let q = d.at_scale(b.qty_scale()).map_err(|e| err(Kind::ValueRange, e.to_string()))?;
                Ok(b.impact(ask, q).map(|i| {
                    (i.vwap, to_f64(i.worst_price, b.price_scale()), to_f64(i.filled, b.qty_scale()))
                }))
            })?
        })
    }

    /// (bid qty - ask qty) / (bid qty + ask qty) over the best `n` levels.
    #[pyo3(signature = (n=10))]
    fn imbalance(&self, py: Python<'_>, n: usize) -> PyResult<Option<f64>> {
        guard(|| self.with(py, |b| b.imbalance(n)))
    }

    /// The venue checksum of the current book (None for venues without one).
    fn checksum(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        guard(|| self.with(py, |b| b.checksum()))
    }

    #[getter]
    fn is_synced(&self, py: Python<'_>) -> PyResult<bool> {
        guard(|| self.with(py, |b| b.is_synced()))
    }

    /// "empty", "buffering", "synced", "out_of_sync:gap|checksum|crossed" or "resyncing".
    #[getter]
    fn state(&self, py: Python<'_>) -> PyResult<&'static str> {
        guard(|| self.with(py, |b| state_name(b.state())))
    }

    /// Last applied update id, or None.
    #[getter]
    fn last_update_id(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        guard(|| self.with(py, |b| (b.last_id() != crate::book::sync::NO_SEQ).then_some(b.last_id())))
    }

    /// `recv_ns` passed with the last frame that changed this book.
    #[getter]
    fn recv_ns(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        let feed = self.feed.bind(py).borrow();
        Ok(feed.recv_ns.get(self.index).copied().flatten())
    }

    /// Per-book counters.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.with(py, |b| *b.stats())?;
        let d = PyDict::new(py);
        for (k, v) in [
            ("snapshots", s.snapshots),
            ("diffs_applied", s.diffs_applied),
            ("buffered", s.buffered),
            ("stale", s.stale),
            ("ignored", s.ignored),
            ("gaps", s.gaps),
            ("checksum_ok", s.checksum_ok),
            ("checksum_fail", s.checksum_fail),
            ("crossed", s.crossed),
            ("rescales", s.rescales),
            ("rounded", s.rounded),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |b| b.bids().len() + b.asks().len())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let sym = self.symbol(py)?;
        self.with(py, |b| {
            format!(
                "OrderBook({sym}, {}, bid={:?}, ask={:?})",
                state_name(b.state()),
                b.best_bid_f64(),
                b.best_ask_f64()
            )
        })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BookFeed>()?;
    m.add_class::<OrderBook>()?;
    Ok(())
}
