//! `Dispatcher`: the one route every received frame of a session takes, one Python→Rust call each.
//!
//! It decodes and applies the frame through the session's `BookFeed` (A/B arbitration included when
//! the feed arbitrates), calls `on_book` with each changed book's live view straight from Rust
//! (coalesced per socket read), and records the frame's latency stages. Only a frame that needs
//! Python — sync events (gap, checksum, buffered, crossed), trades and BBOs, pings, control frames
//! — comes back as the feed's summary tuple; every other call returns `None`. On a frame that wakes
//! the event loop every Python call runs with cold caches, which is why nothing else is in Python.

use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use pyo3::PyTraverseError;

use super::book::OrderBook;
use super::clock::monotonic_ns;
use super::errors::guard;
use super::feed::{frame_err, with_bytes, BookFeed};
use super::latency::LatencyRecorder;
use super::lock::ReaderLock;
use super::quote::{QuoteRule, QuoteRules};
use crate::book::Outcome;
use crate::venue::FrameKind;

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
    /// Held around each frame when a thread-backed handle's readers share the books.
    lock: Option<Py<ReaderLock>>,
    /// Quote rules armed on this route's books, fired before `on_book` for the book they watch.
    quotes: Py<QuoteRules>,
    /// Called (no arguments) when held A/B frames' time is up and the feed waits for
    /// `release_held` (`defer_expiry`); once until the next `release_held`.
    on_held_due: Option<Py<PyAny>>,
    due_told: bool,
}

/// Outcomes the dispatcher settles itself; any other needs the session's remedy in Python.
fn settled(o: &Outcome) -> bool {
    matches!(o, Outcome::Applied | Outcome::Stale | Outcome::Duplicate | Outcome::Held)
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
        if self.quotes.bind(py).try_borrow().is_ok_and(|r| !r.rules.is_empty()) {
            self.fire_quotes(py, i)?;
        }
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

    /// The quote rules on book `i`, before anything else sees the change: the order on the wire
    /// first. A rule's callbacks raising is reported like `on_book`'s, the connection kept.
    fn fire_quotes(&mut self, py: Python<'_>, i: u32) -> PyResult<()> {
        let feed = self.feed.bind(py).clone();
        // By index, each one's reference taken in turn (no list copied per frame). A rule's callbacks
        // may arm or disarm rules: the next one offered is the one after this rule where it now
        // stands, or in its place when it was disarmed.
        let (mut k, rules) = (0, self.quotes.bind(py));
        while let Some(q) = rules.try_borrow().ok().and_then(|r| r.rules.get(k).map(|q| q.clone_ref(py))) {
            let q = q.bind(py);
            let on = q.try_borrow_mut().ok().and_then(|mut r| r.book_in(&feed.borrow())) == Some(i);
            if on {
                if let Err(e) = QuoteRule::fire(q, &feed, i) {
                    self.on_error.call1(py, (e.into_value(py),))?;
                }
            }
            let at = rules.try_borrow().ok().and_then(|r| r.rules.iter().position(|x| x.is(q)));
            k = at.map_or(k, |at| at + 1);
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

    /// After the feed took a frame (or released held ones, or a snapshot): stamps the books, calls
    /// back the changed ones, and returns the summary when something in it needs Python. `proves`:
    /// what applied came on a line, so it proves its books' continuity (a snapshot decides that in
    /// `BookFeed.on_snapshot`, which knows whether any line is up).
    fn settle<'py>(
        &mut self,
        py: Python<'py>,
        t0: i64,
        last: bool,
        proves: bool,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let needs_python;
        {
            let mut f = self.feed.bind(py).borrow_mut();
            let s = f.feed.last_summary();
            needs_python =
                s.kind != FrameKind::Book || s.conn_gap || !s.updates.iter().all(|(_, o)| settled(o));
            f.grow(py);
            let BookFeed { feed, recv_ns, .. } = &mut *f;
            for &(i, o) in &feed.last_summary().updates {
                recv_ns[i as usize] = Some(t0);
                if matches!(o, Outcome::Applied) {
                    self.applied.push(i);
                }
            }
            if proves {
                for &i in &self.applied {
                    f.confirm(i as usize);
                }
                if f.n_unconfirmed > 0 {
                    // At the book's own id (an HTX `req` answer, an A/B copy) the connection is
                    // where the book is: nothing missed, as `BookFeed.on_snapshot` takes it.
                    for k in 0..f.feed.last_summary().updates.len() {
                        let (i, o) = f.feed.last_summary().updates[k];
                        if o == Outcome::Duplicate
                            && f.feed.book_at(i as usize).is_some_and(|b| b.is_synced())
                        {
                            f.confirm(i as usize);
                        }
                    }
                }
            }
        }
        let applied = std::mem::take(&mut self.applied);
        for (k, &i) in applied.iter().enumerate() {
            if !self.coalesce {
                // Once per book per call, with the state the call left: several messages of one
                // frame, or held A/B frames applied behind it, are one change to the user.
                if !applied[k + 1..].contains(&i) {
                    self.call_back(py, i)?;
                }
            } else if !self.dirty.contains(&i) {
                self.dirty.push(i);
            }
        }
        self.applied = applied;
        self.applied.clear();
        if last && !self.dirty.is_empty() {
            self.flush_dirty(py)?;
        }
        if needs_python {
            return self.feed.bind(py).borrow_mut().summary(py, None).map(Some);
        }
        Ok(None)
    }

    fn frame<'py>(
        &mut self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        t0: i64,
        last: bool,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let text = payload.is_instance_of::<PyString>();
        guard(|| with_bytes(payload, |b| self.frame_bytes(py, b, text, t0, last)))
    }

    /// The frame route for bytes already in Rust (`on_frame` and `BusSubscriber.pump` both end
    /// here): decode and apply, call back, record the stages; `text`: a text frame.
    pub(crate) fn frame_bytes<'py>(
        &mut self,
        py: Python<'py>,
        b: &[u8],
        text: bool,
        t0: i64,
        last: bool,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        guard(|| {
            let due;
            {
                let mut f = self.feed.bind(py).borrow_mut();
                f.all_down = false; // a line delivers again
                if f.feed.arbitrates() {
                    f.feed.set_now(t0);
                }
                let r = if text { f.feed.on_text(b) } else { f.feed.on_frame(b) }.map(|_| ());
                r.map_err(|e| frame_err(e, &f.feed))?;
                due = self.on_held_due.is_some() && !self.due_told && f.feed.held_due(t0);
            }
            if due {
                self.due_told = true;
                if let Some(cb) = &self.on_held_due {
                    if let Err(e) = cb.call0(py) {
                        // Reported like a callback's, the frame still settled below (its books called
                        // back, a gap in its summary resynced); the monitor's round releases the holds.
                        self.due_told = false;
                        self.on_error.call1(py, (e.into_value(py),))?;
                    }
                }
            }
            let t1 = monotonic_ns();
            let out = self.settle(py, t0, last, true)?;
            if let Some(r) = &self.recorder {
                // Stage mismatch is impossible here (the session makes a 2-stage recorder); a clock
                // going backwards is counted by the recorder, not raised.
                let _ = r.bind(py).borrow_mut().inner.record(&[t0, t1, monotonic_ns()]);
            }
            Ok(out)
        })
    }

    /// Runs `f` with the reader lock held (when there is one).
    pub(crate) fn locked<'py, R>(
        &mut self,
        py: Python<'py>,
        f: impl FnOnce(&mut Self, Python<'py>) -> R,
    ) -> R {
        let lock = self.lock.as_ref().map(|l| l.clone_ref(py));
        if let Some(l) = &lock {
            l.get().take(py);
        }
        let out = f(self, py);
        if let Some(l) = &lock {
            l.get().give();
        }
        out
    }
}

#[pymethods]
impl Dispatcher {
    #[new]
    #[pyo3(signature = (feed, on_book, on_error, recorder=None, coalesce=true))]
    fn new(
        py: Python<'_>,
        feed: Py<BookFeed>,
        on_book: Option<Py<PyAny>>,
        on_error: Py<PyAny>,
        recorder: Option<Py<LatencyRecorder>>,
        coalesce: bool,
    ) -> PyResult<Self> {
        Ok(Dispatcher {
            feed,
            on_book,
            on_error,
            recorder,
            coalesce,
            views: Vec::new(),
            dirty: Vec::new(),
            applied: Vec::new(),
            lock: None,
            quotes: Py::new(py, QuoteRules::default())?,
            on_held_due: None,
            due_told: false,
        })
    }

    /// One received frame, read from the socket at `t0` (monotonic ns); `last`: the last frame of
    /// that read (changed books are called back then). Returns None when the frame was fully
    /// handled here, else the feed's summary `(kind, updates, value)` for the caller's remedies.
    /// A DecodeError / ValueRangeError leaves every book as it was.
    fn on_frame<'py>(
        &mut self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        t0: i64,
        last: i64,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        // An int, not a bool: picows' `last_in_buffer` is 0 or 1.
        let last = last != 0;
        self.locked(py, |d, py| d.frame(py, payload, t0, last))
    }

    /// Applies held A/B frames whose hole was filled or whose hold time ran out by `now_ns`, and
    /// calls back what changed. Returns the summary when it needs Python (a released gap, held
    /// trades that went out: a "trade" summary).
    fn release_held<'py>(&mut self, py: Python<'py>, now_ns: i64) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.locked(py, |d, py| {
            guard(|| {
                d.due_told = false;
                if d.feed.bind(py).borrow().feed.held() == 0 {
                    return Ok(None);
                }
                d.feed.bind(py).borrow_mut().feed.release_held(now_ns);
                d.settle(py, now_ns, true, true)
            })
        })
    }

    /// A REST snapshot applied through the route (`BookFeed.on_snapshot`): the book it leaves
    /// changed is called back as a frame's would be (quote rules, then `on_book`) — a resync from
    /// REST changes the book too. Returns the summary `BookFeed.on_snapshot` does.
    fn on_snapshot<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        self.locked(py, |d, py| {
            guard(|| {
                let out = d.feed.bind(py).borrow_mut().on_snapshot(py, symbol, payload)?;
                // Not confirmed here: a snapshot applied while every line is down proves nothing
                // of what the venue sends before a line is back (before 2026-12-05 this confirmed it,
                // and a book that missed those diffs read synced until the next one showed the gap).
                d.settle(py, monotonic_ns(), true, false)?;
                Ok(out)
            })
        })
    }

    /// Calls back the books still waiting for the end of the socket read.
    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        self.locked(py, |d, py| guard(|| d.flush_dirty(py)))
    }

    /// The lock a thread-backed handle's readers share with the route (None: no readers elsewhere).
    #[getter]
    fn get_reader_lock(&self, py: Python<'_>) -> Option<Py<ReaderLock>> {
        self.lock.as_ref().map(|l| l.clone_ref(py))
    }

    #[setter]
    fn set_reader_lock(&mut self, lock: Option<Py<ReaderLock>>) {
        self.lock = lock;
    }

    /// The quote rules armed on this route (`arm`/`disarm` them there: that works from inside a
    /// callback the route runs, where the route itself is busy). Fetch it once, outside callbacks.
    #[getter]
    fn quotes(&self, py: Python<'_>) -> Py<QuoteRules> {
        self.quotes.clone_ref(py)
    }

    /// Books the last frames changed but not yet called back (coalescing).
    #[getter]
    fn pending(&self) -> usize {
        self.dirty.len()
    }

    /// The callback for changed books (None: none); may be replaced while frames flow.
    #[getter]
    fn get_on_book(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.on_book.as_ref().map(|c| c.clone_ref(py))
    }

    #[setter]
    fn set_on_book(&mut self, cb: Option<Py<PyAny>>) {
        self.on_book = cb;
    }

    /// Held A/B frames whose time is up are released by `release_held` alone, not by the next frame
    /// (`BookFeed` `set_deferred_expiry`): `on_due()` is called when they are due, for the caller
    /// to release them once every connection's socket was read (after a stall of the process, the
    /// first frame read would otherwise release them as gaps before the other connection's frame,
    /// waiting in its socket, filled their hole). `None`: the next frame releases them (as before).
    #[pyo3(signature = (on_due))]
    fn defer_expiry(&mut self, py: Python<'_>, on_due: Option<Py<PyAny>>) {
        self.feed.bind(py).borrow_mut().feed.set_deferred_expiry(on_due.is_some());
        self.on_held_due = on_due;
        self.due_told = false;
    }

    /// Every book the feed has is unconfirmed until a message applied to it proves its continuity
    /// (call when every line went down).
    fn unconfirm_all(&mut self, py: Python<'_>) {
        self.feed.bind(py).borrow_mut().unconfirm_all();
    }

    /// False while `symbol`'s book awaits its first message since `unconfirm_all` (its view's
    /// `is_synced` says the same).
    fn confirmed(&self, py: Python<'_>, symbol: &str) -> bool {
        let f = self.feed.bind(py).borrow();
        f.feed.index_of(symbol.as_bytes()).is_none_or(|i| f.confirmed(i))
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
        visit.call(&self.quotes)?;
        if let Some(c) = &self.on_held_due {
            visit.call(c)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.on_book = None;
        self.on_held_due = None;
        self.recorder = None;
        self.views.clear();
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Dispatcher>()
}
