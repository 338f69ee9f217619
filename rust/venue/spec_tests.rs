//! The spec table: every name is one venue's, and the rules it states are the ones the book code
//! then follows.

use super::*;
use crate::book::sync::{OosReason, SeqInfo};
use crate::book::{Book, Need, Outcome};

fn fold(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '-' | '_')).flat_map(char::to_lowercase).collect()
}

#[test]
fn names_and_aliases_are_unique_across_venues() {
    let mut seen = std::collections::HashMap::new();
    for &v in Venue::ALL {
        for n in v.spec().names() {
            assert!(!n.is_empty());
            if let Some(other) = seen.insert(fold(n), v) {
                panic!("{n:?} names both {other:?} and {v:?}");
            }
        }
    }
}

#[test]
fn every_name_and_alias_parses_to_its_venue_whatever_its_case_and_separators() {
    for &v in Venue::ALL {
        for n in v.spec().names() {
            for spelling in [n.to_owned(), n.to_ascii_uppercase(), n.replace('-', "_"), n.replace('-', "")] {
                assert_eq!(Venue::parse(&spelling), Some(v), "{spelling:?}");
            }
        }
    }
    for bad in ["", "-", "nasdaq", "binancex", "okx2", "huob"] {
        assert_eq!(Venue::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn unknown_venue_error_lists_exactly_the_canonical_names() {
    let msg = Venue::from_name("nasdaq").unwrap_err().to_string();
    let listed = msg.strip_prefix("unknown venue \"nasdaq\"; one of ").expect(&msg);
    let names: Vec<&str> = Venue::ALL.iter().map(|v| v.spec().name).collect();
    assert_eq!(listed.split(", ").collect::<Vec<_>>(), names);
}

#[test]
fn a_lost_book_asks_for_the_remedy_its_resync_method_names() {
    for &v in Venue::ALL {
        let mut b = Book::new(v.spec().book_config());
        b.invalidate(OosReason::Gap);
        let want = if v.spec().resync == Resync::Resubscribe { Need::Resubscribe } else { Need::Snapshot };
        assert_eq!(b.need(), Some(want), "{v:?}");
    }
}

#[test]
fn snapshot_first_is_exactly_where_the_first_diff_rule_continues_an_early_snapshot() {
    // A snapshot taken before any diff arrived, at id 100; the stream's next diff starts at 101.
    let snap = SeqInfo { first: 100, last: 100, prev: 100 };
    let next = SeqInfo { first: 101, last: 101, prev: 100 };
    for &v in Venue::ALL {
        let s = v.spec();
        if s.resync != Resync::Snapshot {
            // The snapshot comes in the stream or with the subscription: nothing to take first.
            assert!(!s.snapshot_first, "{v:?}");
            continue;
        }
        let mut b = Book::new(s.book_config());
        b.apply_snapshot(&[], snap, None).unwrap();
        let continues = b.apply_diff(&[], next, None).unwrap() == Outcome::Applied;
        assert_eq!(s.snapshot_first, continues, "{v:?}");
    }
}

#[test]
fn symbol_case_keys_what_users_and_frames_say_alike() {
    assert_eq!(SymbolCase::Upper.key("bnbbtc"), "BNBBTC");
    assert_eq!(SymbolCase::Lower.key("BTCUSDT"), "btcusdt");
    assert_eq!(SymbolCase::AsSent.key("BTC-usdt"), "BTC-usdt");
    // The feed folds frames the same way: a stream name in lower case keys the payload's book.
    for &v in Venue::ALL.iter().filter(|v| v.spec().symbol_case == SymbolCase::Upper) {
        let mut f = Feed::new(v, &FeedOptions::default());
        let partial =
            r#"{"stream":"bnbbtc@depth5","data":{"lastUpdateId":1,"bids":[["1","1"]],"asks":[["2","1"]]}}"#;
        f.on_text(partial.as_bytes()).unwrap();
        assert_eq!(f.symbol_at(0), Some(&b"BNBBTC"[..]), "{v:?}");
    }
}

#[test]
fn venues_that_learn_depth_from_frames_keep_the_depth_the_frames_state() {
    // 30 bids each; the frames subscribe a depth above the spec's default and below 30.
    let bids = |f: &dyn Fn(usize) -> String| (0..30).map(f).collect::<Vec<_>>().join(",");
    let kraken = format!(
        r#"[7,{{"as":[["200.0","1.0","1.1"]],"bs":[{}]}},"book-25","XBT/USD"]"#,
        bids(&|i| format!(r#"["{}.0","1.0","1.1"]"#, 100 - i))
    );
    let bitfinex_sub =
        r#"{"event":"subscribed","channel":"book","chanId":9,"symbol":"tBTCUSD","prec":"P0","len":"100"}"#;
    let bitfinex = format!("[9,[{}]]", bids(&|i| format!("[{},1,1]", 100 - i)));
    let cases: [(Venue, Vec<String>, usize); 2] =
        [(Venue::Kraken, vec![kraken], 25), (Venue::Bitfinex, vec![bitfinex_sub.into(), bitfinex], 30)];
    let learning: Vec<Venue> = Venue::ALL.iter().copied().filter(|v| v.spec().depth_from_frames).collect();
    assert_eq!(learning, cases.iter().map(|c| c.0).collect::<Vec<_>>());
    for (v, frames, kept) in cases {
        assert_ne!(v.spec().max_depth, kept, "{v:?}: the frames must state another depth than the default");
        let mut f = Feed::new(v, &FeedOptions::default());
        for fr in &frames {
            f.on_text(fr.as_bytes()).unwrap();
        }
        assert_eq!(f.book_at(0).unwrap().bids().len(), kept, "{v:?}");
    }
}
