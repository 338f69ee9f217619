//! The feed side of A/B arbitration (`venue::arbiter`): every book frame of an arbitrated feed is
//! placed by the sequence numbers its grammar read, after decoding and before anything is applied,
//! and held frames are applied as soon as the book reaches them. Trades of a venue that numbers them
//! one by one wait the same way for the ones before them (`trades`), and go out by the same release.

use super::{trades, Feed, FeedError};
use crate::book::Outcome;
use crate::venue::arbiter::{span, Arbiter, ArbiterStats, Placement};
use crate::venue::FrameKind;

impl Feed {
    /// Turns arbitration on (`Some(hold_ns)`, at most `max_held` frames held at once) or off.
    /// Only meaningful where every connection numbers the books the same way.
    pub fn set_arbitration(&mut self, hold_ns: Option<i64>, max_held: usize) {
        self.arbiter = hold_ns.map(|h| Arbiter::new(h, max_held));
        if self.arbiter.is_none() && !self.dedupe_trades {
            self.trades.forget_passed();
        }
    }

    /// Trades a venue id shows to be copies are dropped, whichever connection brought them first,
    /// as while arbitrating, without holding book frames: the feed of one line whose connection is
    /// renewed (both connections deliver while they overlap; book frames the older one brings
    /// again are stale by their sequence). On from the first connection on, a venue's consecutive
    /// trade ids place a second connection's first trades against the first one's (`take_trades`).
    pub fn set_trade_dedupe(&mut self, on: bool) {
        self.dedupe_trades = on;
        if !on && self.arbiter.is_none() {
            self.trades.forget_passed();
        }
    }

    #[inline]
    pub fn arbitrates(&self) -> bool {
        self.arbiter.is_some()
    }

    pub fn arbiter_stats(&self) -> Option<(ArbiterStats, usize)> {
        self.arbiter.as_ref().map(|a| (a.stats(), a.held()))
    }

    /// With `on`, a frame no longer releases the held frames whose time is up (it still applies those
    /// whose hole it filled): `release_held` does, which the caller runs once every connection's
    /// socket was read. A process that stalled (a busy CPU, a long callback) reads the sockets
    /// afterwards in any order: the first frame read, stamped after the stall, would otherwise
    /// release the held frames as gaps before the other connection's frame, come in time and
    /// waiting in its socket, filled their hole. `held_due` tells when a release is wanted.
    pub fn set_deferred_expiry(&mut self, on: bool) {
        self.deferred_expiry = on;
    }

    /// Whether held frames' or trades' time is up at `now_ns` (deferred expiry: `release_held` is
    /// wanted).
    #[inline]
    pub fn held_due(&self, now_ns: i64) -> bool {
        self.arbiter.as_ref().is_some_and(|a| a.has_work(now_ns, false)) || self.trades.due(now_ns)
    }

    /// Book frames and trades held now: `release_held` them before arbitration stops, or they are
    /// never delivered.
    pub fn held(&self) -> usize {
        self.arbiter.as_ref().map_or(0, |a| a.held()) + self.trades.held()
    }

    /// Trades held for the ids before them (arbitrated lines of a venue whose trade ids are
    /// consecutive), and how many went out without them.
    pub fn held_trades(&self) -> (usize, u64) {
        (self.trades.held(), self.trades.released_as_gap)
    }

    /// Keeps the decoded trade frame's trades: copies dropped while two connections deliver and,
    /// while arbitrating where the venue numbers each symbol's trades one by one, put in id order
    /// (elsewhere a missing id tells nothing); `named`: the symbol of a frame that names none.
    pub(super) fn take_trades(&mut self, frame: &[u8], named: Option<&[u8]>) {
        let dedupe = self.dedupe_trades || self.arbiter.is_some();
        let consecutive = self.venue.spec().consecutive_trade_ids;
        let hold = self.arbiter.as_ref().filter(|_| consecutive).map(|a| trades::Hold {
            now_ns: self.now_ns,
            hold_ns: a.hold_ns(),
            max_held: a.max_held(),
        });
        self.trades.take(frame, named, &self.batch.trades, dedupe, hold);
        if hold.is_some() && !self.deferred_expiry {
            self.trades.release_due(self.now_ns, false);
        }
    }

    /// The receive time of the frame about to be passed (monotonic ns): held frames wait from it.
    #[inline]
    pub fn set_now(&mut self, now_ns: i64) {
        self.now_ns = now_ns;
    }

    /// Drops the frames held for `symbol` (being resynced) or for every book.
    pub fn clear_held(&mut self, symbol: Option<&[u8]>) {
        let book = symbol.map(|s| self.find_book(s));
        if let Some(a) = &mut self.arbiter {
            match book {
                Some(None) => {}
                Some(Some(i)) => a.clear(Some(i)),
                None => a.clear(None),
            }
        }
    }

    /// Every connection went down (`symbol` None) or `symbol`'s trades were unsubscribed: the next
    /// trade of each (of `symbol`) waits for none of those made meanwhile (`trades::LastTrades::resume`).
    pub fn resume_trades(&mut self, symbol: Option<&[u8]>) {
        self.trades.resume(symbol);
    }

    /// Applies the held frames whose hole was filled or whose time is up at `now_ns` (a timer calls
    /// this; frames call it themselves). The summary lists what they did; held trades whose time is
    /// up go out too (each symbol's in id order), and the summary is then a trade frame's whose
    /// trades they are (`last_trades`), its updates the books the frames changed.
    pub fn release_held(&mut self, now_ns: i64) -> &super::FrameSummary {
        self.summary.updates.clear();
        self.summary.conn_gap = false;
        self.summary.kind = FrameKind::Book;
        self.now_ns = now_ns;
        self.drain_held(true);
        if self.trades.release_due(now_ns, true) {
            self.summary.kind = FrameKind::Trade;
        }
        &self.summary
    }

    /// A released frame refused: each synced book it named is out of sync ("gap") and reported so
    /// in `done`, for the session to resync it.
    #[cold]
    fn lost_on_release(&mut self, e: &FeedError, done: &mut Vec<(u32, Outcome)>) {
        let named = match e {
            FeedError::Book { symbol, .. } => self.find_book(symbol.as_bytes()),
            _ => None,
        };
        let extra = named.filter(|b| !self.refused.contains(b));
        for b in self.refused.iter().copied().chain(extra) {
            let book = &mut self.books[b as usize];
            if book.is_synced() {
                book.invalidate(crate::book::sync::OosReason::Gap);
                done.push((b, Outcome::Gap));
            }
        }
    }

    /// Book index of a symbol as a frame names it, without creating the book.
    pub(super) fn find_book(&self, sym: &[u8]) -> Option<u32> {
        if let Some(i) = self.index_of(sym) {
            return Some(i as u32);
        }
        let sym = std::str::from_utf8(sym).ok()?;
        self.index_of(self.venue.spec().symbol_case.key(sym).as_bytes()).map(|i| i as u32)
    }

    fn position(&self, book: u32) -> Option<i64> {
        let b = self.books.get(book as usize)?;
        b.is_synced().then(|| b.last_id())
    }

    /// Places the decoded frame; true when it was dropped or held (nothing to apply now).
    pub(super) fn arbitrate(&mut self, frame: &[u8], text: bool) -> bool {
        let msgs = &self.batch.msgs;
        let (Some(m0), Some(mn)) = (msgs.first(), msgs.last()) else {
            return false;
        };
        let sym = frame.get(m0.sym.0 as usize..m0.sym.1 as usize).unwrap_or_default();
        // Frames naming several books (or none) are not arbitrated: no venue that offers A/B
        // lines sends them, and a partial verdict would be wrong.
        if sym.is_empty() || msgs.iter().any(|m| frame.get(m.sym.0 as usize..m.sym.1 as usize) != Some(sym)) {
            return false;
        }
        let (Some((first, _)), Some((_, last))) = (span(m0.snapshot, &m0.seq), span(mn.snapshot, &mn.seq))
        else {
            return false;
        };
        let Some(i) = self.find_book(sym) else {
            return false;
        };
        let pos = self.position(i);
        let now = self.now_ns;
        // A diff that restarts the numbering (OKX seqId below prevSeqId, after maintenance) comes on
        // every line too: the second copy, no longer linked to the book the first one left, would be
        // a gap to the book's rule, and `place` cannot compare ids across the restart either.
        let restart =
            msgs.len() == 1 && if m0.snapshot { m0.seq.restarts() } else { last < first.saturating_sub(1) };
        let Some(arb) = self.arbiter.as_mut() else {
            return false;
        };
        let placed =
            if restart { arb.place_restart(i, last, pos, now) } else { arb.place(i, first, last, pos) };
        match placed {
            Placement::Pass => false,
            Placement::Duplicate => {
                self.summary.updates.push((i, Outcome::Duplicate));
                true
            }
            Placement::Hold => {
                arb.hold(i, first, last, now, frame, text);
                self.summary.updates.push((i, Outcome::Held));
                true
            }
        }
    }

    /// Applies held frames the book has reached (or, with `expire`, whose time ran out), appending
    /// what they did to the current summary.
    pub(super) fn drain_held(&mut self, expire: bool) {
        let Some(mut arb) = self.arbiter.take() else {
            return;
        };
        let moved = self.summary.updates.iter().any(|(_, o)| *o == Outcome::Applied);
        // Not expiring: a clock before every deadline.
        let now = if expire { self.now_ns } else { i64::MIN };
        if arb.has_work(now, moved) {
            let kind = self.summary.kind;
            let mut chans = std::mem::take(&mut self.chans);
            // What the releasing frame (and each released one) did, kept apart: a refusal clears
            // the summary it was building.
            let mut done = std::mem::take(&mut self.summary.updates);
            while let Some(r) = arb.next_ready(now, |b| self.position(b)) {
                self.batch.clear();
                match self.decode_with(&r.frame, r.text, &mut chans) {
                    Ok(_) => done.append(&mut self.summary.updates),
                    // It parsed when it arrived; a value the book refuses now is not raised (the
                    // frame that released it was fine), but the books it named lack its update.
                    // (What a frame of several that lost one message applied stays reported.)
                    Err(e) => {
                        done.append(&mut self.summary.updates);
                        self.lost_on_release(&e, &mut done);
                    }
                }
            }
            self.summary.updates = done;
            self.chans = chans;
            self.summary.kind = kind;
        }
        self.arbiter = Some(arb);
    }
}
