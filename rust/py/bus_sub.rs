//! `BusSubscriber`: the remote consumer's market-data subscription (`crate::bus::sub`, async-nats on
//! its own thread) feeding a `Dispatcher` with one Python→Rust call per wake-up of the event loop.
//!
//! The loop watches `fileno()` (`loop.add_reader`) and calls `pump(dispatcher, hop)`: with the GIL
//! held it takes every queued message and puts each through the dispatcher's frame route exactly as
//! `Dispatcher.on_frame(payload, t0=receive time, last=1 for the batch's last message else 0)`
//! would, recording the bus hop (wall now − the gateway's stamp) into `hop`. It returns only what
//! Python must act on: `(gateway, summary)` for a summary (gateway: the subject's last token), and
//! `(gateway, exception)` for a message the route refused (a DecodeError is counted and returned,
//! the rest of the batch goes on). The tokio thread never takes the GIL.
//!
//! At most `max_pending` messages wait for `pump` (`crate::bus::backlog`: the oldest go first).
//! When some were dropped, the pump's list starts with `(None, ("dropped", ((symbol, "dropped"),
//! ...), counts))` — the books that lost messages, which must resync, and how many messages of each
//! kind were lost — before the batch that came after them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::dispatch::Dispatcher;
use super::errors::{err, guard, Kind};
use super::latency::Histogram;
use crate::bus::backlog::{Lost, DEFAULT_MAX_PENDING};
use crate::bus::sub::{Msg, Subscriber};
use crate::bus::trade_gaps::TradeGaps;
use crate::bus::wire::OFF_STAMP_NS;
use crate::clock::wall_ns;

#[pyclass(module = "tickwire._core", name = "BusSubscriber")]
pub struct BusSubscriber {
    sub: Subscriber,
    /// Reused between pumps (only the loop thread pumps; the lock is never contended).
    batch: Mutex<Vec<Msg>>,
    /// Messages put through the route, and those it refused.
    pumped: AtomicU64,
    errors: AtomicU64,
    /// The gateway stamp of the message being handled (readable from `on_book` during `pump`).
    last_stamp: AtomicI64,
    /// The last trade `gseq` per subject: a hole is trades lost on the way (`crate::bus::trade_gaps`).
    gaps: Mutex<TradeGaps>,
}

/// The gateway's stamp of a bus message (None when too short to be one; the route says why).
fn stamp(b: &[u8]) -> Option<i64> {
    let s = b.get(OFF_STAMP_NS..OFF_STAMP_NS + 8)?;
    Some(i64::from_le_bytes(s.try_into().ok()?))
}

/// `tickwire.bus.subjects.last_token`: the subject's last token, %-escapes undone.
fn last_token(subject: &str) -> String {
    let tok = subject.rsplit('.').next().unwrap_or(subject);
    if !tok.contains('%') {
        return tok.to_string();
    }
    let b = tok.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = tok.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[pymethods]
impl BusSubscriber {
    /// Connects to one of `servers` (NATS URLs; async-nats reconnects to any of them, and to the
    /// nodes the cluster announces) and subscribes `subjects`; returns once the server has them.
    /// TransportError when no server answers. `max_pending`: the messages kept for `pump` (>= 1).
    #[new]
    #[pyo3(signature = (servers, subjects, *, max_pending = DEFAULT_MAX_PENDING))]
    fn new(
        py: Python<'_>,
        servers: Vec<String>,
        subjects: Vec<String>,
        max_pending: usize,
    ) -> PyResult<Self> {
        if max_pending == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err("max_pending must be >= 1"));
        }
        let started = py.detach(move || {
            std::panic::catch_unwind(move || Subscriber::start(&servers, &subjects, max_pending))
                .map_err(|_| "panic while starting the subscriber".to_string())
        });
        match started {
            Ok(Ok(sub)) => Ok(BusSubscriber {
                sub,
                batch: Mutex::new(Vec::new()),
                pumped: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                last_stamp: AtomicI64::new(0),
                gaps: Mutex::new(TradeGaps::default()),
            }),
            Ok(Err(e)) => Err(err(Kind::Transport, e.to_string())),
            Err(e) => Err(err(Kind::Internal, e)),
        }
    }

    /// The eventfd: readable when messages wait for `pump`.
    fn fileno(&self) -> i32 {
        self.sub.fd()
    }

    /// Puts every waiting message through `dispatcher`'s frame route (see the module comment);
    /// `hop`: the histogram of gateway stamp → here (wall clocks). None when nothing needs Python.
    #[pyo3(signature = (dispatcher, hop=None))]
    fn pump<'py>(
        &self,
        py: Python<'py>,
        dispatcher: &Bound<'py, Dispatcher>,
        hop: Option<&Bound<'py, Histogram>>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        guard(|| {
            let mut batch = std::mem::take(&mut *self.batch.lock().unwrap_or_else(|e| e.into_inner()));
            let lost = self.sub.drain(&mut batch);
            let n = batch.len();
            let mut out: Option<Bound<'py, PyList>> = None;
            if !lost.is_empty() {
                out = Some(PyList::new(py, [dropped(py, &lost)?])?);
            }
            let mut d = dispatcher.try_borrow_mut()?;
            let mut h = match hop {
                Some(h) => Some(h.try_borrow_mut()?),
                None => None,
            };
            let mut errors = 0;
            let mut gaps = self.gaps.lock().unwrap_or_else(|e| e.into_inner());
            for (k, m) in batch.iter().enumerate() {
                let b: &[u8] = &m.payload;
                if let Some((symbol, n)) = gaps.observe(m.subject.as_str(), b) {
                    let pair = trades_lost(py, m.subject.as_str(), symbol, n)?;
                    match &out {
                        Some(l) => l.append(pair)?,
                        None => out = Some(PyList::new(py, [pair])?),
                    }
                }
                if let Some(s) = stamp(b) {
                    self.last_stamp.store(s, Ordering::Relaxed);
                    if let Some(h) = h.as_mut() {
                        h.inner.record(u64::try_from(wall_ns() - s).unwrap_or(0));
                    }
                }
                let last = k + 1 == n;
                let r = d.locked(py, |d, py| d.frame_bytes(py, b, false, m.recv_ns, last));
                let item: Bound<'py, PyAny> = match r {
                    Ok(None) => continue,
                    Ok(Some(summary)) => summary.into_any(),
                    Err(e) => {
                        errors += 1;
                        e.into_value(py).into_bound(py).into_any()
                    }
                };
                let gw = PyString::new(py, &last_token(m.subject.as_str()));
                let pair = PyTuple::new(py, [gw.into_any(), item])?;
                match &out {
                    Some(l) => l.append(pair)?,
                    None => out = Some(PyList::new(py, [pair])?),
                }
            }
            drop(d);
            self.pumped.fetch_add(n as u64, Ordering::Relaxed);
            self.errors.fetch_add(errors, Ordering::Relaxed);
            batch.clear();
            *self.batch.lock().unwrap_or_else(|e| e.into_inner()) = batch;
            Ok(out)
        })
    }

    /// The gateway stamp (wall ns) of the message `pump` is handling, or of its last one.
    #[getter]
    fn last_stamp_ns(&self) -> i64 {
        self.last_stamp.load(Ordering::Relaxed)
    }

    /// Messages put through the route so far.
    #[getter]
    fn pumped(&self) -> u64 {
        self.pumped.load(Ordering::Relaxed)
    }

    /// The default of `max_pending`.
    #[classattr]
    const MAX_PENDING: usize = DEFAULT_MAX_PENDING;

    /// `connected`, `reconnects`, `server` (host:port of the node), `received` (by the thread),
    /// `messages` (through the route), `errors` (refused by it), `dropped` (by async-nats, slow
    /// consumer), `overflowed` (the oldest, dropped at `max_pending`), `pending` (received, not yet
    /// pumped), `max_pending`, `last_error`, `running`.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.sub.state();
        let d = PyDict::new(py);
        let pumped = self.pumped.load(Ordering::Relaxed);
        d.set_item("connected", s.connected)?;
        d.set_item("reconnects", s.reconnects)?;
        d.set_item("server", s.server)?;
        d.set_item("received", s.messages)?;
        d.set_item("messages", pumped)?;
        d.set_item("errors", self.errors.load(Ordering::Relaxed))?;
        d.set_item("dropped", s.dropped)?;
        d.set_item("overflowed", s.overflowed)?;
        d.set_item("pending", s.pending)?;
        d.set_item("max_pending", s.max_pending)?;
        d.set_item("last_error", s.last_error)?;
        d.set_item("running", self.sub.running())?;
        Ok(d)
    }

    /// Ends the subscription and joins its thread (idempotent). Messages not pumped are dropped.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.sub.stop())
    }
}

/// `(gateway, ("trades_lost", (), (symbol, n)))`: `n` trades of the gateway's stream of `symbol` never
/// reached this consumer (a hole in its `gseq`s), told before the trade after them.
fn trades_lost<'py>(py: Python<'py>, subject: &str, symbol: &[u8], n: u64) -> PyResult<Bound<'py, PyTuple>> {
    let value = PyTuple::new(
        py,
        [PyString::new(py, &String::from_utf8_lossy(symbol)).into_any(), n.into_pyobject(py)?.into_any()],
    )?;
    let summary = PyTuple::new(
        py,
        [PyString::new(py, "trades_lost").into_any(), PyTuple::empty(py).into_any(), value.into_any()],
    )?;
    PyTuple::new(py, [PyString::new(py, &last_token(subject)).into_any(), summary.into_any()])
}

/// The pump's first item after a drop: `(None, ("dropped", ((symbol, "dropped"), ...), counts))`,
/// shaped as a summary so the consumer's one path for what needs Python takes it. `counts`:
/// `books` (book messages), `trades`, `bbos`, `other`, `all_books` (too many books to name: all
/// have a hole).
fn dropped<'py>(py: Python<'py>, lost: &Lost) -> PyResult<Bound<'py, PyTuple>> {
    let books = lost
        .books
        .iter()
        .map(|b| PyTuple::new(py, [String::from_utf8_lossy(b).into_owned(), "dropped".to_owned()]))
        .collect::<PyResult<Vec<_>>>()?;
    let counts = PyDict::new(py);
    counts.set_item("books", lost.book_messages)?;
    counts.set_item("trades", lost.trades)?;
    counts.set_item("bbos", lost.bbos)?;
    counts.set_item("other", lost.other)?;
    counts.set_item("all_books", lost.all_books)?;
    let summary = PyTuple::new(
        py,
        [PyString::new(py, "dropped").into_any(), PyTuple::new(py, books)?.into_any(), counts.into_any()],
    )?;
    PyTuple::new(py, [py.None().into_bound(py), summary.into_any()])
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BusSubscriber>()
}
