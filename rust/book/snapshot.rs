//! A snapshot placed against the book by the venue's sequence rule, and the diffs a book waiting
//! for its REST snapshot buffers meanwhile and replays (in sequence order) once it comes.

use super::side::Level;
use super::sync::{check, OosReason, SeqInfo, SyncState, Verdict, NO_SEQ};
use super::{Book, BookError, Outcome, RawLevel};

impl Book {
    /// Replaces the book with a full snapshot whose last update id is `seq.last`, then replays
    /// buffered diffs by the venue's rule.
    pub fn apply_snapshot(
        &mut self,
        levels: &[RawLevel],
        seq: SeqInfo,
        checksum: Option<i64>,
    ) -> Result<Outcome, BookError> {
        if levels.is_empty() && self.learns_rest() {
            return Ok(self.no_snapshot());
        }
        match self.snapshot_verdict(&seq) {
            Verdict::Apply => {}
            Verdict::Stale => {
                self.stats.stale += 1;
                // At the book's own id the venue's book is ours: nothing was missed since (what a
                // session asks a quiet book after a reconnect to prove it may be trusted again).
                return Ok(if seq.last == self.id { Outcome::Duplicate } else { Outcome::Stale });
            }
            Verdict::Gap => {
                self.invalidate(OosReason::Gap);
                return Ok(Outcome::Gap);
            }
        }
        let was_lost = matches!(self.state, SyncState::OutOfSync(_) | SyncState::Resyncing);
        let first = std::mem::replace(&mut self.first, false);
        let r = self.snapshot(levels, seq, checksum);
        if r.is_err() {
            self.first = first; // refused: nothing changed
        } else if first {
            // The first message since a resubscription is a snapshot: the venue pushes them (again).
            self.rest = false;
        }
        if was_lost && self.state == SyncState::Synced {
            self.stats.resyncs += 1;
        }
        r
    }

    /// A `rest_fallback` venue's first book message after (re)subscribing is a snapshot without a
    /// level. OKX's procedure for its books without the initial snapshot begins "Ignore the first
    /// event received (action is snapshot)": taken, the book would be empty and synced. It is no
    /// snapshot: the book takes its snapshots out of band from now on, as after a first diff.
    fn no_snapshot(&mut self) -> Outcome {
        self.rest = true;
        self.first = false;
        self.stats.ignored += 1;
        self.state = match self.state {
            SyncState::Synced => return Outcome::Ignored,
            SyncState::Empty | SyncState::Buffering => SyncState::Buffering,
            SyncState::OutOfSync(_) | SyncState::Resyncing => SyncState::Resyncing,
        };
        Outcome::Buffered
    }

    /// Whether a snapshot replaces the book (`Apply`), is older than it (`Stale`), or cannot be
    /// placed against it (`Gap`: the book goes out of sync).
    ///
    /// An out-of-band snapshot (REST depth, HTX `req`, a bus message) no newer than the synced book
    /// it meets is the answer to a request the book no longer waits for (a superseded `req`
    /// answered late, a slow REST reply after a resync already succeeded) or a lagging A/B line's:
    /// applying it would roll the book back to an older state, wrong until the next diff shows the
    /// gap. A pushed snapshot (OKX, Bybit, Kraken) always applies: those venues send one when they
    /// restart their numbering.
    ///
    /// A restart snapshot (`SeqInfo::restarts`) says its source's numbering started over, so its
    /// id being below the book's proves nothing. It applies when it continues the book (`prev` is
    /// the book's id: the restart of the numbering the book is at) or is above the book's id
    /// (newer in either numbering). Otherwise ids cannot tell a lagging line's copy of a restart
    /// the book already took (applying it rolls the book back) from a restart after messages this
    /// book lost (ignoring it keeps a stale book in sync): the book goes out of sync and waits for
    /// a snapshot, which is right in both cases.
    pub(super) fn snapshot_verdict(&self, seq: &SeqInfo) -> Verdict {
        if !self.out_of_band() || self.state != SyncState::Synced || self.id == NO_SEQ || seq.last == NO_SEQ {
            return Verdict::Apply;
        }
        if seq.restarts() {
            return if seq.prev == self.id || seq.last > self.id { Verdict::Apply } else { Verdict::Gap };
        }
        if seq.last <= self.id {
            Verdict::Stale
        } else {
            Verdict::Apply
        }
    }

    fn snapshot(
        &mut self,
        levels: &[RawLevel],
        seq: SeqInfo,
        checksum: Option<i64>,
    ) -> Result<Outcome, BookError> {
        self.check(levels, true)?;
        let (round, ps, qs) = (self.round(), self.price_scale, self.qty_scale);
        let lv = |ask: bool| {
            levels.iter().filter(move |l| l.ask == ask).map(move |l| {
                let (key, qty, pw, qw) = Self::convert(l, round, ps, qs);
                Level { key, qty, pw, qw }
            })
        };
        self.bids.load(lv(false));
        self.asks.load(lv(true));
        self.truncate();
        self.journal.replace();
        // A pushed snapshot at or below the book's id: the venue started its numbering over (one
        // out of band is the resync of a book whose id ran ahead of its last snapshot, unless it
        // says it restarts).
        let below = self.id != NO_SEQ && seq.last != NO_SEQ && seq.last <= self.id;
        if below && (!self.out_of_band() || seq.restarts()) {
            self.journal.restart();
        }
        self.id = seq.last;
        self.fresh = true;
        self.state = SyncState::Synced;
        self.stats.snapshots += 1;
        let out = self.verify(checksum);
        if out != Outcome::Applied || self.buf_msgs.is_empty() {
            return Ok(out);
        }
        Ok(self.replay())
    }

    fn replay(&mut self) -> Outcome {
        let mut msgs = std::mem::take(&mut self.buf_msgs);
        let levels = std::mem::take(&mut self.buf_levels);
        // In sequence order, not arrival order: two connections of one stream (a line renewed
        // beside its old connection, A/B lines) buffer the newer diffs of the one ahead before the
        // older ones of the one behind; read as they came, the first was a gap and the snapshot
        // fetched again. Stable, so copies keep their order and the second is stale.
        msgs.sort_by_key(|m| m.0.last);
        for (k, &(seq, a, b)) in msgs.iter().enumerate() {
            match check(self.cfg.seq, self.id, self.fresh, &seq) {
                Verdict::Stale => self.stats.stale += 1,
                Verdict::Apply => {
                    if self.check(&levels[a..b], false).is_err() {
                        // A diff taken while the book waited that it cannot hold at the snapshot's
                        // scale (checked alone when it came): the snapshot is good, this update is
                        // lost to the book — a gap, not an error pinned on the snapshot.
                        self.stats.gaps += 1;
                        self.state = SyncState::OutOfSync(OosReason::Gap);
                        break;
                    }
                    self.commit(&levels[a..b]);
                    self.note_applied(&seq);
                }
                Verdict::Gap => {
                    // The snapshot does not connect to the buffer (too old, or the buffer itself
                    // has a hole): keep the diffs from here on for the next snapshot.
                    self.stats.gaps += 1;
                    self.state = SyncState::Resyncing;
                    // Kept in sequence order (their levels no longer one run of the old buffer).
                    for &(s, a, b) in &msgs[k..] {
                        let at = self.buf_levels.len();
                        self.buf_levels.extend_from_slice(&levels[a..b]);
                        self.buf_msgs.push((s, at, self.buf_levels.len()));
                    }
                    return Outcome::Gap;
                }
            }
        }
        // Give the allocations back so the next resync does not reallocate.
        self.buf_levels = levels;
        self.buf_levels.clear();
        self.buf_msgs = msgs;
        self.buf_msgs.clear();
        if self.state == SyncState::Synced {
            return self.verify(None);
        }
        Outcome::Gap
    }

    pub(super) fn note_applied(&mut self, seq: &SeqInfo) {
        if seq.last != NO_SEQ {
            self.id = seq.last;
        }
        self.fresh = false;
        self.stats.diffs_applied += 1;
    }

    pub(super) fn buffer(&mut self, levels: &[RawLevel], seq: SeqInfo) -> Result<Outcome, BookError> {
        if self.buf_levels.len() + levels.len() > self.cfg.max_buffered_levels {
            let n = self.buf_levels.len();
            self.buf_levels.clear();
            self.buf_msgs.clear();
            return Err(BookError::BufferFull(n));
        }
        let a = self.buf_levels.len();
        self.buf_levels.extend_from_slice(levels);
        self.buf_msgs.push((seq, a, self.buf_levels.len()));
        self.stats.buffered += 1;
        Ok(Outcome::Buffered)
    }
}
