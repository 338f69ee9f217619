//! Grammar + feed behaviour on the message shapes the venues document (venues.md, seed-venues.md),
//! with published checksum values where the venue gives one.

use super::*;
use crate::book::sync::{OosReason, SyncState};
use crate::book::Outcome;

pub(super) fn feed(v: Venue) -> Feed {
    Feed::new(v, &FeedOptions::default())
}

pub(super) fn outcomes(f: &mut Feed, frame: &str) -> Vec<Outcome> {
    f.on_frame(frame.as_bytes()).unwrap().updates.iter().map(|u| u.1).collect()
}

pub(super) fn kind(f: &mut Feed, frame: &str) -> FrameKind {
    f.on_frame(frame.as_bytes()).unwrap().kind
}

#[test]
fn okx_published_checksum_and_doc_sequence_chain() {
    let mut f = feed(Venue::Okx);
    let snap = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["3366.8","9","0","1"],["3368","8","0","1"]],"bids":[["3366.1","7","0","1"],["3366","6","0","1"]],"ts":"1","checksum":-1881014294,"prevSeqId":-1,"seqId":10}]}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let b = f.book(b"BTC-USDT").unwrap();
    assert_eq!(b.stats().checksum_ok, 1);
    // Doc chain (10 -> 15), idle heartbeat (15 -> 15), reset (15 -> 3), (3 -> 5).
    for (prev, seq) in [(10, 15), (15, 15), (15, 3), (3, 5)] {
        let u = format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[],"bids":[],"ts":"2","prevSeqId":{prev},"seqId":{seq}}}]}}"#
        );
        assert_eq!(outcomes(&mut f, &u), vec![Outcome::Applied], "{prev}->{seq}");
    }
    let lost = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"3","prevSeqId":6,"seqId":8}]}"#;
    assert_eq!(outcomes(&mut f, lost), vec![Outcome::Gap]);
    assert_eq!(f.book(b"BTC-USDT").unwrap().state(), SyncState::OutOfSync(OosReason::Gap));
    assert_eq!(
        kind(&mut f, r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#),
        FrameKind::Control
    );
    assert_eq!(kind(&mut f, "pong"), FrameKind::Heartbeat);
}

#[test]
fn okx_checksum_0_is_no_checksum_and_the_sequence_still_guards_the_book() {
    // What OKX writes since 2026-06-23 (checksum deprecated: present, always 0), read live on its
    // public `books` channel: the snapshot and every update carry `"checksum":0`. Before, the first
    // update whose book's CRC32 was not 0 failed (`ChecksumMismatch { expected: 0, .. }`) and the
    // book resynced, for ever.
    let mut f = feed(Venue::Okx);
    let snap = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["3366.8","9","0","1"],["3368","8","0","1"]],"bids":[["3366.1","7","0","1"],["3366","6","0","1"]],"ts":"1","checksum":0,"prevSeqId":-1,"seqId":10}]}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let update = |prev: i64, seq: i64, px: &str| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[],"bids":[["{px}","3","0","1"]],"ts":"2","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    };
    assert_eq!(outcomes(&mut f, &update(10, 11, "3366.5")), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &update(11, 12, "3366.2")), vec![Outcome::Applied]);
    let b = f.book(b"BTC-USDT").unwrap();
    assert!(b.is_synced());
    assert_eq!((b.stats().checksum_ok, b.stats().checksum_fail), (0, 0));
    assert_eq!(b.best_bid_f64(), Some((3366.5, 3.0)));
    // A lost message is still a gap.
    assert_eq!(outcomes(&mut f, &update(13, 14, "3366.3")), vec![Outcome::Gap]);
    // A checksum that is sent (not 0) is still verified.
    let mut f = feed(Venue::Okx);
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let wrong = update(10, 11, "3366.5").replace(r#""checksum":0"#, r#""checksum":5"#);
    assert!(matches!(outcomes(&mut f, &wrong)[0], Outcome::ChecksumMismatch { expected: 5, .. }));
}

const KRAKEN_V2_GUIDE: &str = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015},{"price":45282.1,"qty":0.10000000},{"price":45281.0,"qty":0.10000000},{"price":45280.3,"qty":1.54592586},{"price":45279.0,"qty":0.07990000},{"price":45277.6,"qty":0.03310103},{"price":45277.5,"qty":0.30000000},{"price":45277.3,"qty":1.54602737},{"price":45276.6,"qty":0.15445238}],"asks":[{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54571953},{"price":45286.6,"qty":1.54571109},{"price":45289.6,"qty":1.54560911},{"price":45290.2,"qty":0.15890660},{"price":45291.8,"qty":1.54553491},{"price":45294.7,"qty":0.04454749},{"price":45296.1,"qty":0.35380000},{"price":45297.5,"qty":0.09945542},{"price":45299.5,"qty":0.18772827}],"checksum":3310070434}]}"#;

#[test]
fn kraken_v2_guide_snapshot_verifies_from_number_text() {
    let mut f = feed(Venue::Kraken);
    assert_eq!(outcomes(&mut f, KRAKEN_V2_GUIDE), vec![Outcome::Applied]);
    let b = f.book(b"BTC/USD").unwrap();
    assert_eq!(b.stats().checksum_ok, 1);
    assert_eq!(b.best_bid_f64(), Some((45283.5, 0.1)));
    // A checksum that does not match marks the book; diffs are then dropped until a snapshot.
    let bad = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0}],"asks":[],"checksum":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
    assert!(matches!(outcomes(&mut f, bad)[0], Outcome::ChecksumMismatch { expected: 1, .. }));
    assert_eq!(f.book(b"BTC/USD").unwrap().state(), SyncState::OutOfSync(OosReason::Checksum));
    assert_eq!(outcomes(&mut f, bad), vec![Outcome::Ignored]);
    assert_eq!(outcomes(&mut f, KRAKEN_V2_GUIDE), vec![Outcome::Applied]);
    assert!(f.book(b"BTC/USD").unwrap().is_synced());
    assert_eq!(kind(&mut f, r#"{"channel":"heartbeat"}"#), FrameKind::Heartbeat);
    assert_eq!(kind(&mut f, r#"{"method":"pong","req_id":101}"#), FrameKind::Control);
}

#[test]
fn kraken_v1_non_book_frames_are_recognised() {
    let mut f = feed(Venue::Kraken);
    let ticker = r#"[340,{"a":["5525.40000",1,"1.000"],"b":["5525.10000",1,"1.000"],"c":["5525.10000","0.00398963"]},"ticker","XBT/USD"]"#;
    assert_eq!(kind(&mut f, ticker), FrameKind::Other);
    let trade = r#"[0,[["5541.20000","0.15850568","1534614057.321597","s","l",""]],"trade","XBT/USD"]"#;
    assert_eq!(kind(&mut f, trade), FrameKind::Trade);
    assert_eq!(kind(&mut f, r#"{"event":"heartbeat"}"#), FrameKind::Heartbeat);
    assert!(f.is_empty());
    // Republished levels carry a 4th element "r" and apply like any other.
    let snap = r#"[1,{"as":[["5541.3","2.5","1534614248.1"]],"bs":[["5541.2","1.5","1534614248.2"]]},"book-10","XBT/USD"]"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let rep = r#"[1,{"a":[["5541.4","1.0","1534614248.3","r"]]},"book-10","XBT/USD"]"#;
    assert_eq!(outcomes(&mut f, rep), vec![Outcome::Applied]);
    assert_eq!(f.book(b"XBT/USD").unwrap().asks().len(), 2);
}

#[test]
fn kraken_v1_truncates_to_the_depth_named_by_the_channel() {
    let mut f = feed(Venue::Kraken);
    let asks: Vec<String> = (0..10).map(|i| format!(r#"["{}.0","1.0","1.1"]"#, 101 + i)).collect();
    let snap =
        format!(r#"[7,{{"as":[{}],"bs":[["100.0","1.0","1.1"]]}},"book-10","XBT/USD"]"#, asks.join(","));
    assert_eq!(outcomes(&mut f, &snap), vec![Outcome::Applied]);
    // A better ask pushes the worst (110.0) out of the subscribed 10; no delete is sent for it.
    let upd = r#"[7,{"a":[["100.5","2.0","1.2"]]},"book-10","XBT/USD"]"#;
    assert_eq!(outcomes(&mut f, upd), vec![Outcome::Applied]);
    let b = f.book(b"XBT/USD").unwrap();
    assert_eq!(b.asks().len(), 10);
    let worst = b.asks().iter().next_back().map(|l| -l.key);
    assert_eq!(worst, Some(109 * 10i64.pow(b.price_scale() as u32)));
}

#[test]
fn bybit_snapshot_delta_and_reset() {
    let mut f = feed(Venue::Bybit);
    let snap = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let delta = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0"]],"a":[["16611.00","0.5"]],"u":18521289,"seq":7961638725},"cts":1}"#;
    assert_eq!(outcomes(&mut f, delta), vec![Outcome::Applied]);
    let b = f.book(b"BTCUSDT").unwrap();
    assert_eq!(b.best_bid_f64(), Some((16493.0, 0.1)));
    assert_eq!(b.best_ask_f64(), Some((16611.0, 0.5)));
    // Replayed older delta is skipped.
    assert_eq!(outcomes(&mut f, delta), vec![Outcome::Stale]);
    // u = 1: service restart, the message overwrites the book.
    let restart = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":2,"data":{"s":"BTCUSDT","b":[["1.0","1"]],"a":[["2.0","1"]],"u":1,"seq":1},"cts":2}"#;
    assert_eq!(outcomes(&mut f, restart), vec![Outcome::Applied]);
    assert_eq!(f.book(b"BTCUSDT").unwrap().bids().len(), 1);
    assert_eq!(
        kind(&mut f, r#"{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}"#),
        FrameKind::Control
    );
}

#[test]
fn bybit_book_frame_without_its_type_or_for_another_symbol_is_refused_naming_its_book() {
    // venues.md §3.3: every book frame is "snapshot" or "delta", `data.s` the topic's symbol.
    let mut f = feed(Venue::Bybit);
    let snap = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["100.5","1"]],"a":[["101","2"]],"u":7,"seq":1},"cts":1}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let before = (f.book(b"BTCUSDT").unwrap().best_bid_f64(), f.book(b"BTCUSDT").unwrap().best_ask_f64());
    // Taken for a delta, this snapshot would have kept the 100.5 bid it replaces.
    let untyped = r#"{"topic":"orderbook.50.BTCUSDT","ts":2,"data":{"s":"BTCUSDT","b":[["99","1"]],"a":[["101","2"]],"u":8,"seq":2},"cts":2}"#;
    let other_type = untyped.replace(r#""ts":2"#, r#""type":"update","ts":2"#);
    let other_symbol = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":2,"data":{"s":"ETHUSDT","b":[["99","1"]],"a":[],"u":8,"seq":2},"cts":2}"#;
    for bad in [untyped, other_type.as_str(), other_symbol] {
        assert!(matches!(f.on_frame(bad.as_bytes()), Err(FeedError::Json(JsonError::Shape(_)))), "{bad}");
        // Bybit's ids would never show the update lost: the refusal names the topic's book.
        assert_eq!(f.refused_symbols().collect::<Vec<_>>(), [b"BTCUSDT"], "{bad}");
        let b = f.book(b"BTCUSDT").unwrap();
        assert_eq!((b.best_bid_f64(), b.best_ask_f64()), before);
        assert!(b.is_synced());
    }
    assert!(f.book(b"ETHUSDT").is_none());
    // Refused while its levels are read (a mangled number): named as well; a trade frame refused
    // names no book.
    let mangled = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":2,"data":{"s":"BTCUSDT","b":[["9x9","1"]],"a":[],"u":8,"seq":2},"cts":2}"#;
    assert!(f.on_frame(mangled.as_bytes()).is_err());
    assert_eq!(f.refused_symbols().collect::<Vec<_>>(), [b"BTCUSDT"]);
    let bad_trade = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"x1","p":"100","i":"a"}]}"#;
    assert!(f.on_frame(bad_trade.as_bytes()).is_err());
    assert_eq!(f.refused_symbols().count(), 0);
    let typed = untyped.replace(r#""ts":2"#, r#""type":"snapshot","ts":2"#);
    assert_eq!(outcomes(&mut f, &typed), vec![Outcome::Applied]);
    assert_eq!(f.book(b"BTCUSDT").unwrap().best_bid_f64(), Some((99.0, 1.0)));
}

#[test]
fn htx_mbp_aligns_req_refresh_with_cached_increments() {
    let mut f = feed(Venue::Htx);
    let inc = |prev: i64, seq: i64, px: &str| {
        format!(
            r#"{{"ch":"market.btcusdt.mbp.150","ts":1573199608679,"tick":{{"seqNum":{seq},"prevSeqNum":{prev},"bids":[[{px},1.5]],"asks":{{}}}}}}"#
        )
    };
    assert_eq!(outcomes(&mut f, &inc(99, 100, "618.1")), vec![Outcome::Buffered]);
    assert_eq!(outcomes(&mut f, &inc(100, 101, "618.2")), vec![Outcome::Buffered]);
    let rep = r#"{"id":"id21","rep":"market.btcusdt.mbp.150","status":"ok","data":{"seqNum":100,"bids":[[618.37,71.594]],"asks":[[645.14,26.75597395914065]]}}"#;
    assert_eq!(outcomes(&mut f, rep), vec![Outcome::Applied]);
    let b = f.book(b"btcusdt").unwrap();
    assert!(b.is_synced());
    assert_eq!(b.last_id(), 101);
    assert_eq!(b.bids().len(), 2);
    assert_eq!(outcomes(&mut f, &inc(101, 102, "618.3")), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &inc(103, 104, "618.4")), vec![Outcome::Gap]);
    assert_eq!(kind(&mut f, r#"{"ping": 1492420473027}"#), FrameKind::Ping(1492420473027));
    assert_eq!(
        kind(&mut f, r#"{"id":"id1","status":"ok","subbed":"market.btcusdt.mbp.150","ts":1}"#),
        FrameKind::Control
    );
}

#[test]
fn needs_say_snapshot_for_rest_venues_and_nothing_while_synced() {
    let mut f = feed(Venue::BinanceSpot);
    let diff = |u: i64| {
        format!(
            r#"{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{u},"u":{u},"b":[["0.0024","10"]],"a":[["0.0026","1"]]}}"#
        )
    };
    assert_eq!(outcomes(&mut f, &diff(101)), vec![Outcome::Buffered]);
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, crate::book::Need::Snapshot)]);
    let snap = r#"{"lastUpdateId":100,"bids":[["0.0023","1"]],"asks":[["0.0027","1"]]}"#;
    f.on_snapshot(b"BNBBTC", snap.as_bytes()).unwrap();
    assert_eq!(f.needs().count(), 0);
    assert_eq!(outcomes(&mut f, &diff(105)), vec![Outcome::Gap]);
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, crate::book::Need::Snapshot)]);
    let snap = r#"{"lastUpdateId":104,"bids":[["0.0023","1"]],"asks":[["0.0027","1"]]}"#;
    f.on_snapshot(b"BNBBTC", snap.as_bytes()).unwrap();
    let b = f.book(b"BNBBTC").unwrap();
    assert!(b.is_synced());
    assert_eq!((b.stats().resyncs, b.last_id()), (1, 105));
}

fn compress(json: &[u8], gzip: bool) -> Vec<u8> {
    use std::io::Write;
    if gzip {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json).unwrap();
        e.finish().unwrap()
    } else {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json).unwrap();
        e.finish().unwrap()
    }
}

#[test]
fn gzip_and_zlib_frames_are_recognised_and_bad_ones_change_nothing() {
    let snap = r#"{"arg":{"channel":"books","instId":"X"},"action":"snapshot","data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]],"ts":"1"}]}"#;
    for gzip in [true, false] {
        let mut f = feed(Venue::Okx);
        let z = compress(snap.as_bytes(), gzip);
        assert_eq!(f.on_frame(&z).unwrap().updates.as_slice(), &[(0, Outcome::Applied)]);
        let update =
            snap.replace("snapshot", "update").replace(r#"["1","1","0","1"]"#, r#"["1","5","0","1"]"#);
        let mut bad = compress(update.as_bytes(), gzip);
        let n = bad.len();
        bad[n - 3] ^= 0x40; // in the checksum trailer
        assert!(matches!(f.on_frame(&bad), Err(FeedError::Codec(_))));
        assert!(matches!(f.on_frame(&bad[..n / 2]), Err(FeedError::Codec(_))));
        assert_eq!(f.book(b"X").unwrap().best_bid(), Some((1, 1)));
        assert!(f.on_frame(&compress(update.as_bytes(), gzip)).is_ok());
        assert_eq!(f.book(b"X").unwrap().best_bid(), Some((1, 5)));
        // A text frame is never inflated, even with the raw-deflate setting.
        let mut g = Feed::new(
            Venue::Okx,
            &FeedOptions { compression: Compression::Deflate, ..FeedOptions::default() },
        );
        assert!(g.on_text(snap.as_bytes()).is_ok());
        assert!(g.on_frame(snap.as_bytes()).is_err());
    }
}

/// Clarofinlore's binary frames are JSON compressed by the deployment's choice (seed-venues.md:
/// zlib, raw deflate or gzip): all three apply under the default `Auto`, raw deflate told by being
/// neither of the others; its text frames (acks) still parse as JSON, as bytes or as text.
#[test]
fn clarofinlore_frames_apply_zlib_raw_deflate_or_gzip_alike() {
    use std::io::Write;
    let snap = r#"{"channel":"orderbook.btc-usdt","type":"snapshot","seq":1,"prev_seq":0,"ts":1,"bids":[["100","2"]],"asks":[["101","3"]]}"#;
    let raw = |json: &[u8]| {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json).unwrap();
        e.finish().unwrap()
    };
    for how in ["zlib", "raw", "gzip"] {
        let mut f = feed(Venue::Clarofinlore);
        let z = match how {
            "raw" => raw(snap.as_bytes()),
            h => compress(snap.as_bytes(), h == "gzip"),
        };
        assert_eq!(f.on_frame(&z).unwrap().updates.as_slice(), &[(0, Outcome::Applied)], "{how}");
        assert_eq!(f.book(b"btc-usdt").map(|b| b.best_bid()), Some(Some((100, 2))), "{how}");
        let ack = br#"{"op":"subscribe","channels":["orderbook.btc-usdt"]}"#;
        assert!(f.on_frame(ack).is_ok() && f.on_text(ack).is_ok(), "{how}");
    }
    // Elsewhere a binary payload that is neither gzip nor zlib is not inflated (SBE, JSON as bytes).
    assert!(matches!(feed(Venue::Okx).on_frame(&raw(snap.as_bytes())), Err(FeedError::Json(_))));
}

#[test]
fn binance_side_streams_become_small_events() {
    let mut f = feed(Venue::BinanceSpot);
    let bt = r#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#;
    assert_eq!(kind(&mut f, bt), FrameKind::Bbo);
    let tr = r#"{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":true,"M":true}"#;
    assert_eq!(kind(&mut f, tr), FrameKind::Trade);
    assert_eq!(kind(&mut f, r#"{"result":null,"id":1}"#), FrameKind::Control);
    assert!(f.is_empty());
    // Partial depth: a top-N snapshot per message, symbol only in the stream name.
    let part = r#"{"stream":"bnbbtc@depth5@100ms","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}"#;
    assert_eq!(outcomes(&mut f, part), vec![Outcome::Applied]);
    let diff = r#"{"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BNBBTC","U":161,"u":162,"b":[["0.0025","1"]],"a":[]}}"#;
    assert_eq!(outcomes(&mut f, diff), vec![Outcome::Applied]);
    assert_eq!(f.len(), 1);
    assert_eq!(f.book(b"BNBBTC").unwrap().best_bid_f64(), Some((0.0025, 1.0)));
    let kl =
        r#"{"stream":"x@kline_1m","data":{"e":"kline","E":1,"s":"X","k":{"t":1,"s":"X","o":"1","B":"2"}}}"#;
    assert_eq!(kind(&mut f, kl), FrameKind::Other);
    assert_eq!(f.len(), 1);
}

#[test]
fn malformed_frame_changes_nothing() {
    let mut f = feed(Venue::Okx);
    let snap = r#"{"arg":{"channel":"books","instId":"X"},"action":"snapshot","data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]],"ts":"1"}]}"#;
    f.on_frame(snap.as_bytes()).unwrap();
    // Valid first level, then a broken second one: the first must not apply.
    let bad = r#"{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[["1.5","3","0","1"],["1.6",]],"ts":"2"}]}"#;
    assert!(matches!(f.on_frame(bad.as_bytes()), Err(FeedError::Json(_))));
    assert_eq!(f.book(b"X").unwrap().best_bid(), Some((1, 1)));
    for junk in ["", "{", "[1,", "{\"arg\":5}", "\u{0}"] {
        assert!(f.on_frame(junk.as_bytes()).is_err(), "{junk:?}");
    }
    assert_eq!(f.stats().errors, 6);
    assert_eq!(f.book(b"X").unwrap().best_bid(), Some((1, 1)));
}

#[test]
fn book_message_whose_symbol_is_not_utf8_makes_no_book() {
    let mut f = feed(Venue::Tradefence);
    let snap = |sym: &[u8]| {
        let mut m = br#"{"type":"book","symbol":""#.to_vec();
        m.extend_from_slice(sym);
        m.extend_from_slice(br#"","action":"snapshot","seq":1,"prev_seq":0,"bids":[["1","1"]],"asks":[]}"#);
        m
    };
    assert!(matches!(f.on_frame(&snap(b"AA\xffL")), Err(FeedError::SymbolNotText)));
    assert!(f.is_empty());
    assert_eq!(outcomes(&mut f, std::str::from_utf8(&snap(b"AAPL")).unwrap()), vec![Outcome::Applied]);
}

#[test]
fn book_message_without_symbol_is_an_error_not_a_panic() {
    // Found by the fuzz test below: a missing instId used to yield a bogus byte range.
    let mut f = feed(Venue::Okx);
    let frame = r#"{"arg":{"channel":"books"},"action":"snapshot","data":[{"asks":[["2","1","0","1"]],"bids":[],"ts":"1"}]}"#;
    assert!(matches!(f.on_frame(frame.as_bytes()), Err(FeedError::NoSymbol)));
    assert!(f.is_empty());
    assert_eq!(span(b"abc", b""), (0, 0));
    assert_eq!(span(b"abc", b"zz"), (0, 0));
}

#[test]
fn external_decoder_feeds_books_like_a_grammar() {
    use crate::book::num::Dec;
    // What a binary (SBE) decoder does: mantissa/exponent levels, symbol bytes inside the frame.
    let frame = b"\x01\x02BNBBTC";
    let mut f = feed(Venue::BinanceSpot);
    let decode = |fr: &[u8], out: &mut Batch| -> Result<(), FeedError> {
        let mut m = out.begin();
        m.snapshot = true;
        m.sym = span(fr, &fr[2..]);
        m.seq = crate::book::sync::SeqInfo { first: 5, last: 5, prev: crate::book::sync::NO_SEQ };
        out.push(
            false,
            Dec::from_mantissa_exponent(24, -4).unwrap(),
            Dec::from_mantissa_exponent(10, 0).unwrap(),
        );
        out.push(
            true,
            Dec::from_mantissa_exponent(26, -4).unwrap(),
            Dec::from_mantissa_exponent(1, 2).unwrap(),
        );
        out.end_msg(m);
        Ok(())
    };
    let s = f.on_decoded(frame, decode).unwrap();
    assert_eq!(s.updates.as_slice(), &[(0, Outcome::Applied)]);
    let b = f.book(b"BNBBTC").unwrap();
    assert_eq!(b.best_bid_f64(), Some((0.0024, 10.0)));
    assert_eq!(b.best_ask_f64(), Some((0.0026, 100.0)));
}

/// An external decoder's trades and connection-wide numbers take the route a grammar's do (before
/// stop 41 `on_decoded` kept neither: `last_trades` was empty and a skipped number went unseen).
#[test]
fn external_decoder_trades_and_connection_numbers_take_the_grammars_route() {
    use crate::book::num::Dec;
    let frame = b"BNBBTC";
    let mut f = feed(Venue::BinanceSpot);
    let px = |m| Dec::from_mantissa_exponent(m, -4).unwrap();
    let qty = Dec::from_mantissa_exponent(1, 0).unwrap();
    let trades = |fr: &[u8], out: &mut Batch| -> Result<(), FeedError> {
        for (m, id) in [(24, 7), (25, 8)] {
            out.trades.push(TradeItem { sym: (0, 0), px: px(m), qty, buyer_maker: false, id: Some(id) });
        }
        out.end_trades(Some(span(fr, fr)));
        Ok(())
    };
    assert_eq!(f.on_decoded(frame, trades).unwrap().kind, FrameKind::Trade);
    let got: Vec<_> = f.last_trades().map(|(s, t)| (s.to_vec(), t.px, t.id)).collect();
    assert_eq!(got, [(frame.to_vec(), px(24), Some(7)), (frame.to_vec(), px(25), Some(8))]);
    let (sym, q) = f.last_quote();
    assert_eq!((sym, q.px, q.qty), (&frame[..], px(25), qty));
    // A snapshot numbered 5 on the connection, then a frame numbered 7: the book is told of the gap.
    let book = |n: i64| {
        move |fr: &[u8], out: &mut Batch| -> Result<(), FeedError> {
            out.conn_seq = Some(n);
            let mut m = out.begin();
            m.snapshot = true;
            m.sym = span(fr, fr);
            m.seq = crate::book::sync::SeqInfo { first: n, last: n, prev: crate::book::sync::NO_SEQ };
            out.push(false, px(24), qty);
            out.push(true, px(26), qty);
            out.end_msg(m);
            Ok(())
        }
    };
    f.on_decoded(frame, book(5)).unwrap();
    assert!(f.on_decoded(frame, book(7)).unwrap().conn_gap);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const SEEDS: [(Venue, &str); 6] = [
        (
            Venue::Okx,
            r#"{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[["3366.8","9","0","1"]],"bids":[["3366.1","7","0","1"]],"ts":"1","checksum":-1881014294,"prevSeqId":10,"seqId":11}]}"#,
        ),
        (
            Venue::Kraken,
            r#"[1,{"a":[["5541.4","1.0","1534614248.3","r"]]},{"b":[["5541.2","1.5","1534614248.2"]],"c":"123"},"book-10","XBT/USD"]"#,
        ),
        (Venue::Kraken, KRAKEN_V2_GUIDE),
        (
            Venue::BinanceSpot,
            r#"{"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}"#,
        ),
        (
            Venue::Coinbase,
            r#"{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t","price_level":"21921.73","new_quantity":"0.06317902"}]}]}"#,
        ),
        (
            Venue::Htx,
            r#"{"ch":"market.btcusdt.mbp.150","ts":1,"tick":{"seqNum":101,"prevSeqNum":100,"bids":[[618.37,71.594]],"asks":[[645.14,2.6e-05]]}}"#,
        ),
    ];

    fn snapshot_state(
        f: &Feed,
    ) -> Vec<(Vec<u8>, Vec<crate::book::side::Level>, Vec<crate::book::side::Level>)> {
        (0..f.len())
            .map(|i| {
                let b = f.book_at(i).unwrap();
                (
                    f.symbol_at(i).unwrap().to_vec(),
                    b.bids().iter().copied().collect(),
                    b.asks().iter().copied().collect(),
                )
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Mangled frames (bytes overwritten, cut) never panic, and a frame that errors changes no
        /// book (frames of several messages: `frame_tests`).
        #[test]
        fn mangled_frames_never_panic_and_errors_apply_nothing(
            which in 0usize..6,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let (venue, seed) = SEEDS[which];
            let mut f = feed(venue);
            // Give each venue a synced book first so applies have something to change.
            let _ = f.on_frame(seed.replace("\"update\"", "\"snapshot\"").as_bytes());
            let mut bytes = seed.as_bytes().to_vec();
            for (i, b) in &edits {
                let k = i.index(bytes.len());
                bytes[k] = *b;
            }
            if let Some(c) = cut {
                bytes.truncate(c.index(bytes.len() + 1));
            }
            let before = snapshot_state(&f);
            if f.on_frame(&bytes).is_err() {
                // Not even a book for a symbol the mangling made up.
                prop_assert_eq!(snapshot_state(&f), before);
            }
        }
    }
}
