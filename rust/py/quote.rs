//! `QuoteRule`: binding of `crate::order::quote`, fired by the frame route (`Dispatcher`) right after
//! a frame changed its book and before `on_book` runs — decode, apply, price, fill, sign and write in
//! the frame's one Python→Rust call.
//!
//! Python loads it with one write at a time (`load`: the order template's form, where to write, the
//! request id, the rate budget), so a rule never has more than one order in flight and Python picks
//! the connection; what must follow a write (the order tracked, its answer awaited) runs in
//! `on_sent`, what went wrong in `on_error`, both called after the rule's own state is settled.

use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use pyo3::PyTraverseError;

use super::errors::{err, Kind};
use super::feed::BookFeed;
use super::limits::BudgetTaker;
use super::order::OrderTemplate;
use crate::order::quote::{QuoteRule as Rule, Reference, When};

/// One write the rule may make: the form to fill, how to stamp and write it.
struct Loaded {
    form: Py<OrderTemplate>,
    stamp: Py<PyAny>,
    rid: String,
    write: Py<PyAny>,
    head: Option<Py<PyAny>>,
    take: Option<Py<BudgetTaker>>,
}

#[pyclass(module = "tickwire._core", name = "QuoteRule")]
pub struct QuoteRule {
    rule: Rule,
    /// The symbol as the feed keys its book; its index once the feed has it.
    symbol: String,
    pub(crate) book: Option<u32>,
    price_scale: u8,
    on_sent: Option<Py<PyAny>>,
    on_error: Option<Py<PyAny>>,
    loaded: Option<Loaded>,
    /// An update of the rule's book (at `book`) that went by while nothing was loaded (an order in
    /// flight, the rule held): the feed holding it, so the next load can price it as it is now.
    missed: Option<Py<BookFeed>>,
    /// The state (`book_state`) of the rule's book when the rule last priced it.
    priced: Option<u64>,
    sent: u64,
}

/// Changes once per message applied to the book (a snapshot or a diff, replayed ones included).
fn book_state(b: &crate::book::Book) -> u64 {
    let s = b.stats();
    s.snapshots + s.diffs_applied
}

/// What a book update made of a loaded rule.
enum Fired<'py> {
    Nothing,
    Sent(Bound<'py, PyString>, Bound<'py, PyBytes>, u64),
    Failed(PyErr),
}

impl QuoteRule {
    /// The feed's index of the rule's book, once the feed has it.
    pub(crate) fn book_in(&mut self, feed: &BookFeed) -> Option<u32> {
        if self.book.is_none() {
            let f = &feed.feed;
            // As written, or as the venue keys it ("btcusdt" on Binance).
            let i = f
                .index_of(self.symbol.as_bytes())
                .or_else(|| f.index_of(f.venue().spec().symbol_case.key(&self.symbol).as_bytes()));
            self.book = i.map(|i| i as u32);
        }
        self.book
    }

    /// The book at `i` of `feed` changed: an order when the rule is loaded, the book in sync and
    /// the rule gives a price. `on_sent(client_id, data, price)` after a write, `on_error(exc)` when
    /// the order could not be made or written (the rule is unloaded then); nothing when the rate
    /// budget has no room now (the rule stays loaded for the next update).
    pub(crate) fn fire(this: &Bound<'_, Self>, feed: &Bound<'_, BookFeed>, i: u32) -> PyResult<()> {
        let py = this.py();
        // Not borrowed while `on_sent`/`on_error` run: they may unload or load it again.
        let fired = match this.try_borrow_mut() {
            Ok(mut me) => me.fire_now(py, feed, i),
            Err(_) => return Ok(()), // re-entered from its own write: nothing to do
        };
        // Only a write or a failure calls back: most updates give no order and fetch nothing.
        let callback =
            |pick: fn(&Self) -> &Option<Py<PyAny>>| pick(&this.borrow()).as_ref().map(|c| c.clone_ref(py));
        match fired {
            Fired::Nothing => Ok(()),
            Fired::Sent(cid, data, price) => {
                callback(|me| &me.on_sent).map_or(Ok(()), |cb| cb.call1(py, (cid, data, price)).map(|_| ()))
            }
            Fired::Failed(e) => {
                let e = e.into_value(py);
                callback(|me| &me.on_error).map_or(Ok(()), |cb| cb.call1(py, (e,)).map(|_| ()))
            }
        }
    }

    fn fire_now<'py>(&mut self, py: Python<'py>, feed: &Bound<'py, BookFeed>, i: u32) -> Fired<'py> {
        // Never borrowed while Python runs (the route releases the feed before any callback): a
        // failure here would be a bug, and sends nothing rather than panic.
        let Ok(f) = feed.try_borrow() else { return Fired::Nothing };
        let Some(b) = f.feed.book_at(i as usize) else { return Fired::Nothing };
        let state = book_state(b);
        let Some(l) = &self.loaded else {
            // A load's catch-up made from a callback of the same read may have priced this very
            // update already (the route offers it afterwards): not missed then.
            if self.missed.is_none() && self.priced != Some(state) {
                self.missed = Some(feed.clone().unbind());
            }
            return Fired::Nothing;
        };
        self.missed = None;
        if !b.is_synced() {
            return Fired::Nothing;
        }
        self.priced = Some(state);
        let best = b.best_price_at(self.rule.reference == Reference::Ask, Some(self.price_scale));
        drop(f);
        let best = match best {
            Ok(b) => b,
            Err(_) => {
                self.loaded = None;
                return Fired::Failed(err(
                    Kind::InvalidOrder,
                    format!(
                        "{}: the book's best price has more decimals than the order's {}; quote rule stopped",
                        self.symbol, self.price_scale
                    ),
                ));
            }
        };
        let Some(price) = self.rule.price(best) else { return Fired::Nothing };
        let form = l.form.bind(py);
        let Ok(mut t) = form.try_borrow_mut() else { return Fired::Nothing };
        let take = l.take.as_ref().map(|t| t.bind(py));
        let head = l.head.as_ref().map(|h| h.bind(py));
        match t.fire_with(py, price, self.rule.qty, l.stamp.bind(py), &l.rid, l.write.bind(py), head, take) {
            Ok(Some((cid, data))) => {
                self.loaded = None;
                self.rule.sent(price);
                self.sent += 1;
                Fired::Sent(cid, data, price)
            }
            Ok(None) => Fired::Nothing,
            Err(e) => {
                self.loaded = None;
                Fired::Failed(e)
            }
        }
    }
}

#[pymethods]
impl QuoteRule {
    /// `symbol`'s book (as the feed keys it), `reference` `"bid"` or `"ask"`, `offset` added to its
    /// best price (a mantissa at `price_scale`), `qty` a mantissa at the order's quantity scale,
    /// `when` `"change"` (only a price other than the last order's) or `"every"` (every update).
    #[new]
    #[pyo3(signature = (symbol, *, reference, offset, qty, when, price_scale, on_sent, on_error))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        symbol: String,
        reference: &str,
        offset: i64,
        qty: u64,
        when: &str,
        price_scale: u8,
        on_sent: Py<PyAny>,
        on_error: Py<PyAny>,
    ) -> PyResult<Self> {
        let bad = pyo3::exceptions::PyValueError::new_err;
        let reference = match reference {
            "bid" => Reference::Bid,
            "ask" => Reference::Ask,
            _ => return Err(bad("reference is 'bid' or 'ask'")),
        };
        let when = match when {
            "change" => When::Change,
            "every" => When::Every,
            _ => return Err(bad("when is 'change' or 'every'")),
        };
        if price_scale > crate::book::num::MAX_DECIMALS {
            return Err(bad("price_scale must be <= 18"));
        }
        Ok(QuoteRule {
            rule: Rule::new(reference, offset, qty, when),
            symbol,
            book: None,
            price_scale,
            on_sent: Some(on_sent),
            on_error: Some(on_error),
            loaded: None,
            missed: None,
            priced: None,
            sent: 0,
        })
    }

    /// Allows one write: the next update the rule prices fills `form` with the price and the rule's
    /// quantity, stamped by `stamp` (as `OrderTemplate.fire`'s `timestamp_ms`), the budget taken
    /// (`take`), and writes it (`write(data)`, or `write(head, data)`), then unloads.
    #[pyo3(signature = (form, stamp, request_id, write, head = None, take = None))]
    fn load(
        &mut self,
        form: Py<OrderTemplate>,
        stamp: Py<PyAny>,
        request_id: String,
        write: Py<PyAny>,
        head: Option<Py<PyAny>>,
        take: Option<Py<BudgetTaker>>,
    ) {
        self.loaded = Some(Loaded { form, stamp, rid: request_id, write, head, take });
    }

    /// With a write loaded and an update of the rule's book gone by while none was: prices the book
    /// as it is now, as that update would have been (and calls back the same way); True when an
    /// order was written. Nothing otherwise (the missed update is kept until a write is loaded).
    fn catch_up(slf: &Bound<'_, Self>) -> PyResult<bool> {
        let py = slf.py();
        let missed = match slf.try_borrow_mut() {
            Ok(mut me) if me.loaded.is_some() => me.missed.take().zip(me.book),
            _ => None,
        };
        let Some((feed, i)) = missed else { return Ok(false) };
        let before = slf.borrow().sent;
        QuoteRule::fire(slf, feed.bind(py), i)?;
        Ok(slf.borrow().sent > before)
    }

    /// True when an update of the rule's book went by while nothing was loaded (see `catch_up`).
    #[getter]
    fn missed(&self) -> bool {
        self.missed.is_some()
    }

    /// Takes the write back; True when one was loaded (nothing was written with it).
    fn unload(&mut self) -> bool {
        self.loaded.take().is_some()
    }

    #[getter]
    fn loaded(&self) -> bool {
        self.loaded.is_some()
    }

    /// Orders written.
    #[getter]
    fn sent(&self) -> u64 {
        self.sent
    }

    /// The last order's price mantissa (None before any).
    #[getter]
    fn last_price(&self) -> Option<u64> {
        self.rule.last()
    }

    #[getter]
    fn symbol(&self) -> &str {
        &self.symbol
    }

    fn __repr__(&self) -> String {
        format!(
            "QuoteRule({:?}, {:?} {:+}, qty={}, {:?}, loaded={}, sent={})",
            self.symbol,
            self.rule.reference,
            self.rule.offset,
            self.rule.qty,
            self.rule.when,
            self.loaded.is_some(),
            self.sent
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for c in [&self.on_sent, &self.on_error].into_iter().flatten() {
            visit.call(c)?;
        }
        if let Some(feed) = &self.missed {
            visit.call(feed)?;
        }
        if let Some(l) = &self.loaded {
            visit.call(&l.form)?;
            visit.call(&l.stamp)?;
            visit.call(&l.write)?;
            if let Some(h) = &l.head {
                visit.call(h)?;
            }
            if let Some(t) = &l.take {
                visit.call(t)?;
            }
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.loaded = None;
        self.missed = None;
        self.on_sent = None;
        self.on_error = None;
    }
}

/// The quote rules armed on one frame route. Its own object, not the route's: a rule may be armed or
/// disarmed from a callback the route is running (`on_book`, a rule's own `on_sent`/`on_error`),
/// while the route itself is borrowed.
#[pyclass(module = "tickwire._core", name = "QuoteRules")]
#[derive(Default)]
pub struct QuoteRules {
    pub(crate) rules: Vec<Py<QuoteRule>>,
}

#[pymethods]
impl QuoteRules {
    /// Arms `rule`: every change of its book is offered to it, before `on_book`.
    fn arm(&mut self, py: Python<'_>, rule: Py<QuoteRule>) {
        if !self.rules.iter().any(|q| q.is(&rule)) {
            self.rules.push(rule.clone_ref(py));
        }
    }

    /// Takes `rule` off (what it missed forgotten: it is offered no book now); True when it was armed.
    fn disarm(&mut self, rule: &Bound<'_, QuoteRule>) -> bool {
        if let Ok(mut r) = rule.try_borrow_mut() {
            r.missed = None;
        }
        let n = self.rules.len();
        self.rules.retain(|q| !q.is(rule));
        self.rules.len() < n
    }

    fn __len__(&self) -> usize {
        self.rules.len()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for q in &self.rules {
            visit.call(q)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.rules.clear();
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<QuoteRule>()?;
    m.add_class::<QuoteRules>()
}
