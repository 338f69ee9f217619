//! SBE frames, written by the encoder built from the schema, give the same books and events as the
//! equivalent JSON frames through the JSON grammar (itself proven on the real Binance captures).

use crate::book::Outcome;
use crate::codec::sbe::encode::{
    encode_to_vec, BestBidAskMsg, DepthDiffMsg, DepthSnapshotMsg, EncodeOptions, OwnedMessage, TradesMsg,
};
use crate::codec::sbe::Trade;
use crate::venue::{Feed, FeedError, FeedOptions, FrameKind, Venue};

const SNAP: &str = r#"{"lastUpdateId":100,"bids":[["0.00230000","5.00"],["0.00220000","1.00"]],"asks":[["0.00270000","2.00"]]}"#;

fn diff(first: i64, last: i64, bids: Vec<(i64, i64)>, asks: Vec<(i64, i64)>) -> OwnedMessage {
    let symbol = "BNBBTC".into();
    OwnedMessage::DepthDiff(DepthDiffMsg {
        event_time_us: 1,
        first_update_id: first,
        last_update_id: last,
        price_exponent: -8,
        qty_exponent: -2,
        bids,
        asks,
        symbol,
    })
}

fn json(first: i64, last: i64, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> String {
    let side = |v: &[(i64, i64)]| {
        // As Binance writes them: fixed decimals at the exponents' precision.
        v.iter()
            .map(|(p, q)| {
                format!(r#"["{}.{:08}","{}.{:02}"]"#, p / 100_000_000, p % 100_000_000, q / 100, q % 100)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{first},"u":{last},"b":[{}],"a":[{}]}}"#,
        side(bids),
        side(asks)
    )
}

fn sbe(m: &OwnedMessage) -> Vec<u8> {
    encode_to_vec(m, &EncodeOptions::default()).unwrap()
}

type Step = (i64, i64, Vec<(i64, i64)>, Vec<(i64, i64)>);

#[test]
fn depth_diffs_match_the_json_path() {
    let mut s = Feed::new(Venue::BinanceSbe, &FeedOptions::default());
    let mut j = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    let steps: [Step; 4] = [
        (99, 101, vec![(240_000, 300)], vec![]),
        (102, 102, vec![(230_000, 0)], vec![(260_000, 150), (270_000, 0)]),
        (103, 105, vec![(241_000, 7)], vec![(265_000, 1)]),
        (106, 106, vec![], vec![(260_000, 0)]),
    ];
    for (k, (first, last, bids, asks)) in steps.iter().enumerate() {
        let a = s.on_frame(&sbe(&diff(*first, *last, bids.clone(), asks.clone()))).unwrap().updates.clone();
        let b = j.on_frame(json(*first, *last, bids, asks).as_bytes()).unwrap().updates.clone();
        assert_eq!(a, b);
        if k == 0 {
            assert_eq!(a, vec![(0, Outcome::Buffered)]);
            s.on_snapshot(b"BNBBTC", SNAP.as_bytes()).unwrap();
            j.on_snapshot(b"BNBBTC", SNAP.as_bytes()).unwrap();
        }
    }
    let (x, y) = (s.book(b"BNBBTC").unwrap(), j.book(b"BNBBTC").unwrap());
    assert!(x.is_synced() && y.is_synced());
    assert!(x.bids().iter().eq(y.bids().iter()) && x.asks().iter().eq(y.asks().iter()));
    assert_eq!(x.best_bid_f64(), Some((0.00241, 0.07)));
    // A gap is seen the same way.
    let gap = s.on_frame(&sbe(&diff(110, 111, vec![], vec![]))).unwrap();
    assert_eq!(gap.updates, vec![(0, Outcome::Gap)]);
}

#[test]
fn snapshots_events_text_and_bad_frames() {
    let mut f = Feed::new(Venue::BinanceSbe, &FeedOptions::default());
    let snap = OwnedMessage::DepthSnapshot(DepthSnapshotMsg {
        event_time_us: 1,
        book_update_id: 50,
        price_exponent: -2,
        qty_exponent: 0,
        bids: vec![(10_000, 3)],
        asks: vec![(10_050, 4)],
        symbol: "BTCUSDT".into(),
    });
    assert_eq!(f.on_frame(&sbe(&snap)).unwrap().updates, vec![(0, Outcome::Applied)]);
    assert_eq!(f.book(b"BTCUSDT").unwrap().best_ask_f64(), Some((100.5, 4.0)));
    let bba = OwnedMessage::BestBidAsk(BestBidAskMsg {
        event_time_us: 1,
        book_update_id: 51,
        price_exponent: -2,
        qty_exponent: -1,
        bid_price: 10_001,
        bid_qty: 25,
        ask_price: 10_002,
        ask_qty: 1,
        symbol: "BTCUSDT".into(),
    });
    assert_eq!(f.on_frame(&sbe(&bba)).unwrap().kind, FrameKind::Bbo);
    let (sym, q) = f.last_quote();
    assert_eq!(
        (sym, q.bid_px.mant, q.bid_px.dec, q.bid_qty.mant, q.bid_qty.dec),
        (&b"BTCUSDT"[..], 10_001, 2, 25, 1)
    );
    let trades = OwnedMessage::Trades(TradesMsg {
        event_time_us: 1,
        transact_time_us: 1,
        price_exponent: -2,
        qty_exponent: 0,
        trades: vec![
            Trade { id: 1, price: 10_000, qty: 1, is_buyer_maker: false },
            Trade { id: 2, price: 10_003, qty: 2, is_buyer_maker: true },
        ],
        symbol: "BTCUSDT".into(),
    });
    assert_eq!(f.on_frame(&sbe(&trades)).unwrap().kind, FrameKind::Trade);
    let q = f.last_quote().1;
    assert_eq!((q.px.mant, q.qty.mant, q.buyer_maker), (10_003, 2, true));
    // Every trade of the group, in order, with its id (100.00 is held as 100).
    let all: Vec<_> = f.last_trades().map(|(s, t)| (s, t.px.mant, t.qty.mant, t.buyer_maker, t.id)).collect();
    assert_eq!(all, [(&b"BTCUSDT"[..], 100, 1, false, Some(1)), (&b"BTCUSDT"[..], 10_003, 2, true, Some(2))]);
    assert_eq!(f.on_text(br#"{"result":null,"id":1}"#).unwrap().kind, FrameKind::Control);
    let before = f.book(b"BTCUSDT").unwrap().clone();
    let frame = sbe(&snap);
    for cut in [frame.len() - 1, 12, 7] {
        assert!(
            matches!(f.on_frame(&frame[..cut]), Err(FeedError::Codec(_)) | Err(FeedError::Json(_))),
            "{cut}"
        );
    }
    let after = f.book(b"BTCUSDT").unwrap();
    assert!(after.bids().iter().eq(before.bids().iter()) && after.asks().iter().eq(before.asks().iter()));
}

#[test]
fn a_snapshot_with_a_price_of_i64_min_is_refused_and_the_book_keeps_the_last() {
    let snap = |id: i64, bids: Vec<(i64, i64)>, asks: Vec<(i64, i64)>| {
        let symbol = "BTCUSDT".into();
        let (price_exponent, qty_exponent) = (0, 0);
        sbe(&OwnedMessage::DepthSnapshot(DepthSnapshotMsg {
            event_time_us: 1,
            book_update_id: id,
            price_exponent,
            qty_exponent,
            bids,
            asks,
            symbol,
        }))
    };
    let mut f = Feed::new(Venue::BinanceSbe, &FeedOptions::default());
    f.on_frame(&snap(50, vec![(100, 1)], vec![(200, 1)])).unwrap();
    let before = format!("{:?}", f.book(b"BTCUSDT").unwrap());
    assert!(f.on_frame(&snap(60, vec![(90, 7)], vec![(i64::MIN, 1)])).is_err());
    assert_eq!(format!("{:?}", f.book(b"BTCUSDT").unwrap()), before);
}
