//! A venue that pushes a snapshot on subscribing but may stop (`BookConfig::rest_fallback`, OKX):
//! the first message after (re)subscribing says how the book syncs; without a snapshot the diffs
//! are kept and aligned with an out-of-band one by OKX's procedure (stale, straddling, gap, a
//! snapshot older than the buffer).

use super::*;

fn okx() -> Book {
    Book::new(BookConfig { seq: SeqRule::PrevLinked, rest_fallback: true, ..BookConfig::default() })
}

fn bid(px: &str, qty: &str) -> [RawLevel; 1] {
    [lv(false, px, qty)]
}

/// The snapshot still comes: nothing is kept, nothing asked out of band, a gap resubscribes.
#[test]
fn a_pushed_snapshot_keeps_the_book_in_stream() {
    let mut b = okx();
    b.subscribed();
    assert_eq!(b.apply_snapshot(&bid("1", "5"), linked(-1, 10), None), Ok(Outcome::Applied));
    assert_eq!(b.apply_diff(&bid("2", "1"), linked(10, 12), None), Ok(Outcome::Applied));
    assert!(!b.out_of_band());
    assert_eq!(b.apply_diff(&bid("3", "1"), linked(14, 15), None), Ok(Outcome::Gap));
    assert_eq!((b.state(), b.need()), (SyncState::OutOfSync(OosReason::Gap), Some(Need::Resubscribe)));
    // Diffs before the resubscription took effect are dropped, as before.
    assert_eq!(b.apply_diff(&bid("3", "1"), linked(15, 16), None), Ok(Outcome::Ignored));
    assert_eq!(b.need(), Some(Need::Resubscribe));
    b.subscribed();
    assert_eq!(b.apply_snapshot(&bid("4", "1"), linked(-1, 20), None), Ok(Outcome::Applied));
    assert_eq!((b.is_synced(), b.out_of_band(), b.stats().buffered), (true, false, 0));
}

/// No snapshot: the first diff is kept and the book asks for one out of band. The REST snapshot
/// (seqId 102) falls inside a `books` message's 100 ms span (100 -> 104): the diffs up to it are
/// stale, that one applies (its levels are absolute), the next continues it.
#[test]
fn without_a_snapshot_the_diffs_wait_for_a_rest_one_and_a_straddling_diff_applies() {
    let mut b = okx();
    for (prev, last, px) in [(90, 95, "1"), (95, 100, "2"), (100, 104, "3"), (104, 106, "4")] {
        assert_eq!(b.check_message(&bid(px, "1"), linked(prev, last), false), Ok(()));
        assert_eq!(b.apply_diff(&bid(px, "1"), linked(prev, last), None), Ok(Outcome::Buffered));
    }
    assert_eq!((b.state(), b.need(), b.out_of_band()), (SyncState::Buffering, Some(Need::Snapshot), true));
    let snap = [lv(false, "2", "7"), lv(false, "1", "7"), lv(true, "9", "1")];
    assert_eq!(b.apply_snapshot(&snap, linked(NO_SEQ, 102), None), Ok(Outcome::Applied));
    assert!(b.is_synced());
    let mut top = [(0, 0); 4];
    assert_eq!(b.top(false, &mut top), 4);
    // 1 and 2 from the snapshot (their stale diffs not applied), 3 and 4 from the diffs.
    assert_eq!(top, [(4, 1), (3, 1), (2, 7), (1, 7)]);
    assert_eq!((b.last_id(), b.stats().stale, b.stats().diffs_applied), (106, 2, 2));
    assert_eq!(b.apply_diff(&bid("5", "1"), linked(106, 107), None), Ok(Outcome::Applied));
}

/// A REST snapshot older than the first kept diff (seqId 80 < prevSeqId 90) cannot be placed: the
/// book goes on keeping diffs and asks again; a newer one syncs it.
#[test]
fn a_rest_snapshot_older_than_the_kept_diffs_is_asked_again() {
    let mut b = okx();
    assert_eq!(b.apply_diff(&bid("1", "1"), linked(90, 95), None), Ok(Outcome::Buffered));
    assert_eq!(b.apply_snapshot(&bid("9", "9"), linked(NO_SEQ, 80), None), Ok(Outcome::Gap));
    assert_eq!((b.state(), b.need()), (SyncState::Resyncing, Some(Need::Snapshot)));
    assert_eq!(b.apply_diff(&bid("2", "1"), linked(95, 99), None), Ok(Outcome::Buffered));
    assert_eq!(b.apply_snapshot(&bid("8", "1"), linked(NO_SEQ, 93), None), Ok(Outcome::Applied));
    assert_eq!((b.is_synced(), b.last_id(), b.best_bid()), (true, 99, Some((8, 1))));
    assert_eq!(b.depth_qty(false, 10), 3);
}

/// A gap of a book synced out of band is resynced out of band: the diff that showed it is kept,
/// with the ones after it, for the next REST snapshot.
#[test]
fn a_later_gap_keeps_the_diffs_for_the_next_rest_snapshot() {
    let mut b = okx();
    b.apply_diff(&bid("1", "1"), linked(9, 10), None).unwrap();
    assert_eq!(b.apply_snapshot(&bid("1", "5"), linked(NO_SEQ, 10), None), Ok(Outcome::Applied));
    assert_eq!(b.apply_diff(&bid("2", "1"), linked(10, 12), None), Ok(Outcome::Applied));
    assert_eq!(b.apply_diff(&bid("3", "1"), linked(14, 16), None), Ok(Outcome::Gap));
    assert_eq!((b.state(), b.need()), (SyncState::Resyncing, Some(Need::Snapshot)));
    assert_eq!(b.apply_diff(&bid("4", "1"), linked(16, 17), None), Ok(Outcome::Buffered));
    assert_eq!(b.apply_snapshot(&bid("1", "6"), linked(NO_SEQ, 15), None), Ok(Outcome::Applied));
    assert_eq!((b.is_synced(), b.last_id(), b.stats().gaps, b.stats().resyncs), (true, 17, 1, 1));
    let mut top = [(0, 0); 3];
    assert_eq!(b.top(false, &mut top), 3);
    assert_eq!(top, [(4, 1), (3, 1), (1, 6)]);
}

/// The venue stops pushing while a book is in stream: its gap resubscribes, and the first message
/// after the venue confirmed the subscription is a diff — kept, a REST snapshot asked for. Diffs
/// before the confirmation (the old subscription's) are dropped as before.
#[test]
fn a_resubscription_answered_without_a_snapshot_turns_to_rest() {
    let mut b = okx();
    b.apply_snapshot(&bid("1", "5"), linked(-1, 10), None).unwrap();
    assert_eq!(b.apply_diff(&bid("3", "1"), linked(14, 15), None), Ok(Outcome::Gap));
    assert_eq!(b.apply_diff(&bid("3", "1"), linked(15, 16), None), Ok(Outcome::Ignored));
    b.subscribed();
    assert_eq!(b.apply_diff(&bid("4", "1"), linked(16, 18), None), Ok(Outcome::Buffered));
    assert_eq!((b.state(), b.need()), (SyncState::Resyncing, Some(Need::Snapshot)));
    assert_eq!(b.apply_snapshot(&bid("2", "2"), linked(NO_SEQ, 17), None), Ok(Outcome::Applied));
    assert_eq!((b.is_synced(), b.last_id(), b.best_bid()), (true, 18, Some((4, 1))));
    // A synced book's next resubscription (a reconnect) answered by a snapshot: back in stream.
    b.subscribed();
    assert_eq!(b.apply_snapshot(&bid("5", "1"), linked(-1, 30), None), Ok(Outcome::Applied));
    assert!(!b.out_of_band());
}

/// A refused first diff (a negative quantity) changes nothing: the book still waits for its first
/// message; a reset forgets what the book learnt.
#[test]
fn a_refused_first_diff_changes_nothing_and_a_reset_forgets() {
    let mut b = okx();
    let bad = [lv(false, "1", "-1")];
    assert!(b.check_message(&bad, linked(1, 2), false).is_err());
    assert_eq!(b.apply_diff(&bad, linked(1, 2), None), Err(BookError::NegativeQuantity));
    assert_eq!((b.state(), b.out_of_band(), b.stats().buffered), (SyncState::Empty, false, 0));
    assert_eq!(b.apply_snapshot(&bid("1", "1"), linked(-1, 5), None), Ok(Outcome::Applied));
    assert!(!b.out_of_band());
    let mut b = okx();
    b.apply_diff(&bid("1", "1"), linked(1, 2), None).unwrap();
    assert!(b.out_of_band());
    b.reset();
    assert_eq!((b.out_of_band(), b.need()), (false, None));
    // Other venues: a diff before the snapshot is dropped, whatever `subscribed` says.
    let mut b = Book::new(BookConfig { seq: SeqRule::PrevLinked, ..BookConfig::default() });
    b.subscribed();
    assert_eq!(b.apply_diff(&bid("1", "1"), linked(1, 2), None), Ok(Outcome::Ignored));
    assert!(!b.out_of_band());
}

/// OKX's procedure begins "Ignore the first event received (action is snapshot)": should that
/// first snapshot come without a level, it is no snapshot — an empty book reported synced — but
/// the sign that the book's snapshots come out of band. A later empty snapshot is a book's.
#[test]
fn a_first_snapshot_without_a_level_is_no_snapshot() {
    let mut b = okx();
    assert_eq!(b.check_message(&[], linked(-1, 10), true), Ok(()));
    assert_eq!(b.apply_snapshot(&[], linked(-1, 10), None), Ok(Outcome::Buffered));
    assert_eq!((b.state(), b.need(), b.is_synced()), (SyncState::Buffering, Some(Need::Snapshot), false));
    assert_eq!(b.apply_diff(&bid("2", "1"), linked(10, 12), None), Ok(Outcome::Buffered));
    assert_eq!(b.apply_snapshot(&bid("1", "5"), linked(NO_SEQ, 11), None), Ok(Outcome::Applied));
    assert_eq!((b.is_synced(), b.last_id(), b.depth_qty(false, 5)), (true, 12, 6));
    // Synced, an empty snapshot not first after a subscription empties the book.
    let mut b = okx();
    b.apply_snapshot(&bid("1", "5"), linked(-1, 10), None).unwrap();
    assert_eq!(b.apply_snapshot(&[], linked(-1, 11), None), Ok(Outcome::Applied));
    assert_eq!((b.is_synced(), b.best_bid()), (true, None));
}

/// A/B lines (and a line renewed beside its old connection) share the book: another line's
/// subscription is confirmed while this line's diffs go on continuing the synced book, and that
/// line's pushed snapshot is then dropped by the arbiter as a copy (not newer than the book). A diff
/// that continues a synced book says nothing about whether the venue pushes snapshots: the book
/// stays in stream, and its next gap resubscribes (no REST book is asked while snapshots come).
#[test]
fn another_lines_subscription_does_not_turn_a_synced_book_to_rest() {
    let mut b = okx();
    b.subscribed();
    assert_eq!(b.apply_snapshot(&bid("1", "5"), linked(-1, 10), None), Ok(Outcome::Applied));
    assert_eq!(b.apply_diff(&bid("2", "1"), linked(10, 12), None), Ok(Outcome::Applied));
    b.subscribed(); // line B reconnected; its snapshot (at 12 or 13) is the arbiter's duplicate
    assert_eq!(b.check_message(&bid("3", "1"), linked(12, 13), false), Ok(()));
    assert_eq!(b.apply_diff(&bid("3", "1"), linked(12, 13), None), Ok(Outcome::Applied));
    assert!(!b.out_of_band());
    assert_eq!(b.apply_diff(&bid("4", "1"), linked(15, 16), None), Ok(Outcome::Gap));
    assert_eq!((b.need(), b.stats().buffered), (Some(Need::Resubscribe), 0));
    // A synced book whose first message after a resubscription shows a gap learns it all the same
    // (a reconnect the venue answered without a snapshot): its diffs are kept for a REST one.
    let mut b = okx();
    b.apply_snapshot(&bid("1", "5"), linked(-1, 10), None).unwrap();
    b.subscribed();
    assert_eq!(b.apply_diff(&bid("2", "1"), linked(14, 15), None), Ok(Outcome::Gap));
    assert_eq!((b.out_of_band(), b.state(), b.need()), (true, SyncState::Resyncing, Some(Need::Snapshot)));
}
