//! A/B arbitration: N redundant connections carry the same streams into one `Feed`.
//!
//! Every book frame is placed by the sequence numbers its grammar already read, before anything is
//! applied: a frame the book already has (the other line was first) is a duplicate and dropped; a
//! frame that continues the book passes; a frame that arrives *ahead* of the book (this line lost a
//! message) is held, because the other line normally delivers the missing message within
//! microseconds — the held frame is applied right after it and the book never leaves sync. Only
//! when no line fills the hole within the hold time is the frame released to the book, which
//! reports the gap.
//!
//! The position of a book is the book's own last applied id: the arbiter keeps no second copy of
//! the sequence state that could drift from the book.

use crate::book::sync::{SeqInfo, NO_SEQ};

/// Where a frame stands against its book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Apply it (continues the book, the book is not synced yet, or the venue reset its sequence).
    Pass,
    /// The book already has it.
    Duplicate,
    /// Ahead of the book: keep it until the hole is filled or its time is up.
    Hold,
}

/// The span of update ids a book message covers, as the arbiter compares them: `first` is the id
/// the message continues from plus one (a snapshot stands alone: 0), `last` the id it leaves.
pub fn span(snapshot: bool, seq: &SeqInfo) -> Option<(i64, i64)> {
    if seq.last == NO_SEQ {
        return None;
    }
    let first = if snapshot {
        0
    } else if seq.prev != NO_SEQ {
        // A venue that names the previous id (OKX prevSeqId, Binance USDⓈ-M pu, seed prev_seq)
        // continues from it, whatever `first` says.
        seq.prev.saturating_add(1)
    } else {
        seq.first
    };
    Some((first, seq.last))
}

/// Counters reported in a session's `health()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArbiterStats {
    pub duplicates: u64,
    pub filled_from_other_line: u64,
    pub released_as_gap: u64,
    pub passed: u64,
}

struct Held {
    book: u32,
    first: i64,
    last: i64,
    deadline_ns: i64,
    /// The frame as the grammar parsed it (inflated if it came compressed): re-parsed on release.
    frame: Vec<u8>,
    /// Parsed as text (JSON), not as a binary (SBE) frame.
    text: bool,
}

/// A frame taken out of the hold, to be applied now.
pub struct Released {
    pub frame: Vec<u8>,
    pub text: bool,
    /// True when the hole was filled (it continues the book); false when its time ran out (the
    /// book will report the gap).
    pub filled: bool,
}

pub struct Arbiter {
    hold_ns: i64,
    max_held: usize,
    held: Vec<Held>,
    earliest_deadline: i64,
    stats: ArbiterStats,
    /// (book, until when) of the restart snapshots passed in the last hold time (`place_restart`).
    restarts: Vec<(u32, i64)>,
}

impl Arbiter {
    pub fn new(hold_ns: i64, max_held: usize) -> Self {
        Arbiter {
            hold_ns: hold_ns.max(0),
            max_held,
            held: Vec::new(),
            earliest_deadline: i64::MAX,
            stats: ArbiterStats::default(),
            restarts: Vec::new(),
        }
    }

    pub fn stats(&self) -> ArbiterStats {
        self.stats
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    pub fn hold_ns(&self) -> i64 {
        self.hold_ns
    }

    pub fn max_held(&self) -> usize {
        self.max_held
    }

    /// Places a frame covering `first..=last` of book `book`, whose position is `pos` (its last
    /// applied id when synced, else None). A `Hold` verdict is only final once `hold` stored it.
    pub fn place(&mut self, book: u32, first: i64, last: i64, pos: Option<i64>) -> Placement {
        let Some(cur) = pos else {
            // Not in sync yet: the book does the initial alignment itself.
            self.stats.passed += 1;
            return Placement::Pass;
        };
        if last < first.saturating_sub(1) {
            // The venue restarted its numbering: the book's own rule decides.
            self.stats.passed += 1;
            return Placement::Pass;
        }
        if last <= cur {
            self.stats.duplicates += 1;
            return Placement::Duplicate;
        }
        if first <= cur.saturating_add(1) {
            self.stats.passed += 1;
            return Placement::Pass;
        }
        if self.held.iter().any(|h| h.book == book && h.first == first && h.last == last) {
            self.stats.duplicates += 1;
            return Placement::Duplicate;
        }
        if self.held.len() >= self.max_held {
            // Bounded memory: past the cap the book reports the gap and resyncs.
            self.stats.passed += 1;
            return Placement::Pass;
        }
        Placement::Hold
    }

    /// Places a restart snapshot (`SeqInfo::restarts`: the venue restarted the numbering), or a diff
    /// that restarts it (OKX `seqId` below `prevSeqId`), that leaves book `book` at `last`, received
    /// at `now_ns`.
    ///
    /// Its id cannot be compared with the book's, which may be of either numbering, and the book
    /// goes out of sync for one it cannot place. But lines deliver one venue message within the
    /// hold time, and a venue does not restart twice within it: one that comes within the hold time
    /// of a restart passed for the book, not ahead of the book, is another line's copy of that
    /// restart. Any other passes. Either way the frames held for the book are dropped: held before
    /// the restart passed, they wait for ids of the numbering that ended; held since, they are the
    /// copying line's from before its restart (ahead of the new numbering's ids only by their old
    /// ones), or another line's waiting for a hole the copying line's next frames fill with copies
    /// of them too.
    pub fn place_restart(&mut self, book: u32, last: i64, pos: Option<i64>, now_ns: i64) -> Placement {
        let recent = self.restarts.iter().any(|&(b, until)| b == book && now_ns < until);
        if recent && pos.is_some_and(|cur| last <= cur) {
            self.clear(Some(book));
            self.stats.duplicates += 1;
            return Placement::Duplicate;
        }
        self.restarts.retain(|&(b, until)| b != book && now_ns < until);
        self.restarts.push((book, now_ns.saturating_add(self.hold_ns)));
        self.clear(Some(book));
        self.stats.passed += 1;
        Placement::Pass
    }

    /// Keeps a frame `place` answered `Hold` for, received at `now_ns`.
    pub fn hold(&mut self, book: u32, first: i64, last: i64, now_ns: i64, frame: &[u8], text: bool) {
        let deadline_ns = now_ns.saturating_add(self.hold_ns);
        self.earliest_deadline = self.earliest_deadline.min(deadline_ns);
        self.held.push(Held { book, first, last, deadline_ns, frame: frame.to_vec(), text });
    }

    /// True when `next_ready` may return something: a held frame of a book that just moved, or
    /// one whose time is up. Cheap enough for every frame.
    #[inline]
    pub fn has_work(&self, now_ns: i64, moved: bool) -> bool {
        !self.held.is_empty() && (moved || now_ns >= self.earliest_deadline)
    }

    /// The next held frame to apply, given each book's position: the lowest `first` of any book
    /// that now continues it, else the oldest past its deadline. Frames the book has caught up
    /// with are discarded as duplicates on the way.
    pub fn next_ready(&mut self, now_ns: i64, pos: impl Fn(u32) -> Option<i64>) -> Option<Released> {
        let mut pick: Option<(usize, bool)> = None;
        let mut i = 0;
        while i < self.held.len() {
            let h = &self.held[i];
            let cur = pos(h.book);
            if matches!(cur, Some(c) if h.last <= c) {
                self.stats.duplicates += 1;
                self.held.swap_remove(i);
                continue;
            }
            let continues = matches!(cur, Some(c) if h.first <= c.saturating_add(1));
            let better = match pick {
                None => continues || now_ns >= h.deadline_ns,
                Some((j, filled)) => {
                    let p = &self.held[j];
                    if continues != filled {
                        continues
                    } else if continues {
                        h.first < p.first
                    } else {
                        now_ns >= h.deadline_ns && (h.book, h.first) < (p.book, p.first)
                    }
                }
            };
            if better {
                pick = Some((i, continues));
            }
            i += 1;
        }
        let (j, filled) = pick?;
        let h = self.held.swap_remove(j);
        if filled {
            self.stats.filled_from_other_line += 1;
        } else {
            self.stats.released_as_gap += 1;
        }
        self.earliest_deadline = self.held.iter().map(|h| h.deadline_ns).min().unwrap_or(i64::MAX);
        Some(Released { frame: h.frame, text: h.text, filled })
    }

    /// Drops what is held for one book (it is being resynced) or for all (the books start over:
    /// the restarts passed are forgotten too).
    pub fn clear(&mut self, book: Option<u32>) {
        match book {
            Some(b) => self.held.retain(|h| h.book != b),
            None => {
                self.held.clear();
                self.restarts.clear();
            }
        }
        self.earliest_deadline = self.held.iter().map(|h| h.deadline_ns).min().unwrap_or(i64::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(first: i64, last: i64, prev: i64) -> SeqInfo {
        SeqInfo { first, last, prev }
    }

    #[test]
    fn spans_follow_each_numbering() {
        // Binance spot U/u, USDⓈ-M pu, OKX prevSeqId with its snapshot (-1), no sequence at all.
        assert_eq!(span(false, &seq(101, 103, NO_SEQ)), Some((101, 103)));
        assert_eq!(span(false, &seq(90, 103, 99)), Some((100, 103)));
        assert_eq!(span(true, &seq(15, 15, -1)), Some((0, 15)));
        assert_eq!(span(false, &seq(NO_SEQ, NO_SEQ, NO_SEQ)), None);
    }

    #[test]
    fn places_against_the_position() {
        let mut a = Arbiter::new(50, 4);
        assert_eq!(a.place(0, 101, 102, None), Placement::Pass);
        assert_eq!(a.place(0, 99, 100, Some(100)), Placement::Duplicate);
        assert_eq!(a.place(0, 101, 102, Some(100)), Placement::Pass);
        assert_eq!(a.place(0, 103, 104, Some(100)), Placement::Hold);
        a.hold(0, 103, 104, 0, b"x", true);
        assert_eq!(a.place(0, 103, 104, Some(100)), Placement::Duplicate);
        // OKX resets: seqId below prevSeqId.
        assert_eq!(a.place(0, 16, 3, Some(15)), Placement::Pass);
        assert_eq!(a.stats().duplicates, 2);
    }

    #[test]
    fn releases_filled_holes_in_order_then_expired_ones() {
        let mut a = Arbiter::new(50, 8);
        a.hold(0, 105, 106, 0, b"c", true);
        a.hold(0, 103, 104, 0, b"b", true);
        a.hold(1, 10, 11, 10, b"z", true);
        assert!(!a.has_work(49, false));
        assert!(a.has_work(0, true));
        // Book 0 now at 102: 103..104 continues it, 105..106 not yet.
        let r = a.next_ready(0, |b| if b == 0 { Some(102) } else { Some(1) }).unwrap();
        assert_eq!((r.frame.as_slice(), r.filled), (&b"b"[..], true));
        let r = a.next_ready(0, |b| if b == 0 { Some(104) } else { Some(1) }).unwrap();
        assert_eq!((r.frame.as_slice(), r.filled), (&b"c"[..], true));
        assert!(a.next_ready(59, |_| Some(1)).is_none());
        let r = a.next_ready(60, |_| Some(1)).unwrap();
        assert_eq!((r.frame.as_slice(), r.filled), (&b"z"[..], false));
        let s = a.stats();
        assert_eq!((s.filled_from_other_line, s.released_as_gap, a.held()), (2, 1, 0));
    }

    #[test]
    fn a_restart_within_the_hold_time_of_another_is_its_copy_unless_ahead() {
        let mut a = Arbiter::new(50, 8);
        a.hold(0, 103, 104, 0, b"old", true);
        a.hold(1, 7, 8, 0, b"other", true);
        // Book 0 at 101 restarts at 1: passes, and what it held waits for ids that will not come.
        assert_eq!(a.place_restart(0, 1, Some(101), 10), Placement::Pass);
        assert_eq!(a.held(), 1);
        // Another line's copy, the book having moved on in the new numbering (or not); what that
        // line sent before it, held as ahead of the new numbering, goes with it.
        a.hold(0, 101, 101, 15, b"late", true);
        assert_eq!(a.place_restart(0, 1, Some(3), 20), Placement::Duplicate);
        assert_eq!(a.held(), 1);
        assert_eq!(a.place_restart(0, 1, Some(1), 59), Placement::Duplicate);
        // Ahead of the book, or the book not synced: the book decides.
        assert_eq!(a.place_restart(0, 5, Some(3), 30), Placement::Pass);
        assert_eq!(a.place_restart(0, 1, None, 31), Placement::Pass);
        // Past the hold time (of the last one passed), or another book: not a copy.
        assert_eq!(a.place_restart(0, 1, Some(3), 81), Placement::Pass);
        assert_eq!(a.place_restart(1, 1, Some(3), 82), Placement::Pass);
        assert_eq!(a.held(), 0);
        // A reset forgets them.
        a.clear(None);
        assert_eq!(a.place_restart(0, 1, Some(3), 83), Placement::Pass);
        assert_eq!((a.stats().duplicates, a.stats().passed), (2, 6));
    }

    #[test]
    fn caught_up_frames_are_discarded_and_the_cap_passes() {
        let mut a = Arbiter::new(50, 1);
        a.hold(0, 103, 104, 0, b"b", true);
        assert_eq!(a.place(0, 110, 111, Some(100)), Placement::Pass);
        assert!(a.next_ready(0, |_| Some(104)).is_none());
        assert_eq!((a.held(), a.stats().duplicates), (0, 1));
        a.hold(2, 5, 6, 0, b"q", true);
        a.clear(Some(2));
        assert_eq!(a.held(), 0);
    }
}
