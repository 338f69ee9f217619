//! Snapshots placed against a book by the venue's rule (`book::sync`): Binance's buffered diffs and a
//! snapshot too old, a late out-of-band snapshot no newer than the book, restart and pushed
//! snapshots, the buffer's bound, a gap while synced.

use super::*;

/// Two connections of one stream buffer while the book waits for its snapshot: the one ahead's
/// newer diffs come before the older ones of the one behind (a line renewed beside its lagging old
/// connection). Replayed in sequence order, the snapshot connects; in arrival order the first was a
/// gap and the snapshot was fetched again.
#[test]
fn buffered_diffs_of_two_connections_replay_in_sequence_order() {
    let futures = |first, last, prev| SeqInfo { first, last, prev };
    for rule in [SeqRule::BinanceSpot, SeqRule::BinanceFutures] {
        let cfg = BookConfig { seq: rule, rest_snapshot: true, ..BookConfig::default() };
        let mut b = Book::new(cfg);
        // Ahead: 106-108 then 109-110; behind: 100-102, 103-105, and 106-108 again.
        for (first, last, prev, px) in [
            (106, 108, 105, "3"),
            (109, 110, 108, "4"),
            (100, 102, 99, "1"),
            (103, 105, 102, "2"),
            (106, 108, 105, "3"),
        ] {
            let got = b.apply_diff(&[lv(false, px, "1")], futures(first, last, prev), None).unwrap();
            assert_eq!(got, Outcome::Buffered, "{rule:?}");
        }
        let snap = [lv(false, "1", "5"), lv(true, "9", "1")];
        assert_eq!(b.apply_snapshot(&snap, seq(0, 101), None).unwrap(), Outcome::Applied, "{rule:?}");
        assert!(b.is_synced(), "{rule:?}");
        assert_eq!((b.last_id(), b.best_bid(), b.stats().gaps), (110, Some((4, 1)), 0), "{rule:?}");
        // 100-102 straddles the snapshot (applied); 106-108 a second time is stale.
        assert_eq!((b.depth_qty(false, 10), b.stats().stale), (4, 1), "{rule:?}");
    }
}

#[test]
fn binance_buffering_and_too_old_snapshot() {
    let cfg = BookConfig { seq: SeqRule::BinanceSpot, rest_snapshot: true, ..BookConfig::default() };
    let mut b = Book::new(cfg);
    assert_eq!(b.apply_diff(&[lv(false, "1", "1")], seq(100, 102), None).unwrap(), Outcome::Buffered);
    assert_eq!(b.apply_diff(&[lv(false, "2", "1")], seq(103, 105), None).unwrap(), Outcome::Buffered);
    assert_eq!(b.state(), SyncState::Buffering);
    // Snapshot older than the first buffered event: refetch, buffer kept.
    assert_eq!(b.apply_snapshot(&[], seq(0, 90), None).unwrap(), Outcome::Gap);
    assert_eq!(b.state(), SyncState::Resyncing);
    assert!(!b.is_synced());
    // A snapshot inside the first event's range connects; 102 covers diff 1, diff 2 applies.
    assert_eq!(b.apply_snapshot(&[lv(false, "1", "9")], seq(0, 102), None).unwrap(), Outcome::Applied);
    assert!(b.is_synced());
    assert_eq!(b.last_id(), 105);
    assert_eq!(b.best_bid(), Some((2, 1)));
    assert_eq!(b.depth_qty(false, 10), 10);
}

/// HTX resyncs by `req` on the socket: the answer to a superseded request, arriving after a later
/// one synced the book and diffs moved it on, is older than the book and must not replace it.
#[test]
fn a_late_out_of_band_snapshot_no_newer_than_the_synced_book_is_stale() {
    let cfg = BookConfig { seq: SeqRule::PrevLinked, rest_snapshot: true, ..BookConfig::default() };
    let mut b = Book::new(cfg);
    assert_eq!(b.apply_diff(&[lv(false, "1", "1")], linked(200, 201), None).unwrap(), Outcome::Buffered);
    assert_eq!(
        b.apply_snapshot(&[lv(false, "1", "5")], linked(NO_SEQ, 200), None).unwrap(),
        Outcome::Applied
    );
    assert_eq!(b.apply_diff(&[lv(false, "2", "7")], linked(201, 202), None).unwrap(), Outcome::Applied);
    let state = |b: &Book| format!("{:?} {:?} {} {:?}", b.bids(), b.asks(), b.last_id(), b.state());
    let before = state(&b);
    for (k, late) in [150, 202].into_iter().enumerate() {
        let old = [lv(false, "1", "9"), lv(true, "3", "1")];
        assert_eq!(b.check_message(&old, linked(NO_SEQ, late), true), Ok(()));
        let want = if late == 202 { Outcome::Duplicate } else { Outcome::Stale };
        assert_eq!(b.apply_snapshot(&old, linked(NO_SEQ, late), None).unwrap(), want);
        assert_eq!((state(&b), b.stats().stale), (before.clone(), k as u64 + 1));
    }
    // The next diff still links to the book's own id; a newer snapshot replaces it.
    assert_eq!(b.apply_diff(&[lv(false, "2", "8")], linked(202, 203), None).unwrap(), Outcome::Applied);
    assert_eq!(
        b.apply_snapshot(&[lv(false, "4", "1")], linked(NO_SEQ, 210), None).unwrap(),
        Outcome::Applied
    );
    assert_eq!((b.last_id(), b.best_bid()), (210, Some((4, 1))));
    // Out of sync, any snapshot is what the book waits for.
    b.invalidate(OosReason::Gap);
    assert_eq!(
        b.apply_snapshot(&[lv(false, "5", "1")], linked(NO_SEQ, 205), None).unwrap(),
        Outcome::Applied
    );
    assert_eq!((b.last_id(), b.best_bid(), b.is_synced()), (205, Some((5, 1)), true));
}

/// A restart snapshot (a bus gateway's, `prev` at or above `last`: the numbering started over after
/// `prev`) meets a synced out-of-band book whose id is of the old numbering or of the new one.
#[test]
fn a_restart_snapshot_applies_where_it_can_be_placed_and_the_book_goes_out_of_sync_elsewhere() {
    let cfg = BookConfig { seq: SeqRule::Covering, rest_snapshot: true, ..BookConfig::default() };
    let at = |id: i64| {
        let mut b = Book::new(cfg.clone());
        b.apply_snapshot(&[lv(false, "1", "1")], linked(NO_SEQ, id), None).unwrap();
        b
    };
    let restart = [lv(false, "2", "3")];
    // (book id, prev, last) -> applied; else out of sync, nothing of the snapshot taken.
    for (id, prev, last, applies) in [
        (101, 101, 1, true),   // the numbering the book follows restarted
        (101, 101, 101, true), // ... and climbed back to the book's id
        (5, 101, 7, true),     // newer than the book in either numbering
        (5, 101, 1, false),    // an A/B line's late copy of a restart taken, or one after a loss
        (100, 101, 1, false),  // the book lost the delta to 101, then the restart
        (5, 5, 5, true),       // at the book's id: the restart of what the book holds
    ] {
        let mut b = at(id);
        assert_eq!(b.check_message(&restart, linked(prev, last), true), Ok(()));
        let o = b.apply_snapshot(&restart, linked(prev, last), None).unwrap();
        let case = (id, prev, last);
        if applies {
            assert_eq!(
                (o, b.last_id(), b.best_bid(), b.is_synced()),
                (Outcome::Applied, last, Some((2, 3)), true)
            );
        } else {
            assert_eq!(
                (o, b.state(), b.need()),
                (Outcome::Gap, SyncState::OutOfSync(OosReason::Gap), Some(Need::Snapshot)),
                "{case:?}"
            );
            assert_eq!((b.last_id(), b.best_bid(), b.stats().gaps), (id, Some((1, 1)), 1), "{case:?}");
            // Any snapshot is what it waits for now.
            assert_eq!(b.apply_snapshot(&restart, linked(prev, last), None), Ok(Outcome::Applied));
        }
    }
    // An ordinary snapshot at or below the book is still stale; one not synced takes a restart.
    let mut b = at(101);
    assert_eq!(b.apply_snapshot(&restart, linked(NO_SEQ, 1), None), Ok(Outcome::Stale));
    b.invalidate(OosReason::Upstream);
    assert_eq!(b.apply_snapshot(&restart, linked(101, 1), None), Ok(Outcome::Applied));
}

/// A pushed snapshot (OKX after its numbering restarts, Bybit's `u = 1` after a service restart) is
/// the venue saying "start over": it applies whatever its id.
#[test]
fn a_pushed_snapshot_applies_whatever_its_id() {
    let mut b = Book::new(BookConfig { seq: SeqRule::PrevLinked, ..BookConfig::default() });
    b.apply_snapshot(&[lv(false, "1", "5")], linked(NO_SEQ, 500), None).unwrap();
    assert_eq!(b.apply_snapshot(&[lv(false, "2", "1")], linked(NO_SEQ, 3), None).unwrap(), Outcome::Applied);
    assert_eq!((b.last_id(), b.best_bid()), (3, Some((2, 1))));
}

#[test]
fn buffer_is_bounded_while_waiting_for_a_snapshot() {
    let cfg = BookConfig {
        seq: SeqRule::BinanceSpot,
        rest_snapshot: true,
        max_buffered_levels: 3,
        ..BookConfig::default()
    };
    let mut b = Book::new(cfg);
    let two = [lv(false, "1", "1"), lv(false, "2", "1")];
    assert_eq!(b.apply_diff(&two, seq(1, 1), None).unwrap(), Outcome::Buffered);
    assert_eq!(b.apply_diff(&two, seq(2, 2), None), Err(BookError::BufferFull(2)));
    // Older diffs were dropped; buffering resumes and a snapshot connects to the newer ones.
    assert_eq!(b.apply_diff(&two[..1], seq(3, 3), None).unwrap(), Outcome::Buffered);
    assert_eq!(b.apply_snapshot(&[lv(true, "5", "1")], seq(0, 2), None).unwrap(), Outcome::Applied);
    assert_eq!(b.last_id(), 3);
    assert_eq!(b.best_bid(), Some((1, 1)));
}

#[test]
fn binance_gap_while_synced_buffers_for_the_next_snapshot() {
    let cfg = BookConfig { seq: SeqRule::BinanceSpot, rest_snapshot: true, ..BookConfig::default() };
    let mut b = Book::new(cfg);
    b.apply_snapshot(&[lv(false, "1", "1")], seq(0, 10), None).unwrap();
    assert_eq!(b.apply_diff(&[lv(false, "2", "1")], seq(11, 12), None).unwrap(), Outcome::Applied);
    // 13..14 lost: the next diff is a gap, kept for the resync.
    assert_eq!(b.apply_diff(&[lv(false, "3", "1")], seq(15, 16), None).unwrap(), Outcome::Gap);
    assert_eq!(b.state(), SyncState::Resyncing);
    assert!(!b.is_synced());
    assert_eq!(b.apply_diff(&[lv(false, "4", "1")], seq(17, 17), None).unwrap(), Outcome::Buffered);
    // New snapshot at 15 connects to the buffered 15..16, then 17.
    assert_eq!(b.apply_snapshot(&[lv(false, "1", "5")], seq(0, 15), None).unwrap(), Outcome::Applied);
    assert!(b.is_synced());
    assert_eq!(b.last_id(), 17);
    let mut top = [(0, 0); 3];
    assert_eq!(b.top(false, &mut top), 3);
    assert_eq!(top, [(4, 1), (3, 1), (1, 5)]);
    assert_eq!(b.stats().gaps, 1);
}
