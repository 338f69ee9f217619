//! `OrderBook`: a live, read-only view of one book inside a `BookFeed`.
//!
//! Floats by default (what strategies compute with); exact values on request, as `Decimal` or as
//! integer mantissas at `price_decimals`/`qty_decimals` written into a caller's int64 buffer.

use pyo3::buffer::{Element, PyBuffer};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::errors::{err, guard, Kind};
use super::events::decimal;
use super::feed::BookFeed;
use super::names::state_name;
use crate::book::num::{parse_dec, to_f64};
use crate::book::Book;

/// A live, read-only view of one book inside a `BookFeed`. Prices and quantities are floats for
/// convenience; the book itself is exact fixed point.
#[pyclass(module = "tickwire._core", name = "OrderBook", frozen)]
pub struct OrderBook {
    feed: Py<BookFeed>,
    index: usize,
}

/// Best bid and ask (price, quantity) mantissas and the book's (price, quantity) scales.
pub(crate) type Touch = ([i64; 4], u8, u8);

/// The last `top()` of a book and the touch it was made of: most frames leave the touch as it was
/// (55–60% of the simulator's), and then the same immutable tuple is returned again instead of
/// four floats and a tuple made and freed.
pub(crate) type LastTop = Option<(Touch, Py<PyTuple>)>;

pub(crate) fn touch(b: &Book) -> Option<Touch> {
    let ((bp, bq), (ap, aq)) = (b.best_bid()?, b.best_ask()?);
    Some(([bp, bq, ap, aq], b.price_scale(), b.qty_scale()))
}

pub(crate) fn top_tuple<'py>(py: Python<'py>, touch: Touch) -> PyResult<Bound<'py, PyTuple>> {
    let ([bp, bq, ap, aq], ps, qs) = touch;
    (to_f64(bp, ps), to_f64(bq, qs), to_f64(ap, ps), to_f64(aq, qs)).into_pyobject(py)
}

impl OrderBook {
    pub(crate) fn new(feed: Py<BookFeed>, index: usize) -> Self {
        OrderBook { feed, index }
    }

    /// Runs `f` on the book; a panic in it becomes `InternalError` (every query goes through here).
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&Book) -> R) -> PyResult<R> {
        guard(|| {
            let feed = self.feed.bind(py).try_borrow().map_err(|e| err(Kind::Book, e.to_string()))?;
            let book = feed
                .feed
                .book_at(self.index)
                .ok_or_else(|| err(Kind::Internal, "book index out of range"))?;
            Ok(f(book))
        })
    }
}

impl OrderBook {
    fn best_mantissa(&self, py: Python<'_>, ask: bool, scale: Option<u8>) -> PyResult<Option<i64>> {
        self.with(py, |b| b.best_price_at(ask, scale))?.map_err(|_| {
            // Either way the scale asked for cannot hold the price exactly: say both, not the one
            // that may be wrong (60000 at 18 decimals has none too many).
            pyo3::exceptions::PyValueError::new_err(format!(
                "best price is not exact at {} decimals: it has more, or its mantissa there is past an i64",
                scale.unwrap_or_default()
            ))
        })
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
        let feed = self.feed.bind(py).try_borrow().map_err(|e| err(Kind::Book, e.to_string()))?;
        Ok(String::from_utf8_lossy(feed.feed.symbol_at(self.index).unwrap_or_default()).into_owned())
    }

    /// Best bid as (price, quantity), or None for an empty side.
    fn best_bid(&self, py: Python<'_>) -> PyResult<Option<(f64, f64)>> {
        guard(|| self.with(py, |b| b.best_bid_f64()))
    }

    fn best_ask(&self, py: Python<'_>) -> PyResult<Option<(f64, f64)>> {
        guard(|| self.with(py, |b| b.best_ask_f64()))
    }

    /// `(bid, bid_qty, ask, ask_qty)` in one call (one crossing into Rust, one tuple), or None
    /// unless both sides have a level.
    fn top<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        guard(|| {
            let feed = self.feed.bind(py);
            // Borrowed mutably to keep the last tuple in the feed: one atomic operation, where a
            // shared borrow and a lock of the view's own were four (two thirds of the call's
            // time in Rust). Inside another borrow of the feed (only a callback from Rust can be),
            // a shared one reads the book without the cache.
            let t = {
                let Ok(f) = feed.try_borrow_mut() else {
                    let t = self.with(py, touch)?;
                    return t.map(|t| top_tuple(py, t)).transpose();
                };
                let book = f
                    .feed
                    .book_at(self.index)
                    .ok_or_else(|| err(Kind::Internal, "book index out of range"))?;
                let Some(t) = touch(book) else { return Ok(None) };
                if let Some(Some((last, tuple))) = f.tops.get(self.index) {
                    if *last == t {
                        return Ok(Some(tuple.bind(py).clone()));
                    }
                }
                t
            };
            // Made with the feed released: making objects can run a collection, and with it any
            // Python code.
            let tuple = top_tuple(py, t)?;
            if let Some(slot) = feed.try_borrow_mut().ok().as_mut().and_then(|f| f.tops.get_mut(self.index)) {
                *slot = Some((t, tuple.clone().unbind()));
            }
            Ok(Some(tuple))
        })
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
    fn levels(
        &self,
        py: Python<'_>,
        side: &str,
        #[pyo3(from_py_with = super::args::count)] n: usize,
    ) -> PyResult<Vec<(f64, f64)>> {
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

    /// Best bid as `(price, qty)` `Decimal`s, exactly as held, or None.
    fn best_bid_exact<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        guard(|| self.exact_levels(py, false, 1).map(|v| v.into_iter().next()))
    }

    fn best_ask_exact<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        guard(|| self.exact_levels(py, true, 1).map(|v| v.into_iter().next()))
    }

    /// Up to `n` levels of `side` as `(price, qty)` `Decimal`s, written with the decimals the venue
    /// used.
    #[pyo3(signature = (side, n=10))]
    fn levels_exact<'py>(
        &self,
        py: Python<'py>,
        side: &str,
        #[pyo3(from_py_with = super::args::count)] n: usize,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let ask = side_flag(side)?;
        guard(|| self.exact_levels(py, ask, n))
    }

    /// Writes up to `min(len(prices), len(qtys))` levels of `side` from the touch into two writable
    /// buffers (numpy arrays, `array.array`, memoryviews) without creating a Python object per level;
    /// returns how many levels were written. float64 buffers get floats; int64 buffers get the exact
    /// mantissas at `price_decimals` / `qty_decimals`.
    fn levels_into(
        &self,
        py: Python<'_>,
        side: &str,
        prices: &Bound<'_, PyAny>,
        qtys: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let ask = side_flag(side)?;
        if let (Ok(p), Ok(q)) = (PyBuffer::<f64>::get(prices), PyBuffer::<f64>::get(qtys)) {
            return guard(|| {
                self.with(py, |b| {
                    let (ps, qs) = (b.price_scale(), b.qty_scale());
                    fill(b, ask, &p, &q, |px| to_f64(px, ps), |qty| to_f64(qty, qs))
                })?
            });
        }
        if let (Ok(p), Ok(q)) = (PyBuffer::<i64>::get(prices), PyBuffer::<i64>::get(qtys)) {
            return guard(|| self.with(py, |b| fill(b, ask, &p, &q, |px| px, |qty| qty))?);
        }
        Err(pyo3::exceptions::PyTypeError::new_err(
            "levels_into needs two writable float64 or two writable int64 buffers",
        ))
    }

    /// Best bid price as an integer mantissa at `scale` decimals (default: the book's
    /// `price_decimals`), or None for an empty side: what an order template's `send` takes, e.g.
    /// `tmpl.send(book.best_bid_mantissa(tmpl.price_scale), qty)`. `ValueError` when the price
    /// has more decimals than `scale` (it is never rounded).
    #[pyo3(signature = (scale=None))]
    fn best_bid_mantissa(&self, py: Python<'_>, scale: Option<u8>) -> PyResult<Option<i64>> {
        self.best_mantissa(py, false, scale)
    }

    /// Best ask price as an integer mantissa; see `best_bid_mantissa`.
    #[pyo3(signature = (scale=None))]
    fn best_ask_mantissa(&self, py: Python<'_>, scale: Option<u8>) -> PyResult<Option<i64>> {
        self.best_mantissa(py, true, scale)
    }

    /// Decimals of the book's price mantissas (grows when the venue sends a finer price).
    #[getter]
    fn price_decimals(&self, py: Python<'_>) -> PyResult<u8> {
        self.with(py, |b| b.price_scale())
    }

    #[getter]
    fn qty_decimals(&self, py: Python<'_>) -> PyResult<u8> {
        self.with(py, |b| b.qty_scale())
    }

    /// Number of levels on `side`.
    fn level_count(&self, py: Python<'_>, side: &str) -> PyResult<usize> {
        let ask = side_flag(side)?;
        self.with(py, |b| if ask { b.asks().len() } else { b.bids().len() })
    }

    /// Total quantity in the best `n` levels of `side`.
    #[pyo3(signature = (side, n=10))]
    fn depth(
        &self,
        py: Python<'_>,
        side: &str,
        #[pyo3(from_py_with = super::args::count)] n: usize,
    ) -> PyResult<f64> {
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
    fn imbalance(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = super::args::count)] n: usize,
    ) -> PyResult<Option<f64>> {
        guard(|| self.with(py, |b| b.imbalance(n)))
    }

    /// The venue checksum of the current book (None for venues without one).
    fn checksum(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        guard(|| self.with(py, |b| b.checksum()))
    }

    /// Synced, and since every line of the session went down, proven continuous by a message on
    /// the new connection (or a fresh snapshot): a book last synced before an outage is not.
    #[getter]
    fn is_synced(&self, py: Python<'_>) -> PyResult<bool> {
        let confirmed = self.feed.bind(py).try_borrow().is_ok_and(|f| f.confirmed(self.index));
        guard(|| self.with(py, |b| b.is_synced() && confirmed))
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
        let feed = self.feed.bind(py).try_borrow().map_err(|e| err(Kind::Book, e.to_string()))?;
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
            ("resyncs", s.resyncs),
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

impl OrderBook {
    fn exact_levels<'py>(
        &self,
        py: Python<'py>,
        ask: bool,
        n: usize,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let feed = self.feed.bind(py).try_borrow().map_err(|e| err(Kind::Book, e.to_string()))?;
        let b =
            feed.feed.book_at(self.index).ok_or_else(|| err(Kind::Internal, "book index out of range"))?;
        let s = if ask { b.asks() } else { b.bids() };
        s.iter()
            .take(n)
            .map(|l| {
                Ok((
                    decimal(py, s.price_of(l), b.price_scale(), l.pw)?,
                    decimal(py, l.qty, b.qty_scale(), l.qw)?,
                ))
            })
            .collect()
    }
}

fn fill<T: Element + Copy>(
    b: &Book,
    ask: bool,
    prices: &PyBuffer<T>,
    qtys: &PyBuffer<T>,
    px: impl Fn(i64) -> T,
    qty: impl Fn(i64) -> T,
) -> PyResult<usize> {
    for b in [prices, qtys] {
        if b.readonly() || !b.is_c_contiguous() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "levels_into needs writable, C-contiguous buffers",
            ));
        }
    }
    let (pp, qp) = (prices.buf_ptr() as *mut T, qtys.buf_ptr() as *mut T);
    let k = prices.item_count().min(qtys.item_count());
    let s = if ask { b.asks() } else { b.bids() };
    let mut n = 0;
    for l in s.iter().take(k) {
        // SAFETY: both buffers are held (exported, so not resized) for this call, are writable,
        // contiguous, of element type T and at least `k` long; the GIL is held and no Python code
        // runs meanwhile. Raw writes stay sound even if the two buffers overlap.
        unsafe {
            pp.add(n).write(px(s.price_of(l)));
            qp.add(n).write(qty(l.qty));
        }
        n += 1;
    }
    Ok(n)
}
