//! Per-venue sequence rules and the sync state of a book.
//!
//! A rule looks at a diff's sequence fields and the book's last applied id and answers: apply it,
//! skip it as already covered by the snapshot (stale), or stop because messages were lost (gap).

/// Missing sequence field.
pub const NO_SEQ: i64 = i64::MIN;

/// Sequence fields of one message. Venue grammars fill what the venue sends, `NO_SEQ` elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqInfo {
    /// First update id covered (Binance `U`), or the message's own id when it has just one.
    pub first: i64,
    /// Last update id covered (Binance `u`, OKX `seqId`, HTX `seqNum`, Bybit `u`, seed `seq`).
    pub last: i64,
    /// The id the venue says precedes this message (Binance futures `pu`, OKX `prevSeqId`, HTX
    /// `prevSeqNum`, seed `prev_seq`).
    pub prev: i64,
}

impl SeqInfo {
    /// A snapshot that names a `prev` at or above its own `last`: its source restarted its
    /// numbering after `prev` (a bus gateway's restart snapshot, `crate::bus`), so an id at or below
    /// the book's says nothing of how old the snapshot is. Only meaningful on a snapshot (a venue's
    /// names a `prev` below its id, or none): on a diff the same shape is an ordinary reset (OKX
    /// `seqId` below `prevSeqId`) or heartbeat, which the rules link by `prev`.
    pub fn restarts(&self) -> bool {
        self.prev != NO_SEQ && self.last != NO_SEQ && self.last <= self.prev
    }
}

impl Default for SeqInfo {
    fn default() -> Self {
        SeqInfo { first: NO_SEQ, last: NO_SEQ, prev: NO_SEQ }
    }
}

/// How a venue chains its book messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeqRule {
    /// No sequence (Kraken: checksums instead). Every diff applies.
    #[default]
    None,
    /// Binance spot (`U`/`u`): skip `u <= id`, gap if `U > id + 1`, then `id = u`.
    BinanceSpot,
    /// Binance USDⓈ-M: first diff after the snapshot needs `U <= id <= u`; later ones `pu == id`.
    BinanceFutures,
    /// `prev == id` (OKX `prevSeqId`, HTX mbp `prevSeqNum`, Clarofinlore/Tradefence `prev_seq`).
    /// OKX idle heartbeats (`prevSeqId == seqId`) and resets (`seqId < prevSeqId`) satisfy it too.
    /// Right after a snapshot, diffs whose id is not past the snapshot are stale (HTX alignment),
    /// and one whose span holds it (`prev < id < last`) applies: an out-of-band snapshot taken in
    /// the middle of a message's span (OKX `books` aggregates 100 ms), which carries the absolute
    /// quantity of every level changed in it (OKX's "prevSeqId <= snapshot seqId < seqId").
    PrevLinked,
    /// Ids only grow (Bybit `u`); no gap can be proven, older ids are skipped.
    Increasing,
    /// tickwire's bus (`crate::bus`): `prev`/`last` are the ids before and after a message that
    /// carries the absolute quantity of every level changed in between. It continues the book at
    /// `prev` (a venue reset, `last < prev`, included) and also at any id inside `prev..last`: the
    /// levels that changed since then are among the ones it carries, so two gateways that took
    /// their deltas at different moments feed one consumer in any interleaving. `last <= id` is
    /// stale, `prev > id` a gap.
    Covering,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    Stale,
    Gap,
}

/// Decides what to do with a diff. `id` is the book's last applied id (the snapshot's id right
/// after a snapshot) and `fresh` is true until the first diff after a snapshot has applied.
pub fn check(rule: SeqRule, id: i64, fresh: bool, m: &SeqInfo) -> Verdict {
    match rule {
        SeqRule::None => Verdict::Apply,
        SeqRule::BinanceSpot => {
            if id == NO_SEQ {
                Verdict::Apply
            } else if m.last <= id {
                Verdict::Stale
            } else if m.first > id + 1 {
                Verdict::Gap
            } else {
                Verdict::Apply
            }
        }
        SeqRule::BinanceFutures => {
            if id == NO_SEQ {
                Verdict::Apply
            } else if fresh {
                if m.last < id {
                    Verdict::Stale
                } else if m.first > id {
                    Verdict::Gap
                } else {
                    Verdict::Apply
                }
            } else if m.prev == id {
                Verdict::Apply
            } else if m.last <= id {
                Verdict::Stale
            } else {
                Verdict::Gap
            }
        }
        SeqRule::PrevLinked => {
            if m.prev == NO_SEQ || id == NO_SEQ || m.prev == id {
                Verdict::Apply
            } else if fresh && m.last != NO_SEQ && m.last <= id {
                Verdict::Stale
            } else if fresh && m.last != NO_SEQ && m.prev < id {
                Verdict::Apply
            } else {
                Verdict::Gap
            }
        }
        SeqRule::Increasing => {
            if id == NO_SEQ || m.last == NO_SEQ || m.last > id {
                Verdict::Apply
            } else {
                Verdict::Stale
            }
        }
        SeqRule::Covering => {
            if id == NO_SEQ || m.prev == id {
                Verdict::Apply
            } else if m.last <= id {
                Verdict::Stale
            } else if m.prev < id {
                Verdict::Apply
            } else {
                Verdict::Gap
            }
        }
    }
}

/// Why a book stopped being trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OosReason {
    Gap,
    Checksum,
    Crossed,
    /// The source the book is copied from lost its own copy (a bus gateway's venue book).
    Upstream,
}

/// Where a book is in its life. Only `Synced` books are reported as synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncState {
    /// Nothing received yet.
    #[default]
    Empty,
    /// Diffs are being buffered until a snapshot arrives (REST-snapshot venues).
    Buffering,
    Synced,
    /// The book is wrong; it waits for a new snapshot.
    OutOfSync(OosReason),
    /// Out of sync earlier; diffs are being buffered again for the next snapshot.
    Resyncing,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(first: i64, last: i64, prev: i64) -> SeqInfo {
        SeqInfo { first, last, prev }
    }

    #[test]
    fn binance_spot_official_steps() {
        let r = SeqRule::BinanceSpot;
        // Snapshot lastUpdateId = 100.
        assert_eq!(check(r, 100, true, &m(90, 100, NO_SEQ)), Verdict::Stale);
        assert_eq!(check(r, 100, true, &m(95, 105, NO_SEQ)), Verdict::Apply);
        assert_eq!(check(r, 100, true, &m(101, 105, NO_SEQ)), Verdict::Apply);
        assert_eq!(check(r, 100, true, &m(102, 105, NO_SEQ)), Verdict::Gap);
    }

    #[test]
    fn binance_futures_first_then_pu() {
        let r = SeqRule::BinanceFutures;
        assert_eq!(check(r, 100, true, &m(90, 99, 80)), Verdict::Stale);
        assert_eq!(check(r, 100, true, &m(95, 110, 80)), Verdict::Apply);
        assert_eq!(check(r, 100, true, &m(101, 110, 80)), Verdict::Gap);
        assert_eq!(check(r, 110, false, &m(111, 120, 110)), Verdict::Apply);
        assert_eq!(check(r, 110, false, &m(115, 120, 112)), Verdict::Gap);
    }

    #[test]
    fn okx_doc_chain_with_heartbeat_and_reset() {
        // OKX doc: snapshot (-1 -> 10), (10 -> 15), (15 -> 15), reset (15 -> 3), (3 -> 5).
        let r = SeqRule::PrevLinked;
        let mut id = 10;
        for (prev, seq) in [(10, 15), (15, 15), (15, 3), (3, 5)] {
            assert_eq!(check(r, id, false, &m(seq, seq, prev)), Verdict::Apply);
            id = seq;
        }
        assert_eq!(check(r, id, false, &m(8, 8, 6)), Verdict::Gap);
    }

    #[test]
    fn htx_alignment_skips_cached_increments_before_refresh() {
        let r = SeqRule::PrevLinked;
        assert_eq!(check(r, 200, true, &m(199, 199, 198)), Verdict::Stale);
        assert_eq!(check(r, 200, true, &m(200, 200, 199)), Verdict::Stale);
        assert_eq!(check(r, 200, true, &m(201, 201, 200)), Verdict::Apply);
        assert_eq!(check(r, 200, true, &m(203, 203, 202)), Verdict::Gap);
    }

    #[test]
    fn okx_rest_alignment_takes_a_diff_straddling_the_snapshot() {
        // OKX's procedure for a REST snapshot (seqId 100): diffs up to it are stale, the first kept
        // satisfies prevSeqId <= 100 < seqId, a later one must not start past the book.
        let r = SeqRule::PrevLinked;
        assert_eq!(check(r, 100, true, &m(97, 97, 95)), Verdict::Stale);
        assert_eq!(check(r, 100, true, &m(100, 100, 97)), Verdict::Stale);
        assert_eq!(check(r, 100, true, &m(104, 104, 97)), Verdict::Apply);
        assert_eq!(check(r, 100, true, &m(104, 104, 100)), Verdict::Apply);
        assert_eq!(check(r, 100, true, &m(106, 106, 101)), Verdict::Gap);
        // Once a diff applied, only prevSeqId == the book's id continues it.
        assert_eq!(check(r, 104, false, &m(107, 107, 102)), Verdict::Gap);
    }

    #[test]
    fn covering_continues_from_prev_or_inside_the_span() {
        let r = SeqRule::Covering;
        // Book at 100: (100 -> 105) continues it; (98 -> 103) covers 101..=103 with absolute levels.
        assert_eq!(check(r, 100, false, &m(101, 105, 100)), Verdict::Apply);
        assert_eq!(check(r, 100, false, &m(99, 103, 98)), Verdict::Apply);
        assert_eq!(check(r, 100, false, &m(96, 100, 95)), Verdict::Stale);
        assert_eq!(check(r, 100, false, &m(103, 104, 102)), Verdict::Gap);
        // A venue that restarts its numbering (OKX seqId below prevSeqId) still links by prev.
        assert_eq!(check(r, 100, false, &m(101, 3, 100)), Verdict::Apply);
        assert_eq!(check(r, NO_SEQ, true, &m(5, 6, 4)), Verdict::Apply);
    }

    #[test]
    fn increasing_never_gaps() {
        let r = SeqRule::Increasing;
        assert_eq!(check(r, 5, false, &m(9, 9, NO_SEQ)), Verdict::Apply);
        assert_eq!(check(r, 5, false, &m(5, 5, NO_SEQ)), Verdict::Stale);
    }
}
