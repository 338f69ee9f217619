//! The summary tuple `BookFeed` hands Python for each frame, from per-book caches: the common frame
//! (one book updated) returns a tuple built once and kept, not a new one.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use super::BookFeed;
use crate::book::Outcome;
use crate::py::book::{top_tuple, touch, Touch};
use crate::py::events::{Bbo, Trade};
use crate::py::names::{kind_py, outcome_index, outcome_py, OUTCOMES};
use crate::venue::Feed;
use crate::venue::FrameKind;

impl BookFeed {
    /// `(kind, ((symbol, outcome), ...), ping_value | None)` for the last frame.
    pub(crate) fn summary<'py>(
        &mut self,
        py: Python<'py>,
        recv_ns: Option<i64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        self.grow(py);
        if self.touch && self.feed.last_summary().kind == FrameKind::Book {
            return self.touch_summary(py, recv_ns);
        }
        let s = self.feed.last_summary();
        // The common frame — one book updated — returns its cached summary without building
        // anything (the per-frame allocation of the general path below was ~2% of a frame).
        if let ([(i, o)], FrameKind::Book) = (s.updates.as_slice(), s.kind) {
            let i = *i as usize;
            if let Some(t) = &self.singles[i][outcome_index(o)] {
                if recv_ns.is_some() {
                    self.recv_ns[i] = recv_ns;
                }
                return Ok(t.bind(py).clone());
            }
        }
        let mut items = Vec::with_capacity(s.updates.len());
        for &(i, o) in &s.updates {
            let i = i as usize;
            if recv_ns.is_some() {
                self.recv_ns[i] = recv_ns;
            }
            items.push(pair(py, &mut self.pairs, &self.names, i, o)?);
        }
        if let ([(i, o)], FrameKind::Book) = (s.updates.as_slice(), s.kind) {
            // First time for this book and outcome (cached ones returned above): build and keep.
            let slot = &mut self.singles[*i as usize][outcome_index(o)];
            let k = kind_py(py, s.kind).clone().into_any();
            let t = PyTuple::new(py, [k, PyTuple::new(py, items)?.into_any(), py.None().into_bound(py)])?;
            *slot = Some(t.clone().unbind());
            return Ok(t);
        }
        let value = match s.kind {
            FrameKind::Ping(v) => v.into_bound_py_any(py)?,
            FrameKind::Trade => {
                let mut trades = Vec::with_capacity(self.feed.last_trades().len());
                for (sym, t) in self.feed.last_trades() {
                    let sym = sym_str(py, &self.feed, &self.names, &mut self.quote_sym, sym);
                    trades.push(Trade::new(sym, t.px, t.qty, t.buyer_maker, t.id).into_bound_py_any(py)?);
                }
                PyTuple::new(py, trades)?.into_any()
            }
            FrameKind::Bbo if !self.feed.last_quote().0.is_empty() => {
                let (sym, q) = self.feed.last_quote();
                let sym = sym_str(py, &self.feed, &self.names, &mut self.quote_sym, sym);
                Bbo::new(sym, [q.bid_px, q.bid_qty, q.ask_px, q.ask_qty]).into_bound_py_any(py)?
            }
            _ => py.None().into_bound(py),
        };
        let k = kind_py(py, s.kind).clone().into_any();
        PyTuple::new(py, [k, PyTuple::new(py, items)?.into_any(), value])
    }

    /// Book `i`'s `top()` as Python sees it, sharing the views' cache of the last one.
    fn top_obj<'py>(&mut self, py: Python<'py>, i: usize, t: Option<Touch>) -> PyResult<Bound<'py, PyAny>> {
        let Some(t) = t else { return Ok(py.None().into_bound(py)) };
        if let Some(Some((last, tuple))) = self.tops.get(i) {
            if *last == t {
                return Ok(tuple.bind(py).clone().into_any());
            }
        }
        let tuple = top_tuple(py, t)?;
        self.tops[i] = Some((t, tuple.clone().unbind()));
        Ok(tuple.into_any())
    }

    /// `touch=True`, a book frame: `("book", ((symbol, outcome), ...), (top, ...))`, one touch per
    /// updated book as its `top()` would read it now. A frame updating one book whose touch and
    /// outcome are those of its last such frame returns the same tuple again.
    fn touch_summary<'py>(&mut self, py: Python<'py>, recv_ns: Option<i64>) -> PyResult<Bound<'py, PyTuple>> {
        let single = match self.feed.last_summary().updates.as_slice() {
            [(i, o)] => Some((*i as usize, *o)),
            _ => None,
        };
        let kind = kind_py(py, FrameKind::Book).clone().into_any();
        if let Some((i, o)) = single {
            if recv_ns.is_some() {
                self.recv_ns[i] = recv_ns;
            }
            let t = self.feed.book_at(i).and_then(touch);
            let oi = outcome_index(&o);
            if let Some((last, tuple)) = &self.touch_singles[i][oi] {
                if *last == t {
                    return Ok(tuple.bind(py).clone());
                }
            }
            let ones = match &self.touch_ones[i][oi] {
                Some(t) => t.clone_ref(py),
                None => {
                    let pair = pair(py, &mut self.pairs, &self.names, i, o)?.into_bound(py).into_any();
                    let t = PyTuple::new(py, [pair])?.unbind();
                    self.touch_ones[i][oi] = Some(t.clone_ref(py));
                    t
                }
            };
            let top = self.top_obj(py, i, t)?;
            let tuple = PyTuple::new(
                py,
                [kind, ones.into_bound(py).into_any(), PyTuple::new(py, [top])?.into_any()],
            )?;
            self.touch_singles[i][oi] = Some((t, tuple.clone().unbind()));
            return Ok(tuple);
        }
        // Several books in one frame (a Coinbase frame may carry events of several products).
        let updates: Vec<(usize, Outcome)> =
            self.feed.last_summary().updates.iter().map(|&(i, o)| (i as usize, o)).collect();
        let mut items = Vec::with_capacity(updates.len());
        let mut tops = Vec::with_capacity(updates.len());
        for (i, o) in updates {
            if recv_ns.is_some() {
                self.recv_ns[i] = recv_ns;
            }
            items.push(pair(py, &mut self.pairs, &self.names, i, o)?.into_bound(py).into_any());
            let t = self.feed.book_at(i).and_then(touch);
            tops.push(self.top_obj(py, i, t)?);
        }
        PyTuple::new(py, [kind, PyTuple::new(py, items)?.into_any(), PyTuple::new(py, tops)?.into_any()])
    }

    /// Per-book slots for books the last frame created.
    pub(crate) fn grow(&mut self, py: Python<'_>) {
        for i in self.names.len()..self.feed.len() {
            let sym = String::from_utf8_lossy(self.feed.symbol_at(i).unwrap_or_default()).into_owned();
            self.names.push(PyString::new(py, &sym).unbind());
            self.recv_ns.push(None);
            self.pairs.push(Default::default());
            self.singles.push(Default::default());
            self.touch_singles.push(Default::default());
            self.touch_ones.push(Default::default());
            self.tops.push(None);
        }
    }
}

/// The `(symbol, outcome)` pair of book `i`, made once.
fn pair(
    py: Python<'_>,
    pairs: &mut [[Option<Py<PyTuple>>; OUTCOMES]],
    names: &[Py<PyString>],
    i: usize,
    o: Outcome,
) -> PyResult<Py<PyTuple>> {
    let slot = &mut pairs[i][outcome_index(&o)];
    Ok(match slot {
        Some(t) => t.clone_ref(py),
        None => {
            let name = names[i].bind(py).clone().into_any();
            let t = PyTuple::new(py, [name, outcome_py(py, &o).clone().into_any()])?.unbind();
            slot.insert(t).clone_ref(py)
        }
    })
}

/// The str of the symbol's book when it has one, else of the last event's symbol when it is the
/// same: not a new str per trade or ticker.
fn sym_str(
    py: Python<'_>,
    feed: &Feed,
    names: &[Py<PyString>],
    last: &mut Option<(Box<[u8]>, Py<PyString>)>,
    sym: &[u8],
) -> Py<PyString> {
    if let Some(s) = feed.index_of(sym).and_then(|i| names.get(i)) {
        return s.clone_ref(py);
    }
    match last {
        Some((b, s)) if b[..] == *sym => s.clone_ref(py),
        _ => {
            let s = PyString::new(py, &String::from_utf8_lossy(sym)).unbind();
            *last = Some((sym.into(), s.clone_ref(py)));
            s
        }
    }
}
