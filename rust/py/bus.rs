//! The bus format (`crate::bus`) for Python. A gateway's `BookFeed` publishes its books through
//! its `journal` / `take_delta` / `bus_snapshot` methods (in `feed.rs`, which call here) and its
//! trades and BBOs through `bus_trade` / `bus_bbo`; a consumer reads all of it with
//! `BookFeed("bus")`, and `bus_header` reads a message's header fields without decoding it.

use std::cell::RefCell;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::errors::{err, guard, Kind};
use super::events::{Bbo, Trade};
use super::feed::with_bytes;
use crate::bus::{self, BookTx, EncodeError, Message};
use crate::venue::Feed;

fn encode_err(e: EncodeError) -> PyErr {
    match e {
        EncodeError::Symbol(_) => pyo3::exceptions::PyValueError::new_err(e.to_string()),
        EncodeError::NotSynced | EncodeError::NoJournal => err(Kind::Book, e.to_string()),
        EncodeError::Range(_) => err(Kind::ValueRange, e.to_string()),
    }
}

/// A gateway feed's publishing state: each book's place in its consumers' sequence, and buffers
/// reused by every message.
#[derive(Default)]
pub(crate) struct Publisher {
    tx: Vec<BookTx>,
    out: Vec<u8>,
    symbol: Vec<u8>,
}

impl Publisher {
    /// Book `i`'s state, and its symbol copied out of the feed (whose book is borrowed next).
    fn ready(&mut self, feed: &Feed, i: usize) {
        if self.tx.len() <= i {
            self.tx.resize(i + 1, BookTx::default());
        }
        self.symbol.clear();
        self.symbol.extend_from_slice(feed.symbol_at(i).unwrap_or_default());
    }

    pub(crate) fn take_delta<'py>(
        &mut self,
        py: Python<'py>,
        feed: &mut Feed,
        i: usize,
        stamp_ns: i64,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.ready(feed, i);
        let book = feed.book_at_mut(i).ok_or_else(|| err(Kind::Internal, "book index out of range"))?;
        let sent = bus::take_delta(book, &mut self.tx[i], &self.symbol, stamp_ns, &mut self.out)
            .map_err(encode_err)?;
        Ok(sent.map(|_| PyBytes::new(py, &self.out)))
    }

    pub(crate) fn snapshot<'py>(
        &mut self,
        py: Python<'py>,
        feed: &Feed,
        i: usize,
        stamp_ns: i64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.ready(feed, i);
        let book = feed.book_at(i).ok_or_else(|| err(Kind::Internal, "book index out of range"))?;
        bus::snapshot_message(book, &self.tx[i], &self.symbol, stamp_ns, &mut self.out)
            .map_err(encode_err)?;
        Ok(PyBytes::new(py, &self.out))
    }
}

thread_local! {
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs one event encoder over the event's symbol into the thread's reused buffer; the message.
fn event<'py>(
    py: Python<'py>,
    symbol: &Py<PyString>,
    f: impl FnOnce(&[u8], &mut Vec<u8>) -> Result<(), EncodeError>,
) -> PyResult<Bound<'py, PyBytes>> {
    guard(|| {
        let sym = symbol.bind(py).to_str()?;
        OUT.with_borrow_mut(|out| {
            f(sym.as_bytes(), out).map_err(encode_err)?;
            Ok(PyBytes::new(py, out))
        })
    })
}

/// A trade as a bus message; `gseq` is the gateway's trade counter for the symbol, `stamp_ns` its
/// receive time (wall clock ns). Prices and quantities keep the decimals the venue wrote.
#[pyfunction]
fn bus_trade<'py>(
    py: Python<'py>,
    trade: PyRef<'py, Trade>,
    gseq: u64,
    stamp_ns: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let t = &*trade;
    event(py, &t.symbol, |sym, out| {
        bus::encode_trade(sym, (t.px, t.qty), t.buyer_maker, t.trade_id, gseq, stamp_ns, out)
    })
}

/// A best bid/offer as a bus message; `gseq` is the gateway's BBO counter for the symbol.
#[pyfunction]
fn bus_bbo<'py>(
    py: Python<'py>,
    bbo: PyRef<'py, Bbo>,
    gseq: u64,
    stamp_ns: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    event(py, &bbo.symbol, |sym, out| bus::encode_bbo(sym, bbo.v, gseq, stamp_ns, out))
}

/// `(kind, gseq, venue_prev, venue_last, stamp_ns)` of a bus message, checked whole but not
/// decoded: kind 1 delta, 2 snapshot, 3 out of sync, 4 trade, 5 BBO; venue ids are -2**63 when the
/// venue numbers no updates. A snapshot's `venue_prev` is its `venue_last`, except in a restart
/// snapshot (the venue restarted the book's numbering): there it is the id consumers were left at,
/// at or above `venue_last`. DecodeError when the bytes are not a bus message.
#[pyfunction]
fn bus_header(payload: &Bound<'_, PyAny>) -> PyResult<(u8, u64, i64, i64, i64)> {
    guard(|| {
        with_bytes(payload, |b| {
            let h = Message::parse(b).map_err(|e| err(Kind::Decode, e.to_string()))?.header;
            Ok((h.kind as u8, h.gseq, h.venue_prev, h.venue_last, h.stamp_ns))
        })
    })
}

/// The trades a consumer never heard (`crate::bus::trade_gaps`), for the `nats-py` engine: the
/// `rust` engine's subscriber keeps its own inside `pump`.
#[pyclass(module = "tickwire._core", name = "TradeGaps")]
#[derive(Default)]
pub struct PyTradeGaps {
    inner: bus::trade_gaps::TradeGaps,
}

#[pymethods]
impl PyTradeGaps {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// `payload`, heard on `subject`: `(symbol, n)` for a trade message after a hole of `n` in its
    /// subject's `gseq`s, else None.
    fn observe(&mut self, subject: &str, payload: &Bound<'_, PyAny>) -> PyResult<Option<(String, u64)>> {
        let gaps = &mut self.inner;
        guard(|| {
            with_bytes(payload, |b| {
                Ok(gaps.observe(subject, b).map(|(sym, n)| (String::from_utf8_lossy(sym).into_owned(), n)))
            })
        })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTradeGaps>()?;
    m.add_function(wrap_pyfunction!(bus_trade, m)?)?;
    m.add_function(wrap_pyfunction!(bus_bbo, m)?)?;
    m.add_function(wrap_pyfunction!(bus_header, m)?)?;
    // Where the gateway's stamp sits: a consumer that only times the hop reads it without a call.
    m.add("BUS_STAMP_OFFSET", bus::wire::OFF_STAMP_NS)?;
    Ok(())
}
