//! Property tests: random venue messages into a gateway book, published into a consumer; the
//! consumer equals the gateway, and both equal a naive map book, after every message.

use super::*;

/// A venue message for the property tests: levels in 4-decimal units, with their written decimals.
#[derive(Debug, Clone)]
enum Op {
    Diff(Vec<(bool, i64, i64, u32, u32)>),
    Snapshot(Vec<(bool, i64, i64, u32, u32)>),
    /// A snapshot at id 1: the venue restarted its numbering (Bybit's `u = 1`).
    Restart(Vec<(bool, i64, i64, u32, u32)>),
    /// The gateway's book loses sync (a gap at the venue).
    Lose,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => proptest::collection::vec(update(), 0..8).prop_map(Op::Diff),
        1 => proptest::collection::vec(update(), 0..20).prop_map(Op::Snapshot),
        1 => proptest::collection::vec(update(), 0..20).prop_map(Op::Restart),
        1 => Just(Op::Lose),
    ]
}

fn raw(ls: &[(bool, i64, i64, u32, u32)]) -> Vec<RawLevel> {
    let t = |v: i64, dec: u32| text(v / 10i64.pow(4 - dec), dec);
    ls.iter().map(|&(ask, p, q, pd, qd)| lv(ask, &t(p, pd), &t(q, qd))).collect()
}

/// The reference: price -> qty per side at 4 decimals, cut to `depth` after every message.
#[derive(Default, Debug, PartialEq)]
struct Naive {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    synced: bool,
}

impl Naive {
    fn apply(&mut self, ls: &[(bool, i64, i64, u32, u32)], depth: usize) {
        for &(ask, p, q, ..) in ls {
            let m = if ask { &mut self.asks } else { &mut self.bids };
            if q == 0 {
                m.remove(&p);
            } else {
                m.insert(p, q);
            }
        }
        while depth > 0 && self.bids.len() > depth {
            self.bids.pop_first();
        }
        while depth > 0 && self.asks.len() > depth {
            self.asks.pop_last();
        }
    }

    fn shape(&self, ps: u8, qs: u8) -> (Levels, Levels) {
        let at =
            |v: i64, s: u8| if s >= 4 { v * 10i64.pow(s as u32 - 4) } else { v / 10i64.pow(4 - s as u32) };
        let b = self.bids.iter().rev().map(|(&p, &q)| (at(p, ps), at(q, qs))).collect();
        let a = self.asks.iter().map(|(&p, &q)| (at(p, ps), at(q, qs))).collect();
        (b, a)
    }
}

/// Applies one venue message to a gateway book (venue ids `id` when `ids`) and to the reference.
fn venue_step(g: &mut Book, n: &mut Naive, op: &Op, id: &mut i64, ids: bool, depth: usize) {
    *id += 1;
    let seq =
        |last: i64, prev: i64| if ids { SeqInfo { first: last, last, prev } } else { SeqInfo::default() };
    match op {
        Op::Diff(ls) => {
            let o = g.apply_diff(&raw(ls), seq(*id, *id - 1), None).unwrap();
            if n.synced {
                assert_eq!(o, Outcome::Applied);
                n.apply(ls, depth);
            }
        }
        Op::Snapshot(ls) | Op::Restart(ls) => {
            if matches!(op, Op::Restart(_)) {
                *id = 1;
            }
            g.apply_snapshot(&raw(ls), seq(*id, NO_SEQ), None).unwrap();
            (n.bids, n.asks, n.synced) = (BTreeMap::new(), BTreeMap::new(), true);
            n.apply(ls, depth);
        }
        Op::Lose => {
            g.invalidate(OosReason::Gap);
            n.synced = false;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn consumer_equals_gateway_after_every_message(
        ops in proptest::collection::vec((op(), prop_oneof![4 => Just(true), 1 => Just(false)]), 1..60),
        first in proptest::collection::vec(update(), 0..20),
        depth in prop_oneof![Just(0usize), 2usize..12],
        ids in any::<bool>(),
    ) {
        let (mut g, mut tx, mut c, mut n) = (gateway(depth), BookTx::default(), consumer(), Naive::default());
        let mut id = 100;
        let steps = std::iter::once((Op::Snapshot(first), true)).chain(ops);
        for (op, take_now) in steps {
            venue_step(&mut g, &mut n, &op, &mut id, ids, depth);
            if !take_now {
                continue; // the gateway publishes several venue messages as one
            }
            publish(&mut g, &mut tx, &mut c);
            let cb = c.book(SYM).unwrap();
            prop_assert_eq!(cb.is_synced(), n.synced);
            if n.synced {
                prop_assert_eq!(shape(cb), shape(&g));
                let (ps, qs) = (g.price_scale(), g.qty_scale());
                prop_assert_eq!((shape(cb).0, shape(cb).1), n.shape(ps, qs));
                if ids {
                    // Where the last message left it (a diff that changed nothing sends none).
                    prop_assert_eq!(cb.last_id(), tx.venue_id);
                }
            }
        }
    }

    #[test]
    fn a_dropped_message_is_a_gap_and_a_served_snapshot_heals_it(
        ops in proptest::collection::vec(proptest::collection::vec(update(), 1..6), 2..30),
        drop in any::<prop::sample::Index>(),
        ids in any::<bool>(),
    ) {
        let (mut g, mut tx, mut c, mut n) = (gateway(0), BookTx::default(), consumer(), Naive::default());
        let mut id = 0;
        // A level at 4 decimals from the start: no diff widens the scale (a rescale is a snapshot).
        venue_step(&mut g, &mut n, &Op::Snapshot(vec![(false, 50_001, 1, 4, 4)]), &mut id, ids, 0);
        publish(&mut g, &mut tx, &mut c);
        // Never the last: a loss shows when the next message arrives.
        let drop = drop.index(ops.len() - 1);
        for (k, ls) in ops.iter().enumerate() {
            venue_step(&mut g, &mut n, &Op::Diff(ls.clone()), &mut id, ids, 0);
            let Some(msg) = take(&mut g, &mut tx) else { continue };
            if k == drop {
                continue;
            }
            let out = c.on_frame(&msg).unwrap().updates.clone();
            let want = if k == drop + 1 { Outcome::Gap } else if k > drop { Outcome::Buffered } else { Outcome::Applied };
            prop_assert_eq!(out, vec![(0, want)]);
        }
        prop_assert!(!c.book(SYM).unwrap().is_synced());
        let mut snap = Vec::new();
        snapshot_message(&g, &tx, SYM, 0, &mut snap).unwrap();
        c.on_snapshot(SYM, &snap).unwrap();
        prop_assert!(c.book(SYM).unwrap().is_synced());
        prop_assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
    }

    #[test]
    fn two_gateways_interleaved_into_one_arbitrated_consumer_give_the_same_book(
        ops in proptest::collection::vec(proptest::collection::vec(update(), 0..6), 1..40),
        b_takes in proptest::collection::vec(any::<bool>(), 40),
        b_drops in proptest::collection::vec(prop_oneof![4 => Just(false), 1 => Just(true)], 40),
        order in proptest::collection::vec(any::<bool>(), 80),
    ) {
        // Line A publishes after every venue message; line B (another gseq) coalesces some and
        // loses some. Every venue id is on A, so the consumer never needs a snapshot.
        let (mut ga, mut gb) = (gateway(0), gateway(0));
        let (mut ta, mut tb) = (BookTx::default(), BookTx { gseq: 5000, ..BookTx::default() });
        let (mut na, mut nb) = (Naive::default(), Naive::default());
        let (mut ia, mut ib) = (0, 0);
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        let snap = Op::Snapshot(vec![(false, 99_990, 10_000, 2, 0), (true, 100_000, 5_000, 1, 1)]);
        venue_step(&mut ga, &mut na, &snap, &mut ia, true, 0);
        venue_step(&mut gb, &mut nb, &snap, &mut ib, true, 0);
        la.extend(take(&mut ga, &mut ta));
        lb.extend(take(&mut gb, &mut tb));
        for (k, ls) in ops.iter().enumerate() {
            venue_step(&mut ga, &mut na, &Op::Diff(ls.clone()), &mut ia, true, 0);
            venue_step(&mut gb, &mut nb, &Op::Diff(ls.clone()), &mut ib, true, 0);
            la.extend(take(&mut ga, &mut ta));
            if b_takes[k] || k + 1 == ops.len() {
                if let Some(m) = take(&mut gb, &mut tb) {
                    if !b_drops[k] {
                        lb.push(m);
                    }
                }
            }
        }
        let mut c = consumer();
        c.set_arbitration(Some(1_000_000_000), 1024);
        c.set_now(0);
        let (mut a, mut b) = (la.iter(), lb.iter());
        let mut pick = order.iter().cycle();
        loop {
            let next = if *pick.next().unwrap() { a.next().or_else(|| b.next()) } else { b.next().or_else(|| a.next()) };
            let Some(m) = next else { break };
            let s = c.on_frame(m).unwrap();
            prop_assert!(s.updates.iter().all(|(_, o)| !matches!(o, Outcome::Gap)), "{:?}", s.updates);
        }
        c.release_held(i64::MAX);
        let cb = c.book(SYM).unwrap();
        prop_assert!(cb.is_synced());
        prop_assert_eq!(shape(cb), shape(&ga));
        prop_assert_eq!(cb.stats().gaps, 0);
    }

    #[test]
    fn damaged_bytes_never_panic_and_a_refused_message_changes_nothing(
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..4),
        which in 0usize..5,
    ) {
        let (mut g, mut tx, mut c) = (gateway(0), BookTx::default(), consumer());
        g.apply_snapshot(&raw(&[(false, 99_990, 10_000, 2, 0), (true, 100_000, 5_000, 1, 1)]), SeqInfo::default(), None).unwrap();
        publish(&mut g, &mut tx, &mut c);
        g.apply_diff(&raw(&[(false, 99_980, 20_000, 2, 0)]), SeqInfo::default(), None).unwrap();
        let mut msgs = vec![take(&mut g, &mut tx).unwrap()];
        let mut m = Vec::new();
        snapshot_message(&g, &tx, SYM, 0, &mut m).unwrap();
        msgs.push(m.clone());
        encode_trade(SYM, (d("1.5"), d("2")), false, None, 1, 0, &mut m).unwrap();
        msgs.push(m.clone());
        encode_bbo(SYM, [d("1"), d("2"), d("3"), d("4")], 1, 0, &mut m).unwrap();
        msgs.push(m.clone());
        g.invalidate(OosReason::Gap);
        msgs.push(take(&mut g, &mut tx).unwrap());
        let mut frame = msgs[which].clone();
        let mut truncated = false;
        for (at, v, cut) in &cuts {
            if frame.is_empty() {
                break;
            }
            let i = at.index(frame.len());
            if *cut {
                frame.truncate(i);
                truncated = true;
            } else {
                frame[i] ^= v | 1;
            }
        }
        let before = (shape(c.book(SYM).unwrap()), c.book(SYM).unwrap().state(), c.book(SYM).unwrap().last_id(), c.len());
        let r = c.on_frame(&frame).map(|_| ());
        if truncated {
            prop_assert!(r.is_err());
        }
        if r.is_err() {
            let after = (shape(c.book(SYM).unwrap()), c.book(SYM).unwrap().state(), c.book(SYM).unwrap().last_id(), c.len());
            prop_assert_eq!(before, after);
        }
    }
}
