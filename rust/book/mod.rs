//! The L2 book engine: exact fixed-point levels, venue sequence rules, checksums, queries.
//!
//! Pure Rust; the JSON grammars in `venue/` fill a scratch list of `RawLevel`s per message and call
//! `Book::apply_snapshot` / `Book::apply_diff`.
//!
//! Scale: each book keeps prices and quantities as i64 mantissas at a per-book number of decimals.
//! With `price_decimals`/`qty_decimals` set (from the instrument config) the scale is fixed and a
//! value needing more decimals is a typed error. Left `None`, the scale starts at whatever the
//! first snapshot needs and only ever widens: when a later value needs more decimals, the whole
//! book is rescaled (checked for overflow first). Widening is rare (it happens once per new
//! precision) and keeps every value exact without forcing users to know tick sizes up front.
//!
//! Atomicity: a message's levels are checked first (every one converts exactly at the book's
//! scale); only when all do (and the sequence check passed) is the book touched, converting them
//! again on the way in (a multiply each; no staging buffer to fill and read back). A checksum is
//! verified after the apply; a mismatch marks the book out of sync. A frame of several messages is
//! all or nothing too: `frame` checks every one before any applies.

pub mod checksum;
mod config;
pub mod frame;
mod journal;
mod level_text;
pub mod num;
mod query;
mod scale;
pub mod side;
mod snapshot;
pub mod sync;

use checksum::Fmt;
use side::Side;
use sync::{check, OosReason, SeqInfo, SyncState, Verdict, NO_SEQ};

pub use config::{BookConfig, BookError, BookStats, Need, Outcome, RawLevel};
pub use journal::Journal;
pub use query::Impact;

#[derive(Debug, Clone)]
pub struct Book {
    pub(crate) bids: Side,
    pub(crate) asks: Side,
    price_scale: u8,
    qty_scale: u8,
    cfg: BookConfig,
    state: SyncState,
    id: i64,
    fresh: bool,
    stats: BookStats,
    buf_levels: Vec<RawLevel>,
    buf_msgs: Vec<(SeqInfo, usize, usize)>,
    journal: Journal,
    /// Checksum text of the top levels, kept between messages (boxed: most books have no checksum).
    texts: Option<Box<level_text::Cache>>,
    /// `cfg.rest_fallback`: the venue sent this book no snapshot when it was (re)subscribed, so it
    /// takes its snapshots out of band, as a `rest_snapshot` book.
    rest: bool,
    /// `cfg.rest_fallback`: a (re)subscription was confirmed and no book message came since: the
    /// next one says whether the venue still pushes a snapshot.
    first: bool,
}

impl Book {
    pub fn new(cfg: BookConfig) -> Self {
        Book {
            bids: Side::new(false),
            asks: Side::new(true),
            price_scale: cfg.price_decimals.unwrap_or(0),
            qty_scale: cfg.qty_decimals.unwrap_or(0),
            cfg,
            state: SyncState::Empty,
            id: NO_SEQ,
            fresh: true,
            stats: BookStats::default(),
            buf_levels: Vec::new(),
            buf_msgs: Vec::new(),
            journal: Journal::default(),
            texts: None,
            rest: false,
            first: false,
        }
    }

    pub fn config(&self) -> &BookConfig {
        &self.cfg
    }
    pub fn state(&self) -> SyncState {
        self.state
    }
    pub fn is_synced(&self) -> bool {
        self.state == SyncState::Synced
    }
    /// What it takes to sync this book again; `None` while synced or still waiting for the first
    /// snapshot of a subscription.
    pub fn need(&self) -> Option<Need> {
        match (self.state, self.out_of_band()) {
            (SyncState::Synced | SyncState::Empty, _) => None,
            (_, true) => Some(Need::Snapshot),
            (SyncState::Buffering, false) => None,
            (_, false) => Some(Need::Resubscribe),
        }
    }
    pub fn stats(&self) -> &BookStats {
        &self.stats
    }
    /// Last applied update id (`sync::NO_SEQ` if none).
    pub fn last_id(&self) -> i64 {
        self.id
    }
    pub fn price_scale(&self) -> u8 {
        self.price_scale
    }
    pub fn qty_scale(&self) -> u8 {
        self.qty_scale
    }
    pub fn bids(&self) -> &Side {
        &self.bids
    }
    pub fn asks(&self) -> &Side {
        &self.asks
    }
    /// Changes the depth cap (e.g. Kraken's subscribed depth learnt from the channel name).
    pub fn set_max_depth(&mut self, depth: usize) {
        self.cfg.max_depth = depth;
    }

    /// The decimals the checksum string is formatted with, per instrument (Kraken v2 sends numbers
    /// in shortest form; its checksum is over them at the pair's precision).
    pub fn set_checksum_decimals(&mut self, price: Option<u8>, qty: Option<u8>) {
        self.cfg.checksum_price_decimals = price;
        self.cfg.checksum_qty_decimals = qty;
    }

    /// Whether this book's snapshots come out of band (REST, a request): always on a
    /// `rest_snapshot` venue, and on a `rest_fallback` one since the venue sent it no snapshot.
    pub fn out_of_band(&self) -> bool {
        self.cfg.rest_snapshot || self.rest
    }

    /// The venue confirmed a (re)subscription of this book (OKX's `subscribe` event). On a
    /// `rest_fallback` venue the next book message tells how the book syncs from then on: a
    /// snapshot, pushed as before, or a diff — the venue sends none, so the diffs are kept for an
    /// out-of-band snapshot (`Need::Snapshot`). Nothing changes on other venues.
    pub fn subscribed(&mut self) {
        self.first = self.cfg.rest_fallback;
    }

    /// How the book takes its snapshots (`out_of_band`) and whether it waits for the stream's first
    /// message since a (re)subscription to tell: what an out-of-band snapshot leaves as it was
    /// (`Feed::on_snapshot`), as it says nothing of the stream.
    pub(crate) fn band(&self) -> (bool, bool) {
        (self.rest, self.first)
    }

    pub(crate) fn set_band(&mut self, (rest, first): (bool, bool)) {
        (self.rest, self.first) = (rest, first);
    }

    /// Whether a diff now makes this book take its snapshots out of band (see `subscribed`): the
    /// first book message since the book was new, reset or resubscribed.
    pub(super) fn learns_rest(&self) -> bool {
        self.cfg.rest_fallback && !self.rest && (self.first || self.state == SyncState::Empty)
    }

    /// Marks the book out of sync from outside (e.g. a connection-wide sequence gap).
    pub fn invalidate(&mut self, reason: OosReason) {
        if reason == OosReason::Gap {
            self.stats.gaps += 1;
        }
        self.state = SyncState::OutOfSync(reason);
        self.journal.replace();
    }

    /// A bus message said the book's source lost its own copy: out of sync, unless this book is
    /// already past that point (a stale message) or not synced anyway. Reported as a gap, whose
    /// remedy (a snapshot from the source) it shares; `stats().gaps` does not count it.
    pub fn apply_upstream_lost(&mut self, seq: SeqInfo) -> Outcome {
        if self.state != SyncState::Synced {
            self.stats.ignored += 1;
            return Outcome::Ignored;
        }
        if check(self.cfg.seq, self.id, self.fresh, &seq) == Verdict::Stale {
            self.stats.stale += 1;
            return Outcome::Stale;
        }
        self.state = SyncState::OutOfSync(OosReason::Upstream);
        self.journal.replace();
        Outcome::Gap
    }

    /// Forgets everything: levels, buffer, sequence.
    pub fn reset(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.buf_levels.clear();
        self.buf_msgs.clear();
        self.id = NO_SEQ;
        self.fresh = true;
        self.state = SyncState::Empty;
        self.rest = false;
        self.first = false;
        self.journal.replace();
    }

    /// `reset`, and the memory of its levels, buffers and checksum texts given back (the book's
    /// subscription ended).
    pub fn release(&mut self) {
        self.reset();
        self.bids.shrink();
        self.asks.shrink();
        self.buf_levels = Vec::new();
        self.buf_msgs = Vec::new();
        self.texts = None;
    }

    fn fmt(&self) -> Fmt {
        Fmt {
            price_scale: self.price_scale,
            qty_scale: self.qty_scale,
            price_decimals: self.cfg.checksum_price_decimals,
            qty_decimals: self.cfg.checksum_qty_decimals,
        }
    }

    /// The checksum of the current book in the configured venue's scheme.
    pub fn checksum(&self) -> Option<i64> {
        checksum::compute(self.cfg.checksum, &self.bids, &self.asks, &self.fmt())
    }

    /// The check step of an all-or-nothing frame (`frame`): `Err` if `apply_snapshot` /
    /// `apply_diff` would refuse this message in the book's present state, and nothing changes
    /// either way. A diff the book would skip or ignore is not refused here (its levels are not
    /// applied); one it would keep for its snapshot is checked on its own levels, as `apply_diff`
    /// checks it. A full diff buffer is not a refusal but a loss the book reports when it drops the
    /// buffer (see `frame`).
    pub fn check_message(&self, levels: &[RawLevel], seq: SeqInfo, snapshot: bool) -> Result<(), BookError> {
        if snapshot {
            if self.snapshot_verdict(&seq) == Verdict::Apply {
                self.plan(levels, true)?;
            }
            return Ok(());
        }
        // As `apply_diff` checks: a diff applied against the book's scale, one kept for the next
        // snapshot (waiting, or the first after a gap) on its own levels.
        let keep = self.out_of_band() || self.learns_rest();
        match (self.state, check(self.cfg.seq, self.id, self.fresh, &seq)) {
            (SyncState::Synced, Verdict::Apply) => self.plan(levels, false).map(|_| ()),
            (SyncState::Synced, Verdict::Gap) if keep => self.plan(levels, true).map(|_| ()),
            (SyncState::Synced, _) => Ok(()),
            _ if keep => self.plan(levels, true).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Applies levels `check` passed, in order.
    fn commit(&mut self, levels: &[RawLevel]) {
        let (round, ps, qs) = (self.round(), self.price_scale, self.qty_scale);
        // Per side, where its last level went (see `Side::set_near`).
        let mut near = [usize::MAX; 2];
        for l in levels {
            let (key, qty, pw, qw) = Self::convert(l, round, ps, qs);
            let side = if l.ask { &mut self.asks } else { &mut self.bids };
            let hint = &mut near[l.ask as usize];
            *hint = side.set_near(key, qty, pw, qw, *hint);
            self.journal.record(l.ask, key);
        }
        self.truncate();
    }

    fn truncate(&mut self) {
        let depth = self.cfg.max_depth;
        if depth > 0 {
            for (ask, side) in [(false, &mut self.bids), (true, &mut self.asks)] {
                let n = side.len();
                if n > depth {
                    self.journal.record_cut(ask, &side.levels()[..n - depth]);
                }
                side.truncate(depth);
            }
        }
    }

    /// `checksum`, reusing the text of the levels that did not change since the last one.
    fn cached_checksum(&mut self) -> Option<i64> {
        let fmt = self.fmt();
        let texts = self.texts.get_or_insert_with(Default::default);
        texts.compute(self.cfg.checksum, &self.bids, &self.asks, &fmt)
    }

    /// Checksum and crossed-book checks after an apply.
    fn verify(&mut self, expected: Option<i64>) -> Outcome {
        if let Some(exp) = expected {
            if let Some(got) = self.cached_checksum() {
                let exp = checksum::normalise(self.cfg.checksum, exp);
                if got != exp {
                    self.stats.checksum_fail += 1;
                    self.state = SyncState::OutOfSync(OosReason::Checksum);
                    return Outcome::ChecksumMismatch { expected: exp, computed: got };
                }
                self.stats.checksum_ok += 1;
            }
        }
        if self.cfg.check_crossed {
            if let (Some(b), Some(a)) = (self.bids.best(), self.asks.best()) {
                if b.key >= -a.key {
                    self.stats.crossed += 1;
                    self.state = SyncState::OutOfSync(OosReason::Crossed);
                    return Outcome::Crossed;
                }
            }
        }
        Outcome::Applied
    }

    /// Applies one diff message (all its levels, in order) under the venue's sequence rule. A diff
    /// a book waiting for its REST snapshot keeps is checked as it comes, on its own levels (the
    /// book's may be stale), and refused as a synced book would refuse it, the book unchanged:
    /// kept, its error would surface only from the good snapshot that replays it.
    pub fn apply_diff(
        &mut self,
        levels: &[RawLevel],
        seq: SeqInfo,
        checksum: Option<i64>,
    ) -> Result<Outcome, BookError> {
        let was = (self.rest, self.first);
        // The first message since a (re)subscription is a diff: the venue sent no snapshot, so this
        // book's come out of band from now on, and this diff is kept for the next one. Unless it
        // continues a synced book (or is a copy of what it has): then it may be another line's (A/B
        // lines, a line renewed beside its old connection), whose subscription proves nothing about
        // the one just confirmed; a reconnect the venue answered without a snapshot shows at the
        // book's next gap, whose first diff after the resubscription is kept (`learns_rest`).
        self.rest |= self.learns_rest()
            && (self.state != SyncState::Synced
                || check(self.cfg.seq, self.id, self.fresh, &seq) == Verdict::Gap);
        self.first = false;
        let r = self.diff(levels, seq, checksum);
        if matches!(r, Err(ref e) if !matches!(e, BookError::BufferFull(_))) {
            // Refused: the book is as it was (a full buffer is a loss, not a refusal: see `frame`).
            (self.rest, self.first) = was;
        }
        r
    }

    #[inline]
    fn diff(
        &mut self,
        levels: &[RawLevel],
        seq: SeqInfo,
        checksum: Option<i64>,
    ) -> Result<Outcome, BookError> {
        match self.state {
            SyncState::Synced => {}
            SyncState::Empty | SyncState::Buffering => {
                if self.out_of_band() {
                    self.plan(levels, true)?;
                    self.state = SyncState::Buffering;
                    return self.buffer(levels, seq);
                }
                self.stats.ignored += 1;
                return Ok(Outcome::Ignored);
            }
            SyncState::OutOfSync(_) | SyncState::Resyncing => {
                if self.out_of_band() {
                    self.plan(levels, true)?;
                    self.state = SyncState::Resyncing;
                    return self.buffer(levels, seq);
                }
                self.stats.ignored += 1;
                return Ok(Outcome::Ignored);
            }
        }
        match check(self.cfg.seq, self.id, self.fresh, &seq) {
            Verdict::Stale => {
                self.stats.stale += 1;
                Ok(Outcome::Stale)
            }
            Verdict::Gap => {
                if self.out_of_band() {
                    self.plan(levels, true)?;
                }
                self.stats.gaps += 1;
                self.state = SyncState::OutOfSync(OosReason::Gap);
                if self.out_of_band() {
                    // This diff is the first one the next snapshot must connect to.
                    self.state = SyncState::Resyncing;
                    self.buffer(levels, seq)?;
                }
                Ok(Outcome::Gap)
            }
            Verdict::Apply => {
                self.check(levels, false)?;
                self.commit(levels);
                self.note_applied(&seq);
                Ok(self.verify(checksum))
            }
        }
    }
}

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod checksum_tests;
#[cfg(test)]
pub(crate) mod tests;
