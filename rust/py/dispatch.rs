//! `Dispatcher`: the session's per-frame fast path in one Python→Rust call.
//!
//! For the common frame — only book updates, every one applied or stale — it decodes and applies
//! (through the session's `BookFeed`), calls the user's `on_book` with each changed book's live view
//! straight from Rust, and records the frame's latency stages, returning `None`. Anything else (sync
//! events, trades, pings, control frames) comes back as the usual summary tuple for the Python side
//! to handle. On a frame that wakes the event loop every Python call runs with cold caches; this cut
//! the session's cost over bare picows by about a third.

use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use pyo3::PyTraverseError;

use super::book::OrderBook;
use super::errors::guard;
use super::feed::{feed_err, with_bytes, BookFeed};
use super::latency::LatencyRecorder;
use crate::book::Outcome;
use crate::venue::FrameKind;

/// `time.monotonic_ns()`'s clock, read without a Python call.
#[cfg(unix)]
fn now_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the struct it is given and CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    // time_t and c_long are i64 on the 64-bit targets wheels are built for; `as` keeps 32-bit
    // builds compiling.
    #[allow(clippy::unnecessary_cast)]
    let (sec, nsec) = (ts.tv_sec as i64, ts.tv_nsec as i64);
    sec * 1_000_000_000 + nsec
}

#[cfg(not(unix))]
fn now_ns() -> i64 {
    // Elsewhere Python's monotonic clock is not reachable from Rust; stages stay internally
    // consistent (differences only), the first stamp is the caller's.
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as i64
}

#[pyclass(module = "tickwire._core", name = "Dispatcher")]
pub struct Dispatcher {
    feed: Py<BookFeed>,
    on_book: Option<Py<PyAny>>,
    on_error: Py<PyAny>,
    recorder: Option<Py<LatencyRecorder>>,
    coalesce: bool,
    views: Vec<Option<Py<OrderBook>>>,
    /// Books changed by frames of the current socket read, called back after its last frame.
    dirty: Vec<u32>,
    applied: Vec<u32>,
}

impl Dispatcher {
    fn view(&mut self, py: Python<'_>, i: u32) -> PyResult<Py<OrderBook>> {
        let i = i as usize;
        if self.views.len() <= i {
            self.views.resize_with(i + 1, || None);
        }
        if let Some(v) = &self.views[i] {
            return Ok(v.clone_ref(py));
        }
        let v = Py::new(py, OrderBook::new(self.feed.clone_ref(py), i))?;
        self.views[i] = Some(v.clone_ref(py));
        Ok(v)
    }

    fn call_back(&mut self, py: Python<'_>, i: u32) -> PyResult<()> {
        let Some(cb) = self.on_book.as_ref().map(|c| c.clone_ref(py)) else {
            return Ok(());
        };
        let view = self.view(py, i)?;
        if let Err(e) = cb.call1(py, (view,)) {
            // A bug in the user's callback must not take the connection down with it.
            self.on_error.call1(py, (e.into_value(py),))?;
        }
        Ok(())
    }

    fn flush_dirty(&mut self, py: Python<'_>) -> PyResult<()> {
        let dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            self.call_back(py, i)?;
        }
        self.dirty = dirty;
        self.dirty.clear();
        Ok(())
    }
}

#[pymethods]
impl Dispatcher {
    #[new]
    #[pyo3(signature = (feed, on_book, on_error, recorder=None, coalesce=true))]
    fn new(
        feed: Py<BookFeed>,
        on_book: Option<Py<PyAny>>,
        on_error: Py<PyAny>,
        recorder: Option<Py<LatencyRecorder>>,
        coalesce: bool,
    ) -> Self {
        Dispatcher {
            feed,
            on_book,
            on_error,
            recorder,
            coalesce,
            views: Vec::new(),
            dirty: Vec::new(),
            applied: Vec::new(),
        }
    }

    /// One received frame, read from the socket at `t0` (monotonic ns); `last`: the last frame of
    /// that read. Returns None when the frame was fully handled here, else the feed's summary
    /// `(kind, updates, value)` for the caller to handle. A DecodeError leaves every book as it was.
    fn on_frame<'py>(
        &mut self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        t0: i64,
        last: i64,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        // An int, not a bool: picows' `last_in_buffer` is 0 or 1.
        let last = last != 0;
        guard(|| {
            self.applied.clear();
            {
                let mut f = self.feed.bind(py).borrow_mut();
                let text = payload.is_instance_of::<PyString>();
                with_bytes(payload, |b| {
                    let r = if text { f.feed.on_text(b) } else { f.feed.on_frame(b) };
                    r.map(|_| ()).map_err(feed_err)
                })?;
                let s = f.feed.last_summary();
                let simple = s.kind == FrameKind::Book
                    && !s.conn_gap
                    && s.updates.iter().all(|(_, o)| matches!(o, Outcome::Applied | Outcome::Stale));
                if !simple {
                    return f.summary(py, Some(t0)).map(Some);
                }
                f.grow(py);
                let BookFeed { feed, recv_ns, .. } = &mut *f;
                for &(i, o) in &feed.last_summary().updates {
                    recv_ns[i as usize] = Some(t0);
                    if matches!(o, Outcome::Applied) {
                        self.applied.push(i);
                    }
                }
            }
            let t1 = now_ns();
            let applied = std::mem::take(&mut self.applied);
            if self.coalesce {
                for &i in &applied {
                    if !self.dirty.contains(&i) {
                        self.dirty.push(i);
                    }
                }
            } else {
                for &i in &applied {
                    self.call_back(py, i)?;
                }
            }
            self.applied = applied;
            if last && !self.dirty.is_empty() {
                self.flush_dirty(py)?;
            }
            if let Some(r) = &self.recorder {
                // Stage mismatch is impossible here (the session makes a 2-stage recorder); a clock
                // going backwards is counted by the recorder, not raised.
                let _ = r.bind(py).borrow_mut().inner.record(&[t0, t1, now_ns()]);
            }
            Ok(None)
        })
    }

    /// Calls back the books still waiting for the end of the socket read (the caller handled the
    /// read's last frame itself).
    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        guard(|| self.flush_dirty(py))
    }

    /// Books the last frames changed but not yet called back (coalescing).
    #[getter]
    fn pending(&self) -> usize {
        self.dirty.len()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.feed)?;
        if let Some(c) = &self.on_book {
            visit.call(c)?;
        }
        visit.call(&self.on_error)?;
        if let Some(r) = &self.recorder {
            visit.call(r)?;
        }
        for v in self.views.iter().flatten() {
            visit.call(v)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.on_book = None;
        self.recorder = None;
        self.views.clear();
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Dispatcher>()
}
