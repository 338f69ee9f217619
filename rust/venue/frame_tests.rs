//! Frames of several book messages (OKX `data` arrays, Kraken v2 `data` entries) are all or
//! nothing: when a later message is refused, every book, counter and the set of books are exactly
//! as before; when none is, the books equal a naive reference that applies the levels one by one.

use super::*;
use crate::book::num::NumError;
use crate::book::{BookError, Outcome};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// All a feed's book state: each book's Debug text (every field: levels with their written
/// decimals, scales, depth cap, sync state, last id, counters, buffers), the symbols, the count of
/// book messages taken.
fn state(f: &Feed) -> (Vec<String>, Vec<Vec<u8>>, u64) {
    let books = (0..f.len()).map(|i| format!("{:?}", f.book_at(i).unwrap())).collect();
    let names = (0..f.len()).map(|i| f.symbol_at(i).unwrap().to_vec()).collect();
    (books, names, f.stats().book_msgs)
}

/// A level as (ask, price, qty) in units of 1e-8, and the decimals each is written with.
#[derive(Debug, Clone, Copy)]
struct Lv {
    ask: bool,
    px: i128,
    pdec: u32,
    qty: i128,
    qdec: u32,
}

fn text(units: i128, dec: u32) -> String {
    let unit = 10i128.pow(8 - dec);
    let (int, frac) = (units / 100_000_000, units % 100_000_000 / unit);
    if dec == 0 {
        int.to_string()
    } else {
        format!("{int}.{frac:0w$}", w = dec as usize)
    }
}

prop_compose! {
    // Bids below 100, asks above: no frame can cross a book, so every valid diff applies.
    fn level()(ask in any::<bool>(), pdec in 0u32..=4, raw in 0i128..100_000, qdec in 0u32..=3,
               q in prop_oneof![1 => Just(0i128), 4 => 1i128..5000]) -> Lv {
        let tick = 10i128.pow(8 - pdec);
        let off = raw % (10 * 10i128.pow(pdec)) * tick;
        let px = if ask { 100 * 100_000_000 + tick + off } else { 90 * 100_000_000 + off };
        Lv { ask, px, pdec, qty: q * 10i128.pow(8 - qdec), qdec }
    }
}

/// What makes a message refused, injected into one entry after the first.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bad {
    NegativeQty,
    /// The first entry of the same book widens the price scale to 8; this price then overflows.
    OverflowAfterWidening,
    QtyOverflow,
    /// Only with the quantity scale fixed at 8.
    TooPrecise,
    /// The first entry of the same book adds a huge ask; this price then cannot widen the book.
    RescaleOverflow,
}

const BADS: [Bad; 5] =
    [Bad::NegativeQty, Bad::OverflowAfterWidening, Bad::QtyOverflow, Bad::TooPrecise, Bad::RescaleOverflow];

/// One data entry: its book (an index into `SYMS`; OKX has one book), random levels, then levels
/// given as text (`prepare`, `poison`).
#[derive(Debug, Clone)]
struct Entry {
    sym: usize,
    levels: Vec<Lv>,
    extra: Vec<(bool, String, String)>,
}

const SYMS: [&str; 3] = ["A/USD", "B/USD", "NEW/USD"];

fn okx_frame(entries: &[Entry]) -> String {
    let data: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let side = |ask: bool| {
                let mut v: Vec<String> = e
                    .levels
                    .iter()
                    .filter(|l| l.ask == ask)
                    .map(|l| format!(r#"["{}","{}","0","1"]"#, text(l.px, l.pdec), text(l.qty, l.qdec)))
                    .collect();
                v.extend(
                    e.extra
                        .iter()
                        .filter(|x| x.0 == ask)
                        .map(|x| format!(r#"["{}","{}","0","1"]"#, x.1, x.2)),
                );
                v.join(",")
            };
            // Chained: entry j only connects once entry j - 1 applied.
            format!(
                r#"{{"asks":[{}],"bids":[{}],"ts":"1","prevSeqId":{},"seqId":{}}}"#,
                side(true),
                side(false),
                10 + j,
                11 + j
            )
        })
        .collect();
    format!(r#"{{"arg":{{"channel":"books","instId":"X"}},"action":"update","data":[{}]}}"#, data.join(","))
}

fn kraken_frame(entries: &[Entry]) -> String {
    let data: Vec<String> = entries
        .iter()
        .map(|e| {
            let side = |ask: bool| {
                let mut v: Vec<String> = e
                    .levels
                    .iter()
                    .filter(|l| l.ask == ask)
                    .map(|l| format!(r#"{{"price":{},"qty":{}}}"#, text(l.px, l.pdec), text(l.qty, l.qdec)))
                    .collect();
                v.extend(
                    e.extra
                        .iter()
                        .filter(|x| x.0 == ask)
                        .map(|x| format!(r#"{{"price":{},"qty":{}}}"#, x.1, x.2)),
                );
                v.join(",")
            };
            format!(r#"{{"symbol":"{}","bids":[{}],"asks":[{}]}}"#, SYMS[e.sym], side(false), side(true))
        })
        .collect();
    format!(r#"{{"channel":"book","type":"update","data":[{}]}}"#, data.join(","))
}

/// Synced books to start from: OKX "X" at seqId 10, Kraken "A/USD" and "B/USD". Quantities have a
/// decimal so the quantity scale is at least 1.
fn start(okx: bool, fixed_qty: bool) -> Feed {
    let opts = FeedOptions {
        qty_decimals: fixed_qty.then_some(8),
        // v2 frames name no depth; a cap would cut the huge ask `Bad::RescaleOverflow` relies on.
        max_depth: Some(0),
        ..FeedOptions::default()
    };
    if okx {
        let mut f = Feed::new(Venue::Okx, &opts);
        let snap = r#"{"arg":{"channel":"books","instId":"X"},"action":"snapshot","data":[{"asks":[["101.5","1.5","0","1"]],"bids":[["95","2.5","0","1"]],"ts":"1","prevSeqId":-1,"seqId":10}]}"#;
        f.on_frame(snap.as_bytes()).unwrap();
        return f;
    }
    let mut f = Feed::new(Venue::Kraken, &opts);
    for s in &SYMS[..2] {
        let snap = format!(
            r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"{s}","bids":[{{"price":95,"qty":2.5}}],"asks":[{{"price":101.5,"qty":1.5}}]}}]}}"#
        );
        f.on_frame(snap.as_bytes()).unwrap();
    }
    f
}

type Side = BTreeMap<i128, i128>;

/// The naive reference: (bids, asks) per symbol, exact at 1e-8, set one level at a time.
fn reference(okx: bool, entries: &[Entry]) -> BTreeMap<String, (Side, Side)> {
    let mut books = BTreeMap::new();
    let snapshot =
        || (Side::from([(95 * 100_000_000, 250_000_000)]), Side::from([(10_150_000_000, 150_000_000)]));
    if okx {
        books.insert("X".to_string(), snapshot());
    } else {
        for s in &SYMS[..2] {
            books.insert(s.to_string(), snapshot());
        }
    }
    for e in entries {
        let name = if okx { "X" } else { SYMS[e.sym] };
        // An unseen symbol's book waits for its snapshot: its diffs are dropped.
        let Some((bids, asks)) = books.get_mut(name) else { continue };
        let parsed = e.extra.iter().map(|(ask, p, q)| (*ask, units(p), units(q)));
        for (ask, px, qty) in e.levels.iter().map(|l| (l.ask, l.px, l.qty)).chain(parsed) {
            let side = if ask { &mut *asks } else { &mut *bids };
            if qty == 0 {
                side.remove(&px);
            } else {
                side.insert(px, qty);
            }
        }
    }
    books
}

/// Decimal text with at most 8 decimals -> units of 1e-8.
fn units(s: &str) -> i128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    int.parse::<i128>().unwrap() * 100_000_000 + format!("{frac:0<8}").parse::<i128>().unwrap()
}

fn levels_of(f: &Feed, sym: &str) -> (Side, Side) {
    let b = f.book(sym.as_bytes()).unwrap();
    let (ps, qs) = (8 - b.price_scale() as u32, 8 - b.qty_scale() as u32);
    let side = |s: &crate::book::side::Side| -> Side {
        s.iter().map(|l| (s.price_of(l) as i128 * 10i128.pow(ps), l.qty as i128 * 10i128.pow(qs))).collect()
    };
    (side(b.bids()), side(b.asks()))
}

/// The state a bad entry is refused in may be left by the first entry of its book, which a check
/// against the books as they were before the frame never sees. This adds that (valid) level.
fn prepare(entries: &mut [Entry], at: usize, bad: Bad) {
    let first = match bad {
        Bad::OverflowAfterWidening => (false, "95.12345678"),
        Bad::RescaleOverflow => (true, "900000000000"),
        _ => return,
    };
    entries[0].sym = entries[at].sym;
    entries[0].extra.push((first.0, first.1.into(), "1".into()));
}

fn poison(entry: &mut Entry, bad: Bad) {
    let (ask, px, qty) = match bad {
        Bad::NegativeQty => (false, "96", "-1"),
        Bad::OverflowAfterWidening => (true, "100000000000", "1"),
        Bad::QtyOverflow => (false, "96", "9223372036854775807"),
        Bad::TooPrecise => (false, "96", "0.123456789"),
        Bad::RescaleOverflow => (false, "95.12345678", "1"),
    };
    entry.extra.push((ask, px.into(), qty.into()));
}

fn expected_err(bad: Bad, e: &BookError) -> bool {
    match bad {
        Bad::NegativeQty => *e == BookError::NegativeQuantity,
        Bad::OverflowAfterWidening | Bad::QtyOverflow => matches!(e, BookError::Num(NumError::OutOfRange(_))),
        Bad::TooPrecise => matches!(e, BookError::ScaleFixed { .. }),
        Bad::RescaleOverflow => matches!(e, BookError::RescaleOverflow(_)),
    }
}

prop_compose! {
    fn entry()(levels in proptest::collection::vec(level(), 0..6)) -> Entry {
        Entry { sym: 0, levels, extra: Vec::new() }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A frame of 2-4 entries with a refused one after the first changes nothing and raises a typed
    /// error; the same frame without the bad level applies whole and matches the naive book.
    #[test]
    fn several_messages_apply_all_or_nothing(
        okx in any::<bool>(),
        fixed_qty in any::<bool>(),
        seed in proptest::collection::vec(entry(), 2..=4),
        syms in proptest::collection::vec(0usize..3, 4),
        at in any::<prop::sample::Index>(),
        bad in proptest::option::of(proptest::sample::select(BADS.to_vec())),
    ) {
        let mut clean = seed;
        if !okx {
            for (e, &s) in clean.iter_mut().zip(&syms) {
                e.sym = s;
            }
        }
        let bad = bad.filter(|&b| b != Bad::TooPrecise || fixed_qty);
        let mut f = start(okx, fixed_qty);
        if let Some(b) = bad {
            let at = 1 + at.index(clean.len() - 1);
            // A refused message must meet a synced book: an unseen symbol's diff is only dropped.
            clean[at].sym %= 2;
            prepare(&mut clean, at, b);
            let mut dirty = clean.clone();
            poison(&mut dirty[at], b);
            let frame = if okx { okx_frame(&dirty) } else { kraken_frame(&dirty) };
            let before = state(&f);
            let errors = f.stats().errors;
            match f.on_frame(frame.as_bytes()) {
                Err(FeedError::Book { symbol, err }) => {
                    prop_assert!(expected_err(b, &err), "{:?} refused with {:?}", b, err);
                    prop_assert_eq!(symbol, if okx { "X" } else { SYMS[dirty[at].sym] });
                }
                other => prop_assert!(false, "{:?} not refused: {:?}\n{}", b, other.map(|s| s.updates.clone()), frame),
            }
            prop_assert_eq!(&state(&f), &before);
            prop_assert_eq!(f.stats().errors, errors + 1);
        }
        // The feed takes the same frame without the bad level, whole.
        let frame = if okx { okx_frame(&clean) } else { kraken_frame(&clean) };
        let s = f.on_frame(frame.as_bytes()).unwrap();
        let want: Vec<Outcome> = clean
            .iter()
            .map(|e| if !okx && e.sym == 2 { Outcome::Ignored } else { Outcome::Applied })
            .collect();
        prop_assert_eq!(s.updates.iter().map(|u| u.1).collect::<Vec<_>>(), want);
        for (name, want) in reference(okx, &clean) {
            prop_assert_eq!(levels_of(&f, &name), want, "{}", name);
        }
    }
}

#[test]
fn okx_entry_refused_after_the_first_widened_the_scale_applies_neither() {
    let mut f = start(true, false);
    let before = state(&f);
    // Alone, the second entry fits (1e11 at 1 decimal); after the first widens prices to 8
    // decimals it needs 1e19, past an i64. Checked against the book before the frame it would also
    // look like a gap (prevSeqId 11), not a message to apply.
    let frame = r#"{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[["95.12345678","1","0","1"]],"ts":"1","prevSeqId":10,"seqId":11},{"asks":[["100000000000","1","0","1"]],"bids":[],"ts":"1","prevSeqId":11,"seqId":12}]}"#;
    let r = f.on_frame(frame.as_bytes());
    assert!(matches!(r, Err(FeedError::Book { err: BookError::Num(NumError::OutOfRange(8)), .. })), "{r:?}");
    assert_eq!(state(&f), before);
    assert_eq!(f.book(b"X").unwrap().last_id(), 10);
}

#[test]
fn refused_frame_leaves_no_book_for_an_unseen_symbol() {
    let mut f = start(false, false);
    let before = state(&f);
    let frame = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"NEW/USD","bids":[{"price":95,"qty":1}],"asks":[]},{"symbol":"A/USD","bids":[{"price":95,"qty":-1}],"asks":[]}]}"#;
    let r = f.on_frame(frame.as_bytes());
    assert!(matches!(r, Err(FeedError::Book { err: BookError::NegativeQuantity, .. })), "{r:?}");
    assert_eq!(state(&f), before);
    assert!(f.book(b"NEW/USD").is_none());
    // The feed's last-symbol memory must not point at the forgotten book.
    let ok = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"NEW/USD","bids":[{"price":95,"qty":1}],"asks":[]}]}"#;
    f.on_frame(ok.as_bytes()).unwrap();
    assert_eq!(f.book(b"NEW/USD").unwrap().best_bid_f64(), Some((95.0, 1.0)));
    assert_eq!(f.len(), 3);
    // A one-message frame for an unseen symbol that is refused does not keep its book either.
    let one = r#"[9,{"as":[["5541.3","-2.5","1534614248.1"]],"bs":[]},"book-25","XBT/USD"]"#;
    assert!(f.on_frame(one.as_bytes()).is_err());
    assert!(f.book(b"XBT/USD").is_none());
}

#[test]
fn kraken_v1_refused_frame_keeps_the_depth_cap() {
    let mut f = Feed::new(Venue::Kraken, &FeedOptions::default());
    let snap = r#"[7,{"as":[["101.0","1.0","1.1"]],"bs":[["100.0","1.0","1.1"]]},"book-10","XBT/USD"]"#;
    f.on_frame(snap.as_bytes()).unwrap();
    let before = state(&f);
    // "book-1000" would raise the cap, but the frame is refused: the cap must stay 10.
    let bad = r#"[7,{"a":[["100.5","-2.0","1.2"]]},"book-1000","XBT/USD"]"#;
    assert!(matches!(
        f.on_frame(bad.as_bytes()),
        Err(FeedError::Book { err: BookError::NegativeQuantity, .. })
    ));
    assert_eq!(state(&f), before);
    assert_eq!(f.book(b"XBT/USD").unwrap().config().max_depth, 10);
}
