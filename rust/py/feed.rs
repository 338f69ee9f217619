//! `BookFeed` / `OrderBook`: one Rust call per received frame; books stay in Rust.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use super::book::{LastTop, OrderBook, Touch};
use super::clock::monotonic_ns;
use super::errors::guard;
use super::names::OUTCOMES;
use crate::book::{Need, Outcome};
use crate::venue::{Compression, Feed, FeedOptions, Venue};

mod input;
mod summary;

pub(crate) use input::{feed_err, frame_err, with_bytes};

/// A one-update book summary under `touch=True` and the touch it holds (None: a side empty).
type TouchSummary = (Option<Touch>, Py<PyTuple>);

/// Decodes one venue connection's frames into L2 books kept in Rust.
#[pyclass(module = "tickwire._core", name = "BookFeed")]
pub struct BookFeed {
    pub(crate) feed: Feed,
    /// Python str per book, created once so summaries only bump refcounts.
    names: Vec<Py<PyString>>,
    pub(crate) recv_ns: Vec<Option<i64>>,
    /// Per book and outcome: the `(symbol, outcome)` pair and the whole one-update book summary.
    /// Tuples are immutable, so returning the same ones again is safe; it spares the allocations
    /// (and the garbage collections they trigger) on the hot path.
    pairs: Vec<[Option<Py<PyTuple>>; OUTCOMES]>,
    singles: Vec<[Option<Py<PyTuple>>; OUTCOMES]>,
    /// `touch=True`: book frames carry each updated book's touch in the summary (one call per
    /// frame where `on_frame` + `book(s).top()` were two). Per book and outcome, the last such
    /// one-update summary and the touch it holds.
    pub(crate) touch: bool,
    touch_singles: Vec<[Option<TouchSummary>; OUTCOMES]>,
    /// Per book and outcome, `((symbol, outcome),)`: what a one-update touch summary lists.
    touch_ones: Vec<[Option<Py<PyTuple>>; OUTCOMES]>,
    /// What a gateway publishing this feed's books on the bus remembers (`take_delta`).
    bus: super::bus::Publisher,
    /// The symbol of the last trade or BBO and its Python str.
    quote_sym: Option<(Box<[u8]>, Py<PyString>)>,
    /// Per book, the last `OrderBook.top()` (kept here, where its borrow of the feed can change it).
    pub(crate) tops: Vec<LastTop>,
    /// Books whose continuity is unproven since every line of their session went down (a venue
    /// sequence shows a loss only when the next message arrives): set by `unconfirm_all`, cleared
    /// per book by the first message applied to it or a snapshot that syncs it. Here, not in the
    /// session's route, so every view's `is_synced` says it.
    unconfirmed: Vec<bool>,
    pub(crate) n_unconfirmed: usize,
    /// Every line is down (`unconfirm_all`) and no frame has come through the route since: a
    /// snapshot applied meanwhile cannot prove a book current — the stream it continues is not
    /// there yet.
    pub(crate) all_down: bool,
}

impl BookFeed {
    /// Every book unconfirmed until a message applied to it, or a snapshot that syncs it, proves
    /// its continuity (every line of the session went down).
    pub(crate) fn unconfirm_all(&mut self) {
        let n = self.feed.len();
        self.unconfirmed.clear();
        self.unconfirmed.resize(n, true);
        self.n_unconfirmed = n;
        self.all_down = true;
        // No connection listens now: what trades are made until one does, none will bring.
        self.feed.resume_trades(None);
    }

    /// Book `i`'s continuity proven.
    #[inline]
    pub(crate) fn confirm(&mut self, i: usize) {
        if self.n_unconfirmed > 0 && self.unconfirmed.get(i) == Some(&true) {
            self.unconfirmed[i] = false;
            self.n_unconfirmed -= 1;
        }
    }

    /// False while book `i` awaits its proof since `unconfirm_all`.
    #[inline]
    pub(crate) fn confirmed(&self, i: usize) -> bool {
        self.n_unconfirmed == 0 || self.unconfirmed.get(i) != Some(&true)
    }

    fn needs_list(&self) -> Vec<(String, &'static str)> {
        self.feed
            .needs()
            .map(|(i, n)| {
                let sym = String::from_utf8_lossy(self.feed.symbol_at(i).unwrap_or_default()).into_owned();
                (sym, if n == Need::Snapshot { "snapshot" } else { "resubscribe" })
            })
            .collect()
    }

    fn index(&self, symbol: &str) -> PyResult<usize> {
        self.feed
            .index_of(symbol.as_bytes())
            .or_else(|| {
                // A user may write the symbol in another case than the venue keys it ("btcusdt" on
                // Binance).
                self.feed.index_of(self.feed.venue().spec().symbol_case.key(symbol).as_bytes())
            })
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(symbol.to_owned()))
    }
}

#[pymethods]
impl BookFeed {
    #[new]
    #[pyo3(signature = (venue, *, price_decimals=None, qty_decimals=None, max_depth=None,
        checksum_price_decimals=None, checksum_qty_decimals=None, check_crossed=None, verify_checksum=None,
        compression="auto", server_max_window_bits=None, server_no_context_takeover=false, touch=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        venue: &str,
        #[pyo3(from_py_with = super::args::opt_decimals)] price_decimals: Option<u8>,
        #[pyo3(from_py_with = super::args::opt_decimals)] qty_decimals: Option<u8>,
        #[pyo3(from_py_with = super::args::opt_count)] max_depth: Option<usize>,
        #[pyo3(from_py_with = super::args::opt_decimals)] checksum_price_decimals: Option<u8>,
        #[pyo3(from_py_with = super::args::opt_decimals)] checksum_qty_decimals: Option<u8>,
        check_crossed: Option<bool>,
        verify_checksum: Option<bool>,
        compression: &str,
        server_max_window_bits: Option<u8>,
        server_no_context_takeover: bool,
        touch: bool,
    ) -> PyResult<Self> {
        guard(|| {
            let v = Venue::from_name(venue).map_err(super::venue_spec::unknown)?;
            let compression =
                compression_option(compression, server_max_window_bits, server_no_context_takeover)?;
            let opts = FeedOptions {
                price_decimals,
                qty_decimals,
                max_depth,
                checksum_price_decimals,
                checksum_qty_decimals,
                check_crossed,
                verify_checksum,
                round_qty_decimals: None,
                compression,
            };
            Ok(BookFeed {
                feed: Feed::new(v, &opts),
                names: Vec::new(),
                recv_ns: Vec::new(),
                pairs: Vec::new(),
                singles: Vec::new(),
                touch,
                touch_singles: Vec::new(),
                touch_ones: Vec::new(),
                bus: Default::default(),
                quote_sym: None,
                tops: Vec::new(),
                unconfirmed: Vec::new(),
                n_unconfirmed: 0,
                all_down: false,
            })
        })
    }

    /// Decodes one received frame and applies its book messages. Returns
    /// `(kind, ((symbol, outcome), ...), ping_value)`; raises DecodeError / ValueRangeError (nothing
    /// applied) for a frame that cannot be decoded. `compressed`: the message's RSV1 bit, for
    /// `compression="permessage-deflate"` (None: bytes are compressed, str is not).
    #[pyo3(signature = (payload, recv_ns=None, compressed=None))]
    fn on_frame<'py>(
        &mut self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        recv_ns: Option<i64>,
        compressed: Option<bool>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            // A str is a text frame: never decompressed, whatever `compression` says.
            let text = payload.is_instance_of::<PyString>();
            let pmd = matches!(self.feed.compression(), Compression::PerMessageDeflate { .. });
            if compressed == Some(true) && !pmd {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "compressed=True needs compression='permessage-deflate'",
                ));
            }
            if self.feed.arbitrates() {
                self.feed.set_now(recv_ns.unwrap_or_else(monotonic_ns));
            }
            with_bytes(payload, |b| {
                let r = match compressed {
                    Some(c) => self.feed.on_message(b, c, text),
                    None if text => self.feed.on_text(b),
                    None => self.feed.on_frame(b),
                };
                let r = r.map(|_| ());
                r.map_err(|e| frame_err(e, &self.feed))
            })?;
            self.summary(py, recv_ns)
        })
    }

    /// Applies a snapshot fetched out of band (Binance REST depth, HTX REQ reply) to `symbol`.
    pub(crate) fn on_snapshot<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            with_bytes(payload, |b| {
                self.feed.on_snapshot(symbol.as_bytes(), b).map(|_| ()).map_err(feed_err)
            })?;
            if let Some(i) = self.feed.index_of(symbol.as_bytes()).filter(|_| !self.all_down) {
                // Applied, or at the book's own id (nothing missed): a stale one, older than the
                // book, proves nothing about what happened since.
                let proves = self
                    .feed
                    .last_summary()
                    .updates
                    .iter()
                    .any(|&(k, o)| k as usize == i && matches!(o, Outcome::Applied | Outcome::Duplicate));
                if proves && self.feed.book_at(i).is_some_and(|b| b.is_synced()) {
                    self.confirm(i);
                }
            }
            self.summary(py, None)
        })
    }

    /// Call after a reconnect: every book empties and waits for a fresh snapshot, and the
    /// permessage-deflate context (window, refusal after a corrupt message) starts over.
    fn reset(&mut self) -> PyResult<()> {
        guard(|| {
            self.feed.reset();
            Ok(())
        })
    }

    /// `symbol`'s subscription ended: its book is emptied (not synced, its memory given back) and
    /// the messages of it still on the way are dropped until `revive`. False for a symbol the feed
    /// has not seen.
    fn forget(&mut self, symbol: &str) -> bool {
        let i = self.feed.index_of(symbol.as_bytes());
        if let Some(i) = i {
            self.confirm(i);
        }
        self.feed.forget(symbol.as_bytes())
    }

    /// Marks `symbol`'s synced book out of sync ("gap"): a frame it refused held an update it now
    /// lacks, which a venue whose ids only grow (Bybit) or that has none would never show. Its levels
    /// stay; the resync brings it back. False when it was not synced (or is unknown).
    fn invalidate(&mut self, symbol: &str) -> bool {
        let i = self.feed.index_of(symbol.as_bytes());
        match i.and_then(|i| self.feed.book_at_mut(i)) {
            Some(b) if b.is_synced() => {
                b.invalidate(crate::book::sync::OosReason::Gap);
                true
            }
            _ => false,
        }
    }

    /// `symbol` subscribed again: its messages build its book anew.
    fn revive(&mut self, symbol: &str) {
        self.feed.revive(symbol.as_bytes());
    }

    /// A live view of one symbol's book (KeyError if the feed has not seen it).
    fn book(slf: Bound<'_, Self>, symbol: &str) -> PyResult<OrderBook> {
        guard(|| {
            let index = slf.borrow().index(symbol)?;
            Ok(OrderBook::new(slf.unbind(), index))
        })
    }

    /// Symbols seen so far, in order of first appearance.
    fn symbols(&self) -> Vec<String> {
        (0..self.feed.len())
            .map(|i| String::from_utf8_lossy(self.feed.symbol_at(i).unwrap_or_default()).into_owned())
            .collect()
    }

    /// What the caller must do to sync each book that is not synced: `(symbol, "snapshot")` — fetch
    /// the REST/REQ snapshot and pass it to `on_snapshot` — or `(symbol, "resubscribe")`. Reported
    /// for as long as the book stays out of sync; empty when every book is synced.
    fn needs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items: Vec<_> = guard(|| Ok(self.needs_list()))?;
        PyTuple::new(py, items)
    }

    /// Checksum decimals for one instrument (Kraken v2: the pair's price and lot decimals), for a
    /// book that exists or one still to come.
    #[pyo3(signature = (symbol, price_decimals=None, qty_decimals=None))]
    fn set_checksum_decimals(
        &mut self,
        symbol: &str,
        #[pyo3(from_py_with = super::args::opt_decimals)] price_decimals: Option<u8>,
        #[pyo3(from_py_with = super::args::opt_decimals)] qty_decimals: Option<u8>,
    ) -> PyResult<()> {
        guard(|| {
            self.feed.set_checksum_decimals(symbol.as_bytes(), price_decimals, qty_decimals);
            Ok(())
        })
    }

    /// Arbitrates redundant lines that all feed this feed (A/B): each book frame is placed by the
    /// sequence numbers the decoder read before anything is applied — "duplicate" when the book
    /// already has it, "held" when it is ahead of the book, applied by a later call as soon as
    /// another line fills the hole, or after `hold_s` (the book then reports the gap). `None` stops
    /// arbitrating (one connection again), refused while frames or trades are held: `release_held`
    /// them first, so none is dropped unread.
    #[pyo3(signature = (hold_s=Some(0.05), max_held=1024), text_signature = "(self, /, hold_s=0.05, max_held=1024)")]
    fn arbitrate(
        &mut self,
        hold_s: Option<f64>,
        #[pyo3(from_py_with = super::args::count)] max_held: usize,
    ) -> PyResult<()> {
        let Some(hold_s) = hold_s else {
            if self.feed.held() > 0 {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "{}: release_held() them before arbitrate(None)",
                    held_what(&self.feed)
                )));
            }
            self.feed.set_arbitration(None, max_held);
            return Ok(());
        };
        if !(hold_s.is_finite() && (0.0..=60.0).contains(&hold_s)) {
            return Err(pyo3::exceptions::PyValueError::new_err("hold_s must be within 0..=60 seconds"));
        }
        self.feed.set_arbitration(Some((hold_s * 1e9) as i64), max_held);
        Ok(())
    }

    /// Drops trade copies by their venue id (whichever connection brought one first) without
    /// arbitrating books: one line's two connections overlap while it is renewed. On from the line's
    /// first connection, its successor's first trades are placed against the old one's (in id order
    /// while arbitrating, where the venue's ids are consecutive).
    #[pyo3(signature = (on=true))]
    fn dedupe_trades(&mut self, on: bool) {
        self.feed.set_trade_dedupe(on);
    }

    /// Applies held frames whose hole was filled or whose hold time ran out by `now_ns`
    /// (monotonic; default now). Returns the summary of what they did: a "trade" one when held
    /// trades whose time ran out went out too (its value their `Trade`s, each symbol's in id order).
    #[pyo3(signature = (now_ns=None))]
    fn release_held<'py>(&mut self, py: Python<'py>, now_ns: Option<i64>) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            self.feed.release_held(now_ns.unwrap_or_else(monotonic_ns));
            self.summary(py, None)
        })
    }

    /// `symbol`'s trades unsubscribed: those made until they are subscribed again no connection
    /// brings, so the first one then waits for none (what is known of its ids stays: the line behind
    /// may still bring copies of trades delivered).
    fn resume_trades(&mut self, symbol: &str) {
        self.feed.resume_trades(Some(symbol.as_bytes()));
    }

    /// Drops what arbitration holds for `symbol` (about to be resynced), or for every book.
    #[pyo3(signature = (symbol=None))]
    fn clear_held(&mut self, symbol: Option<&str>) {
        self.feed.clear_held(symbol.map(str::as_bytes));
    }

    /// A/B arbitration counters, or None when the feed does not arbitrate.
    fn arbiter_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some((s, held)) = self.feed.arbiter_stats() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("duplicates", s.duplicates)?;
        d.set_item("filled_from_other_line", s.filled_from_other_line)?;
        d.set_item("released_as_gap", s.released_as_gap)?;
        d.set_item("held", held)?;
        d.set_item("passed", s.passed)?;
        d.set_item("duplicate_trades", self.feed.duplicate_trades())?;
        let (held_trades, trades_released_as_gap) = self.feed.held_trades();
        d.set_item("held_trades", held_trades)?;
        d.set_item("trades_released_as_gap", trades_released_as_gap)?;
        Ok(Some(d))
    }

    /// A gateway publishing this feed's books on the bus: every book, present and future, keeps a
    /// change journal (on), so `take_delta` sends only the levels that changed.
    fn journal(&mut self, on: bool) {
        self.feed.set_journal(on);
    }

    /// The bus message for `symbol`'s book since the last one taken: its changed levels, the whole
    /// book (first, and after a resync), or once "out of sync" when it lost sync; None when there is
    /// nothing to send. `stamp_ns`: the gateway's receive time (wall clock ns) to carry. KeyError
    /// for a symbol the feed has no book for; BookError without `journal(True)`.
    fn take_delta<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        stamp_ns: i64,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        guard(|| {
            let i = self.index(symbol)?;
            self.bus.take_delta(py, &mut self.feed, i, stamp_ns)
        })
    }

    /// `symbol`'s whole book as a bus snapshot, consuming nothing, for a consumer that joins late or
    /// saw a gap (it passes it to `BookFeed("bus").on_snapshot`); the next `take_delta` continues
    /// it. BookError when the book is not synced.
    fn bus_snapshot<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        stamp_ns: i64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| {
            let i = self.index(symbol)?;
            self.bus.snapshot(py, &self.feed, i, stamp_ns)
        })
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

    /// The venue's canonical name (one of `venue_names()`), as sessions and `BookFeed(...)` name it.
    #[getter]
    fn venue(&self) -> &'static str {
        self.feed.venue().spec().name
    }

    fn __len__(&self) -> usize {
        self.feed.len()
    }

    fn __repr__(&self) -> String {
        format!("BookFeed(venue={:?}, books={})", self.feed.venue().spec().name, self.feed.len())
    }
}

/// What `arbitrate(None)` would drop unread, named as it is: book frames ahead of their book and
/// trades waiting for the ids before them are released alike, but a user told "frames" while only
/// trades wait looks for frames that are not there.
fn held_what(feed: &Feed) -> String {
    let trades = feed.held_trades().0;
    let frames = feed.held() - trades;
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    let what = match (frames, trades) {
        (0, t) => n(t, "trade", "trades"),
        (f, 0) => n(f, "book frame", "book frames"),
        (f, t) => format!("{} and {}", n(f, "book frame", "book frames"), n(t, "trade", "trades")),
    };
    format!("{what} {} held", if frames + trades == 1 { "is" } else { "are" })
}

/// `compression=` and the permessage-deflate parameters the server agreed to (RFC 7692 §7.1).
fn compression_option(
    name: &str,
    window_bits: Option<u8>,
    no_context_takeover: bool,
) -> PyResult<Compression> {
    let bad = pyo3::exceptions::PyValueError::new_err;
    let c = match name {
        "auto" => Compression::Auto,
        "deflate" => Compression::Deflate,
        "none" => Compression::None,
        "permessage-deflate" => {
            let window_bits = window_bits.unwrap_or(15);
            if !(8..=15).contains(&window_bits) {
                return Err(bad("server_max_window_bits must be 8..=15"));
            }
            return Ok(Compression::PerMessageDeflate { window_bits, no_context_takeover });
        }
        _ => return Err(bad("compression must be 'auto', 'deflate', 'none' or 'permessage-deflate'")),
    };
    if window_bits.is_some() || no_context_takeover {
        return Err(bad(
            "server_max_window_bits / server_no_context_takeover need compression='permessage-deflate'",
        ));
    }
    Ok(c)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    super::events::register(m)?;
    m.add_class::<BookFeed>()?;
    m.add_class::<OrderBook>()?;
    Ok(())
}
