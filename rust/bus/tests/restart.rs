//! A venue that restarts its update ids (Bybit's `u = 1` after a service restart), followed through
//! the bus: the restart snapshot, a lagging gateway's older copy, two gateways through a restart.

use super::*;

/// A Bybit-like book: `u` only grows, and a pushed snapshot applies whatever its id (Bybit sends
/// one at `u = 1` after its service restarted).
fn increasing_gateway() -> Book {
    let mut b = Book::new(BookConfig { seq: SeqRule::Increasing, ..BookConfig::default() });
    b.set_journal(true);
    b
}

fn u(u: i64) -> SeqInfo {
    SeqInfo { first: u, last: u, prev: NO_SEQ }
}

/// (kind, restart flag, venue_prev, venue_last) of a message.
fn head(msg: &[u8]) -> (Kind, bool, i64, i64) {
    let h = Message::parse(msg).unwrap().header;
    (h.kind, h.flags & wire::FLAG_RESTART != 0, h.venue_prev, h.venue_last)
}

/// Sends `msg` to `c`; what it did, and whether `c`'s book is synced and equal to the gateway's.
fn deliver(c: &mut Feed, msg: &[u8], g: &Book) -> (Vec<(u32, Outcome)>, bool) {
    let out = c.on_frame(msg).unwrap().updates.clone();
    let cb = c.book(SYM).unwrap();
    (out, cb.is_synced() && shape(cb) == shape(g))
}

#[test]
fn a_venue_that_restarts_its_numbering_is_followed_through_the_bus() {
    let (mut g, mut tx, mut c) = (increasing_gateway(), BookTx::default(), consumer());
    g.apply_snapshot(&[lv(false, "99", "1"), lv(false, "98", "2"), lv(true, "101", "1")], u(100), None)
        .unwrap();
    publish(&mut g, &mut tx, &mut c);
    g.apply_diff(&[lv(false, "99", "3")], u(101), None).unwrap();
    publish(&mut g, &mut tx, &mut c);
    assert_eq!(c.book(SYM).unwrap().last_id(), 101);

    // The venue restarts at u = 1: the gateway's book takes the pushed snapshot, and the message
    // says where the numbering restarted from. Before, the consumer dropped it (1 is below 101) and
    // every delta after it, keeping the old book in sync.
    assert_eq!(
        g.apply_snapshot(&[lv(false, "97", "5"), lv(true, "101", "1")], u(1), None),
        Ok(Outcome::Applied)
    );
    let restart = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&restart), (Kind::Snapshot, true, 101, 1));
    assert_eq!(deliver(&mut c, &restart, &g), (vec![(0, Outcome::Applied)], true));
    assert_eq!(c.book(SYM).unwrap().last_id(), 1);
    g.apply_diff(&[lv(false, "97", "6")], u(2), None).unwrap();
    let next = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&next), (Kind::Delta, false, 1, 2));
    assert_eq!(deliver(&mut c, &next, &g), (vec![(0, Outcome::Applied)], true));
    let mut served = Vec::new();
    snapshot_message(&g, &tx, SYM, 0, &mut served).unwrap();
    assert_eq!(head(&served), (Kind::Snapshot, false, 2, 2), "published: an ordinary snapshot");

    // Restarted again, and the new numbering is back at the consumer's id before the gateway
    // publishes: same id, other levels.
    g.apply_snapshot(&[lv(false, "96", "1"), lv(true, "101", "1")], u(1), None).unwrap();
    g.apply_diff(&[lv(false, "96", "2")], u(2), None).unwrap();
    snapshot_message(&g, &tx, SYM, 0, &mut served).unwrap();
    assert_eq!(head(&served), (Kind::Snapshot, true, 2, 2), "served before it is published");
    let msg = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&msg), (Kind::Snapshot, true, 2, 2));
    assert_eq!(deliver(&mut c, &msg, &g), (vec![(0, Outcome::Applied)], true));

    // The gateway's venue connection drops (its out-of-sync message lost on the way) and the new
    // connection numbers from 1.
    g.reset();
    assert_eq!(take(&mut g, &mut tx).map(|m| head(&m).0), Some(Kind::OutOfSync));
    g.apply_snapshot(&[lv(false, "95", "1"), lv(true, "101", "2")], u(1), None).unwrap();
    let msg = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&msg), (Kind::Snapshot, true, 2, 1));
    assert_eq!(deliver(&mut c, &msg, &g), (vec![(0, Outcome::Applied)], true));

    // A consumer that lost the last delta before a restart cannot place it (it might be an A/B
    // line's late copy of a restart already taken): out of sync, until a served snapshot.
    g.apply_diff(&[lv(false, "95", "3")], u(40), None).unwrap();
    publish(&mut g, &mut tx, &mut c);
    g.apply_diff(&[lv(false, "95", "4")], u(41), None).unwrap();
    let _lost = take(&mut g, &mut tx).unwrap();
    g.apply_snapshot(&[lv(false, "94", "1"), lv(true, "101", "2")], u(1), None).unwrap();
    let msg = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&msg), (Kind::Snapshot, true, 41, 1));
    assert_eq!(deliver(&mut c, &msg, &g), (vec![(0, Outcome::Gap)], false));
    assert_eq!(c.needs().collect::<Vec<_>>(), vec![(0, crate::book::Need::Snapshot)]);
    g.apply_diff(&[lv(false, "94", "2")], u(2), None).unwrap();
    let buffered = take(&mut g, &mut tx).unwrap();
    assert_eq!(c.on_frame(&buffered).unwrap().updates, vec![(0, Outcome::Buffered)]);
    snapshot_message(&g, &tx, SYM, 0, &mut served).unwrap();
    c.on_snapshot(SYM, &served).unwrap();
    let cb = c.book(SYM).unwrap();
    assert!(cb.is_synced() && shape(cb) == shape(&g) && cb.last_id() == 2);
    assert_eq!(cb.stats().resyncs, 1);
}

#[test]
fn a_restart_flag_anywhere_but_on_a_restart_snapshot_is_a_decode_error() {
    let mut g = increasing_gateway();
    let mut tx = BookTx::default();
    g.apply_snapshot(&[lv(false, "1", "1")], u(10), None).unwrap();
    let snap = take(&mut g, &mut tx).unwrap();
    g.apply_diff(&[lv(false, "1", "2")], u(11), None).unwrap();
    let delta = take(&mut g, &mut tx).unwrap();
    let flagged = |m: &[u8], prev: i64| {
        let mut m = m.to_vec();
        m[wire::OFF_FLAGS] = wire::FLAG_RESTART | 0x80;
        m[wire::OFF_VENUE_PREV..wire::OFF_VENUE_LAST].copy_from_slice(&prev.to_le_bytes());
        m
    };
    // Above (or at) its id: a restart snapshot; the reserved bit is ignored.
    assert_eq!(head(&flagged(&snap, 11)), (Kind::Snapshot, true, 11, 10));
    assert_eq!(head(&flagged(&snap, 10)), (Kind::Snapshot, true, 10, 10));
    let bad = DecodeError::BusInvalid { what: "flags", value: (wire::FLAG_RESTART | 0x80) as i64 };
    for m in [flagged(&snap, 9), flagged(&snap, NO_VENUE_ID), flagged(&delta, 12)] {
        assert_eq!(Message::parse(&m).unwrap_err(), bad);
        let mut c = consumer();
        assert!(matches!(c.on_frame(&m), Err(FeedError::Codec(e)) if e == bad));
        assert!(c.is_empty());
    }
}

#[test]
fn a_lagging_gateways_older_snapshot_does_not_replace_a_newer_book() {
    for arbitrated in [false, true] {
        let (mut ga, mut gb) = (gateway(0), gateway(0));
        let (mut ta, mut tb) = (BookTx::default(), BookTx { gseq: 5000, ..BookTx::default() });
        let mut c = consumer();
        if arbitrated {
            c.set_arbitration(Some(1_000_000_000), 1024);
        }
        let linked = |i: i64| SeqInfo { first: i, last: i, prev: i - 1 };
        let first = [lv(false, "10", "1"), lv(true, "11", "1")];
        for (g, tx) in [(&mut ga, &mut ta), (&mut gb, &mut tb)] {
            g.apply_snapshot(&first, SeqInfo { last: 10, ..SeqInfo::default() }, None).unwrap();
            let m = take(g, tx).unwrap();
            c.on_frame(&m).unwrap();
            g.apply_diff(&[lv(false, "10", "2")], linked(11), None).unwrap();
            let m = take(g, tx).unwrap();
            c.on_frame(&m).unwrap();
        }
        for i in 12..=14 {
            ga.apply_diff(&[lv(false, "9", &i.to_string())], linked(i), None).unwrap();
            let m = take(&mut ga, &mut ta).unwrap();
            assert_eq!(deliver(&mut c, &m, &ga), (vec![(0, Outcome::Applied)], true));
        }
        // Line B loses its book at the venue and resyncs with a snapshot at 12: newer than what B
        // published (no restart), older than the consumer's book.
        gb.invalidate(OosReason::Gap);
        let oos = take(&mut gb, &mut tb).unwrap();
        assert!(deliver(&mut c, &oos, &ga).1, "B's loss is behind the book: {arbitrated}");
        gb.apply_snapshot(
            &[lv(false, "10", "2"), lv(false, "9", "12"), lv(true, "11", "1")],
            linked(12),
            None,
        )
        .unwrap();
        let late = take(&mut gb, &mut tb).unwrap();
        assert_eq!(head(&late), (Kind::Snapshot, false, 12, 12));
        let want = if arbitrated { Outcome::Duplicate } else { Outcome::Stale };
        assert_eq!(deliver(&mut c, &late, &ga), (vec![(0, want)], true), "arbitrated {arbitrated}");
        assert_eq!(c.book(SYM).unwrap().last_id(), 14);
        // A then continues the book; B's late deltas change nothing.
        ga.apply_diff(&[lv(true, "11", "0"), lv(true, "12", "3")], linked(15), None).unwrap();
        let m = take(&mut ga, &mut ta).unwrap();
        assert_eq!(deliver(&mut c, &m, &ga), (vec![(0, Outcome::Applied)], true));
        gb.apply_diff(&[lv(false, "9", "13")], linked(13), None).unwrap();
        let m = take(&mut gb, &mut tb).unwrap();
        assert!(deliver(&mut c, &m, &ga).1);
        assert_eq!(c.book(SYM).unwrap().stats().gaps, 0);
    }
}

#[test]
fn two_gateways_through_a_venue_restart_take_it_once_and_never_roll_the_book_back() {
    let (mut ga, mut gb) = (increasing_gateway(), increasing_gateway());
    let (mut ta, mut tb) = (BookTx::default(), BookTx { gseq: 5000, ..BookTx::default() });
    let mut c = consumer();
    let hold = 1_000;
    c.set_arbitration(Some(hold), 1024);
    let both = |ga: &mut Book, gb: &mut Book, snapshot: bool, ls: &[RawLevel], id: i64| {
        for g in [ga, gb] {
            let r = if snapshot { g.apply_snapshot(ls, u(id), None) } else { g.apply_diff(ls, u(id), None) };
            assert_eq!(r, Ok(Outcome::Applied));
        }
    };
    let at = |c: &mut Feed, now: i64, m: &[u8], g: &Book| {
        c.set_now(now);
        deliver(c, m, g)
    };
    both(&mut ga, &mut gb, true, &[lv(false, "99", "1"), lv(true, "101", "1")], 100);
    for (g, tx) in [(&mut ga, &mut ta), (&mut gb, &mut tb)] {
        let m = take(g, tx).unwrap();
        assert!(at(&mut c, 0, &m, g).1);
    }

    // The venue's last update before it restarts, then the restart: A's messages come first, B's
    // copies late (B's last update after A's restart), but within the hold time.
    both(&mut ga, &mut gb, false, &[lv(false, "99", "2")], 101);
    let (la, lb) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 5, &la, &ga), (vec![(0, Outcome::Applied)], true));
    both(&mut ga, &mut gb, true, &[lv(false, "97", "5"), lv(true, "101", "1")], 1);
    let (ra, rb) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!((head(&ra), head(&rb)), ((Kind::Snapshot, true, 101, 1), (Kind::Snapshot, true, 101, 1)));
    assert_eq!(at(&mut c, 10, &ra, &ga), (vec![(0, Outcome::Applied)], true));
    both(&mut ga, &mut gb, false, &[lv(false, "97", "6")], 2);
    let (da, db) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 20, &da, &ga), (vec![(0, Outcome::Applied)], true));
    // B's last update of the old numbering looks ahead of the new one: held, then dropped with
    // B's restart copy (released, it would have been a gap).
    assert_eq!(at(&mut c, 25, &lb, &ga), (vec![(0, Outcome::Held)], true));
    assert_eq!(at(&mut c, 30, &rb, &ga), (vec![(0, Outcome::Duplicate)], true), "B's copy");
    assert_eq!(c.arbiter_stats().map(|(_, held)| held), Some(0));
    assert_eq!(at(&mut c, 40, &db, &ga), (vec![(0, Outcome::Duplicate)], true));
    both(&mut ga, &mut gb, false, &[lv(false, "96", "1")], 50);
    let (da, db) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 50, &db, &gb), (vec![(0, Outcome::Applied)], true), "B is as good a line");
    assert_eq!(at(&mut c, 60, &da, &ga), (vec![(0, Outcome::Duplicate)], true));

    // Again, with B's copy later than the hold time: the consumer cannot tell it from a restart
    // after a loss, and says it is not synced rather than roll back to B's older book.
    both(&mut ga, &mut gb, true, &[lv(false, "95", "5"), lv(true, "101", "1")], 1);
    let (ra, rb) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(head(&rb), (Kind::Snapshot, true, 50, 1));
    assert_eq!(at(&mut c, 10_000, &ra, &ga), (vec![(0, Outcome::Applied)], true));
    both(&mut ga, &mut gb, false, &[lv(false, "95", "6")], 2);
    let (da, _) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 10_010, &da, &ga), (vec![(0, Outcome::Applied)], true));
    let (out, _) = at(&mut c, 10_010 + hold, &rb, &ga);
    assert_eq!(out, vec![(0, Outcome::Gap)]);
    assert!(!c.book(SYM).unwrap().is_synced());
    let mut served = Vec::new();
    snapshot_message(&ga, &ta, SYM, 0, &mut served).unwrap();
    c.on_snapshot(SYM, &served).unwrap();
    let cb = c.book(SYM).unwrap();
    assert!(cb.is_synced() && shape(cb) == shape(&ga));
    c.release_held(i64::MAX);
    assert_eq!(c.book(SYM).unwrap().stats().gaps, 1, "only the copy it could not place");
}
