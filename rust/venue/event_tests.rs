//! Trade and ticker events from the example messages in the venues' own documentation.

use super::*;
use crate::book::num::Dec;

fn last(v: Venue, frame: &str) -> (FrameKind, String, Quote) {
    let mut f = Feed::new(v, &FeedOptions::default());
    let kind = f.on_frame(frame.as_bytes()).unwrap().kind;
    let (sym, q) = f.last_quote();
    (kind, String::from_utf8_lossy(sym).into_owned(), *q)
}

fn dec(s: &str) -> crate::book::num::Dec {
    crate::book::num::parse_dec(s.as_bytes()).unwrap()
}

// https://bybit-exchange.github.io/docs/v5/websocket/public/trade
const BYBIT_TRADE: &str = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}"#;
// https://docs.kraken.com/api/docs/websocket-v2/trade
const KRAKEN_V2_TRADES: &str = r#"{"channel":"trade","type":"snapshot","data":[{"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"},{"symbol":"MATIC/USD","side":"sell","price":0.5147,"qty":1136.19677815,"ord_type":"limit","trade_id":4665847,"timestamp":"2023-09-25T07:49:36.925603Z"}]}"#;
// https://docs.kraken.com/api/docs/websocket-v1/trade
const KRAKEN_V1_TRADES: &str = r#"[0,[["5541.20000","0.15850568","1534614057.321597","s","l",""],["6060.00000","0.02455000","1534614057.324998","b","l",""]],"trade","XBT/USD"]"#;
// https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels (market_trades)
const COINBASE_TRADES: &str = r#"{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":0,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}"#;

/// The documented market_trades message as an update (the example is the opening snapshot).
fn coinbase_update() -> String {
    COINBASE_TRADES.replace(r#""type":"snapshot""#, r#""type":"update""#)
}

#[test]
fn documented_trades_are_trade_events() {
    let (k, s, q) = last(Venue::Bybit, BYBIT_TRADE);
    assert_eq!((k, s.as_str()), (FrameKind::Trade, "BTCUSDT"));
    assert_eq!((q.px, q.qty, q.buyer_maker), (dec("16578.50"), dec("0.001"), false));
    // Two trades: the event is the second (the newest); its taker sold.
    let (k, s, q) = last(Venue::Kraken, KRAKEN_V2_TRADES);
    assert_eq!((k, s.as_str()), (FrameKind::Trade, "MATIC/USD"));
    assert_eq!((q.px, q.qty, q.buyer_maker), (dec("0.5147"), dec("1136.19677815"), true));
    let (k, s, q) = last(Venue::Kraken, KRAKEN_V1_TRADES);
    assert_eq!((k, s.as_str()), (FrameKind::Trade, "XBT/USD"));
    assert_eq!((q.px, q.qty, q.buyer_maker), (dec("6060.00000"), dec("0.02455000"), false));
    // Coinbase names the maker's side: a maker BUY means the buyer was the maker. (The example is a
    // snapshot, past trades, which are no event: its trade as an update is one.)
    let (k, s, q) = last(Venue::Coinbase, &coinbase_update());
    assert_eq!((k, s.as_str()), (FrameKind::Trade, "ETH-USD"));
    assert_eq!((q.px, q.qty, q.buyer_maker), (dec("1260.01"), dec("0.3"), true));
}

#[test]
fn documented_tickers_are_bbo_events() {
    // https://docs.kraken.com/api/docs/websocket-v2/ticker
    let kr = r#"{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17}]}"#;
    let (k, s, q) = last(Venue::Kraken, kr);
    assert_eq!((k, s.as_str()), (FrameKind::Bbo, "ALGO/USD"));
    assert_eq!(
        (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty),
        (dec("0.10025"), dec("740.0"), dec("0.10036"), dec("1361.44813783"))
    );
    // https://bybit-exchange.github.io/docs/v5/websocket/public/ticker (linear snapshot, abridged)
    let by = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick","lastPrice":"17216.00","bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},"cs":24987956059,"ts":1673272861686}"#;
    let (k, s, q) = last(Venue::Bybit, by);
    assert_eq!((k, s.as_str()), (FrameKind::Bbo, "BTCUSDT"));
    assert_eq!((q.bid_px, q.ask_qty), (dec("17215.50"), dec("83.020")));
    // A delta naming only what changed is no event.
    let delta = r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"17215.00"},"cs":1,"ts":1}"#;
    assert_eq!(last(Venue::Bybit, delta).0, FrameKind::Other);
    // https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels (ticker)
    let cb = r#"{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":0,"events":[{"type":"snapshot","tickers":[{"type":"ticker","product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938","low_24_h":"21835.29","high_24_h":"23011.18","low_52_w":"15460","high_52_w":"48240","price_percent_chg_24_h":"-4.15775596190603","best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98","best_ask_quantity":"8038.07770938"}]}]}"#;
    let (k, s, q) = last(Venue::Coinbase, cb);
    assert_eq!((k, s.as_str()), (FrameKind::Bbo, "BTC-USD"));
    assert_eq!((q.bid_px, q.bid_qty, q.ask_px), (dec("21931.98"), dec("8000.21"), dec("21933.98")));
}

#[test]
fn malformed_trades_are_errors_and_other_arrays_are_not_trades() {
    let bad = [
        (Venue::Bybit, BYBIT_TRADE.replace(r#""S":"Buy""#, r#""S":"Up""#)),
        (Venue::Bybit, BYBIT_TRADE.replace(r#""p":"16578.50","#, "")),
        (Venue::Kraken, KRAKEN_V2_TRADES.replace(r#""qty":6423.46326"#, r#""qty":"x""#)),
        (Venue::Kraken, KRAKEN_V1_TRADES.replace(r#""s","l""#, r#""?","l""#)),
        (Venue::Coinbase, COINBASE_TRADES.replace(r#""product_id":"ETH-USD","#, "")),
    ];
    for (v, frame) in bad {
        let mut f = Feed::new(v, &FeedOptions::default());
        assert!(matches!(f.on_frame(frame.as_bytes()), Err(FeedError::Json(_))), "{v:?} {frame}");
    }
    // Kline data is an array of another shape: not a trade, not an error.
    let kline = r#"{"topic":"kline.5.BTCUSDT","data":[{"start":1,"end":2,"interval":"5","open":"1","close":"1","high":"1","low":"1","volume":"1","turnover":"1","confirm":false,"timestamp":1}],"ts":1,"type":"snapshot"}"#;
    assert_eq!(last(Venue::Bybit, kline).0, FrameKind::Other);
    let empty = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#;
    assert_eq!(last(Venue::Bybit, empty), (FrameKind::Trade, String::new(), Quote::default()));
}

/// `(symbol, price, qty, buyer_maker, id)` of every trade of the frame.
fn trades(f: &mut Feed, frame: &str) -> Vec<(String, Dec, Dec, bool, Option<u64>)> {
    assert_eq!(f.on_frame(frame.as_bytes()).unwrap().kind, FrameKind::Trade);
    f.last_trades()
        .map(|(s, t)| (String::from_utf8_lossy(s).into_owned(), t.px, t.qty, t.buyer_maker, t.id))
        .collect()
}

#[test]
fn every_trade_of_a_frame_is_kept_in_order_with_the_venues_id() {
    let fresh = |v| Feed::new(v, &FeedOptions::default());
    let t = |s: &str, p, q, bm, id| (s.to_owned(), dec(p), dec(q), bm, id);
    assert_eq!(
        trades(&mut fresh(Venue::Kraken), KRAKEN_V2_TRADES),
        [
            t("MATIC/USD", "0.5147", "6423.46326", false, Some(4665846)),
            t("MATIC/USD", "0.5147", "1136.19677815", true, Some(4665847))
        ]
    );
    // v1 writes no trade id.
    assert_eq!(
        trades(&mut fresh(Venue::Kraken), KRAKEN_V1_TRADES),
        [
            t("XBT/USD", "5541.20000", "0.15850568", true, None),
            t("XBT/USD", "6060.00000", "0.02455000", false, None)
        ]
    );
    // A derivatives id is a UUID: no id.
    assert_eq!(
        trades(&mut fresh(Venue::Bybit), BYBIT_TRADE),
        [t("BTCUSDT", "16578.50", "0.001", false, None)]
    );
    let spot = BYBIT_TRADE.replace("20f43950-d8dd-5b31-9112-a178eb6023af", "2290000000061666327");
    assert_eq!(trades(&mut fresh(Venue::Bybit), &spot)[0].4, Some(2290000000061666327));
    assert_eq!(trades(&mut fresh(Venue::Coinbase), &coinbase_update())[0].4, Some(0));
    // https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams (trade, aggTrade)
    let bt = r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#;
    assert_eq!(trades(&mut fresh(Venue::BinanceSpot), bt), [t("BNBBTC", "0.001", "100", true, Some(12345))]);
    let agg = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;
    assert_eq!(trades(&mut fresh(Venue::BinanceSpot), agg), [t("BNBBTC", "0.001", "100", true, Some(12345))]);
    // OKX: several trades in one frame (the general grammar), then one (the shortcut).
    let okx = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897"},{"instId":"BTC-USDT","tradeId":"130639475","px":"42220","sz":"0.5","side":"sell","ts":"1630048897897"}]}"#;
    let mut f = fresh(Venue::Okx);
    assert_eq!(
        trades(&mut f, okx),
        [
            t("BTC-USDT", "42219.9", "0.12060306", false, Some(130639474)),
            t("BTC-USDT", "42220", "0.5", true, Some(130639475))
        ]
    );
    let one = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639476","px":"42221","sz":"1","side":"buy","ts":"1630048897898"}]}"#;
    assert_eq!(trades(&mut f, one), [t("BTC-USDT", "42221", "1", false, Some(130639476))]);
    // The frame's quote stays its last trade.
    assert_eq!(f.last_quote().1.px, dec("42221"));
}

#[test]
fn arbitrated_lines_pass_each_trade_id_once_per_symbol() {
    let mut f = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    let tr = |s: &str, id: u64| {
        format!(r#"{{"e":"trade","E":1,"s":"{s}","t":{id},"p":"1.5","q":"2","T":1,"m":false,"M":true}}"#)
    };
    let ids = |f: &mut Feed, frame: String| trades(f, &frame).iter().map(|t| t.4).collect::<Vec<_>>();
    // Not arbitrated: a repeated id is passed on (one line cannot bring a copy).
    assert_eq!(ids(&mut f, tr("BNBBTC", 7)), [Some(7)]);
    assert_eq!(ids(&mut f, tr("BNBBTC", 7)), [Some(7)]);
    f.set_arbitration(Some(1_000_000), 16);
    assert_eq!(ids(&mut f, tr("BNBBTC", 8)), [Some(8)]);
    assert_eq!(ids(&mut f, tr("BNBBTC", 8)), []); // the other line's copy
    assert_eq!(ids(&mut f, tr("BNBBTC", 6)), [Some(6)]); // never passed: one the first line missed
    assert_eq!(ids(&mut f, tr("BNBBTC", 6)), []); // and its copy
    assert_eq!(ids(&mut f, tr("ETHBTC", 3)), [Some(3)]); // ids are per symbol
    assert_eq!(ids(&mut f, tr("BNBBTC", 9)), [Some(9)]);
    // Far ahead of the next id: it waits for the ones before it (Binance numbers each symbol's
    // trades one by one, `trade_order_tests`) until its hold ran out.
    assert_eq!(ids(&mut f, tr("BNBBTC", 9 + 4096)), []);
    f.release_held(1_000_000);
    assert_eq!(f.last_trades().map(|(_, t)| t.id).collect::<Vec<_>>(), [Some(4105)]);
    // Far older than the newest passed (past the ids remembered one by one): taken for a copy.
    assert_eq!(ids(&mut f, tr("BNBBTC", 5)), []);
    assert_eq!(ids(&mut f, tr("BNBBTC", 10)), [Some(10)]);
    assert_eq!(f.duplicate_trades(), 3);
    // Trades without an id always pass: the session delivers only the primary line's.
    let mut k = Feed::new(Venue::Kraken, &FeedOptions::default());
    k.set_arbitration(Some(1_000_000), 16);
    assert_eq!(trades(&mut k, KRAKEN_V1_TRADES).len(), 2);
    assert_eq!(trades(&mut k, KRAKEN_V1_TRADES).len(), 2);
}

#[test]
fn a_renewed_lines_overlapping_connections_pass_each_trade_id_once_without_arbitration() {
    let mut f = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    let tr = |id: u64| {
        format!(r#"{{"e":"trade","E":1,"s":"BNBBTC","t":{id},"p":"1.5","q":"2","T":1,"m":false,"M":true}}"#)
    };
    let ids = |f: &mut Feed, frame: String| trades(f, &frame).iter().map(|t| t.4).collect::<Vec<_>>();
    assert_eq!(ids(&mut f, tr(7)), [Some(7)]);
    f.set_trade_dedupe(true);
    assert!(!f.arbitrates()); // book frames are not held: only trades are told apart
    assert_eq!(ids(&mut f, tr(8)), [Some(8)]); // the successor first
    assert_eq!(ids(&mut f, tr(8)), []); // the old connection's copy
    assert_eq!(ids(&mut f, tr(9)), [Some(9)]);
    assert_eq!(f.duplicate_trades(), 1);
    f.set_trade_dedupe(false);
    assert_eq!(ids(&mut f, tr(9)), [Some(9)]);
}

/// A trade id is read where it was skipped before 2026-12-06, and skipping checks the text as JSON:
/// a frame whose id is malformed JSON was refused, and still must be (a frame is refused for
/// malformed text anywhere, read or not). A value that is well-formed JSON but no id (`null`, a
/// UUID) is no id, and no error, as before.
#[test]
fn a_malformed_trade_id_is_refused_as_when_it_was_skipped() {
    let bt = |id: &str| {
        format!(
            r#"{{"e":"trade","E":1,"s":"BNBBTC","t":{id},"p":"0.001","q":"100","T":1,"m":true,"M":true}}"#
        )
    };
    let agg = |id: &str| {
        format!(
            r#"{{"e":"aggTrade","E":1,"s":"BNBBTC","a":{id},"p":"0.001","q":"100","f":1,"l":1,"T":1,"m":true}}"#
        )
    };
    let okx = |id: &str| {
        format!(
            r#"{{"arg":{{"channel":"trades","instId":"BTC-USDT"}},"data":[{{"instId":"BTC-USDT","tradeId":{id},"px":"1","sz":"2","side":"buy","ts":"1"}}]}}"#
        )
    };
    let seed = |id: &str| {
        format!(r#"{{"type":"trade","symbol":"AAPL","id":{id},"price":"1.5","qty":"2","side":"sell"}}"#)
    };
    let bad = [
        (Venue::BinanceSpot, bt("1-345")),
        (Venue::BinanceSpot, bt(".5")),
        (Venue::BinanceSpot, agg("12e")),
        (Venue::Okx, okx("\"13\\q\"")),
        (Venue::Okx, okx("\"13\u{1}\"")),
        (Venue::Kraken, KRAKEN_V2_TRADES.replace("4665846", "4-65846")),
        (Venue::Coinbase, COINBASE_TRADES.replace(r#""000000000""#, r#""0\x""#)),
        (Venue::Bybit, BYBIT_TRADE.replace("20f43950", "20f4\u{1}")),
        (Venue::Tradefence, seed("-")),
    ];
    for (v, frame) in &bad {
        let mut f = Feed::new(*v, &FeedOptions::default());
        let r = f.on_frame(frame.as_bytes());
        assert!(matches!(r, Err(FeedError::Json(_))), "{v:?} {frame}: {r:?}");
    }
    let fine =
        [(Venue::BinanceSpot, bt("null")), (Venue::Okx, okx("null")), (Venue::Tradefence, seed("\"x-1\""))];
    for (v, frame) in &fine {
        let mut f = Feed::new(*v, &FeedOptions::default());
        assert_eq!(trades(&mut f, frame).iter().map(|t| t.4).collect::<Vec<_>>(), [None], "{v:?} {frame}");
    }
}

/// A trade frame naming no symbol (Binance without "s", OKX without the arg's instId) gave no event
/// before 2026-12-06 (the summary's value was None): it must not give a trade of symbol "" now.
#[test]
fn a_trade_naming_no_symbol_is_no_event() {
    let frames = [
        (Venue::BinanceSpot, r#"{"e":"trade","E":1,"t":5,"p":"0.001","q":"100","T":1,"m":true,"M":true}"#),
        (
            Venue::Okx,
            r#"{"arg":{"channel":"trades"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"2","side":"buy","ts":"1"}]}"#,
        ),
    ];
    for (v, frame) in frames {
        let mut f = Feed::new(v, &FeedOptions::default());
        assert_eq!(trades(&mut f, frame), [], "{v:?} {frame}");
    }
}

/// Redundant lines: a trade one line never brought (it missed it: a reconnect, a lost frame) is
/// delivered when the other line brings it; only a trade already passed is a copy. Binance's newer
/// one the first line brought waits for it (ids consecutive per symbol: `trade_order_tests`; until
/// 2026-12-07 it went out first). Also a frame listing its trades newest first loses none.
#[test]
fn arbitrated_lines_drop_only_copies_not_trades_one_line_missed() {
    let mut f = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    f.set_arbitration(Some(1_000_000), 16);
    let tr = |id: u64| {
        format!(r#"{{"e":"trade","E":1,"s":"BNBBTC","t":{id},"p":"1.5","q":"2","T":1,"m":false,"M":true}}"#)
    };
    let ids = |f: &mut Feed, frame: String| trades(f, &frame).iter().map(|t| t.4).collect::<Vec<_>>();
    // Line A brought 776 and 778 (it missed 777); line B, lagging, brings 776, 777, 778.
    assert_eq!(ids(&mut f, tr(776)), [Some(776)]);
    assert_eq!(ids(&mut f, tr(778)), []);
    assert_eq!(ids(&mut f, tr(776)), []);
    assert_eq!(ids(&mut f, tr(777)), [Some(777), Some(778)]);
    assert_eq!(ids(&mut f, tr(778)), []);
    assert_eq!(ids(&mut f, tr(777)), []);
    assert_eq!(f.duplicate_trades(), 3);
    let mut o = Feed::new(Venue::Okx, &FeedOptions::default());
    o.set_arbitration(Some(1_000_000), 16);
    let newest_first = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"12","px":"1","sz":"2","side":"buy","ts":"2"},{"instId":"BTC-USDT","tradeId":"11","px":"1","sz":"3","side":"buy","ts":"1"}]}"#;
    let got = |o: &mut Feed| trades(o, newest_first).iter().map(|t| t.4).collect::<Vec<_>>();
    // Delivered in tradeId order (`okx_trades_are_delivered_in_trade_id_order`).
    assert_eq!(got(&mut o), [Some(11), Some(12)]);
    assert_eq!(got(&mut o), []); // the other line's copy of both
}

/// Coinbase `market_trades` opens each subscription with a "snapshot" event of trades made before it
/// (the documented example's trade is of 2019-08-14, in a message of 2023-02-09), sent again on every
/// (re)subscribe: history, not new trades, as Bitfinex's trade snapshots are. Only an "update"
/// event's trades are events. (Before 2026-12-06 a snapshot gave one event, its last trade; since,
/// every trade of it was delivered as new, on each reconnect again.) Its items are still checked.
#[test]
fn coinbase_trade_snapshots_are_history_not_new_trades() {
    let fresh = || Feed::new(Venue::Coinbase, &FeedOptions::default());
    let second = r#"{"trade_id":"000000001","product_id":"ETH-USD","price":"1260.02","size":"0.1","side":"SELL","time":"2019-08-14T20:42:28.265Z"}"#;
    // Listed newest first, as Coinbase lists them (`coinbase_trades_listed_newest_first_…`).
    let snapshot = COINBASE_TRADES.replace(r#""trades":["#, &format!(r#""trades":[{second},"#));
    assert_eq!(trades(&mut fresh(), &snapshot), []);
    let update = snapshot.replace(r#""type":"snapshot""#, r#""type":"update""#);
    let ids: Vec<_> = trades(&mut fresh(), &update).iter().map(|t| t.4).collect();
    assert_eq!(ids, [Some(0), Some(1)]);
    let bad = snapshot.replace(r#""side":"SELL""#, r#""side":"UP""#);
    assert!(matches!(fresh().on_frame(bad.as_bytes()), Err(FeedError::Json(_))));
}

/// Two consecutive BTC-USDT trades of the real OKX capture (`../shared/fixtures/real/okx.jsonl`,
/// tradeId 338476318 then 338476319), in one frame as OKX batches them: a sell, then a buy.
const OKX_TWO: &str = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476318","px":"30241.9","sz":"0.0009","side":"sell","ts":"1652459226834"},{"instId":"BTC-USDT","tradeId":"338476319","px":"30242","sz":"0.0002","side":"buy","ts":"1652459227219"}]}"#;

/// An OKX `trades` item without price, size or side refuses the frame, as every other venue's
/// (`Last::check_trade`). Before 2026-12-06's review an item without `px`/`sz` was dropped
/// silently, and one without `side` took the previous item's (338476319, a buy, became a sell).
#[test]
fn okx_trade_items_lacking_price_size_or_side_refuse_the_frame() {
    let fresh = || Feed::new(Venue::Okx, &FeedOptions::default());
    let t = |p, q, bm, id| ("BTC-USDT".to_owned(), dec(p), dec(q), bm, Some(id));
    assert_eq!(
        trades(&mut fresh(), OKX_TWO),
        [t("30241.9", "0.0009", true, 338476318), t("30242", "0.0002", false, 338476319)]
    );
    // The second trade without its side, price or size (an empty price is none), the first
    // without its side.
    let bad = [
        OKX_TWO.replace(r#""side":"buy","#, ""),
        OKX_TWO.replace(r#""px":"30242","#, ""),
        OKX_TWO.replace(r#""sz":"0.0002","#, ""),
        OKX_TWO.replace(r#""px":"30242","#, r#""px":"","#),
        OKX_TWO.replace(r#""side":"sell","#, ""),
        // A side that is neither (before stop 41 read as a buy), in either item.
        OKX_TWO.replace(r#""side":"sell","#, r#""side":"Sell","#),
        OKX_TWO.replace(r#""side":"buy","#, r#""side":"up","#),
    ];
    let accepted: Vec<_> = bad
        .iter()
        .map(|frame| (frame, fresh().on_frame(frame.as_bytes()).map(|s| s.kind)))
        .filter(|(_, r)| !matches!(r, Err(FeedError::Json(_))))
        .collect();
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
    // One trade without its side: not the shortcut's shape, refused by the general grammar too.
    let one = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476319","px":"30242","sz":"0.0002","ts":"1652459227219"}]}"#;
    assert!(matches!(fresh().on_frame(one.as_bytes()), Err(FeedError::Json(_))));
    // One trade in the shortcut's shape with a side that is neither: refused, not read as a buy.
    let shaped = one.replace(r#""ts":"#, r#""side":"short","ts":"#);
    assert!(matches!(fresh().on_frame(shaped.as_bytes()), Err(FeedError::Json(_))));
    assert!(!trades(&mut fresh(), &shaped.replace("short", "buy"))[0].3);
    // Other channels' data items carry no trade fields: still no error.
    let ticker = r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","ts":"1"}]}"#;
    assert_eq!(fresh().on_frame(ticker.as_bytes()).unwrap().kind, FrameKind::Other);
}

/// The seed venues' trades as the simulator sends them (python/tickwire/sim/venues/clarofinlore,
/// cloud9trader: `"side":"buy"|"sell"` on every item; tradefence: `"side":"BUY"|"SELL"` on every
/// trade message). A trade without its side is malformed: before 2026-12-06's review it was taken
/// for a buy (buyer_maker false) without a word.
#[test]
fn seed_venue_trades_without_side_refuse_the_frame() {
    let claro = r#"{"channel":"trades.btc-usdt","ts":1,"trades":[{"id":1,"price":"100.5","qty":"2","side":"sell"},{"id":2,"price":"100.4","qty":"0.5","side":"sell"}]}"#;
    let cloud9 = r#"{"channel":"trades.EURUSD","type":"trades","ts":1,"trades":[{"id":1,"price":"1.0842","qty":"1","side":"sell"}]}"#;
    let fence =
        r#"{"type":"trade","symbol":"AAPL","id":7,"ts":1,"price":"189.51","quantity":"5","side":"SELL"}"#;
    let cases = [(Venue::Clarofinlore, claro), (Venue::Cloud9trader, cloud9), (Venue::Tradefence, fence)];
    let mut accepted = Vec::new();
    for (v, frame) in cases {
        let got = trades(&mut Feed::new(v, &FeedOptions::default()), frame);
        assert!(!got.is_empty() && got.iter().all(|t| t.3), "{v:?} {frame}");
        // The first item's side, the last item's, a Tradefence message's.
        let first = frame.replacen(r#","side":"sell""#, "", 1);
        let last = frame.replace(r#","side":"sell"}]"#, "}]");
        let fence = frame.replace(r#","side":"SELL""#, "");
        // A side that is neither (before stop 41 read as a buy).
        let odd = frame.replacen(r#""side":"sell""#, r#""side":"short""#, 1).replace("SELL", "SHORT");
        let mut bads = vec![first, last, fence, odd];
        bads.dedup();
        for bad in bads.into_iter().filter(|b| b != frame) {
            let r = Feed::new(v, &FeedOptions::default()).on_frame(bad.as_bytes()).map(|s| s.kind);
            if !matches!(r, Err(FeedError::Json(_))) {
                accepted.push((v, bad, r));
            }
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}

/// Coinbase lists a `market_trades` message's trades newest first: a message of the live feed
/// (ccxt/ccxt#27606, `sequence_num` 1854: trade ids 929248663, 929248662, 929248661, 929248660,
/// times descending; its first two trades here, verbatim) and ccxt's fix that reverses each batch
/// "so the cache stays ascending" (ccxt/ccxt#29477, checked live). Each event's trades are
/// delivered oldest first, and the frame's quote is the newest. (Before 2026-12-06's review they
/// were passed on newest first, and the quote was the oldest.)
#[test]
fn coinbase_trades_listed_newest_first_are_delivered_oldest_first() {
    let live = r#"{"channel":"market_trades","client_id":"","timestamp":"2025-12-31T06:00:13.715382929Z","sequence_num":1854,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"929248663","price":"88355.58","size":"0.00003338","time":"2025-12-31T06:00:13.654578Z","side":"BUY"},{"product_id":"BTC-USD","trade_id":"929248662","price":"88355.59","size":"0.00099993","time":"2025-12-31T06:00:13.613311Z","side":"SELL"}]}]}"#;
    let mut f = Feed::new(Venue::Coinbase, &FeedOptions::default());
    let t = |p, q, bm, id| ("BTC-USD".to_owned(), dec(p), dec(q), bm, Some(id));
    assert_eq!(
        trades(&mut f, live),
        [t("88355.59", "0.00099993", false, 929248662), t("88355.58", "0.00003338", true, 929248663)]
    );
    let q = f.last_quote().1;
    assert_eq!((q.px, q.qty, q.buyer_maker), (dec("88355.58"), dec("0.00003338"), true));
    // Two events of one message: each event's trades reversed, the events kept in their order.
    // (Unverified: no message of several trade events has been seen, in the documentation or live,
    // so neither whether there are any nor in which order their events would come is known.)
    let two = live.replace(
        "}]}]}",
        r#"}]},{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"929248665","price":"1","size":"1","side":"BUY"},{"product_id":"BTC-USD","trade_id":"929248664","price":"2","size":"1","side":"BUY"}]}]}"#,
    );
    let ids: Vec<_> = trades(&mut f, &two).iter().map(|t| t.4.unwrap()).collect();
    assert_eq!(ids, [929248662, 929248663, 929248664, 929248665]);
}

// https://huobiapi.github.io/docs/spot/v1/en/#trade-detail (the push example; its `id` is a message
// id wider than 64 bits, `tradeId` the trade's).
const HTX_TRADE: &str = r#"{"ch":"market.btcusdt.trade.detail","ts":1489474082831,"tick":{"id":14650745135,"ts":1533265950234,"data":[{"amount":0.0099,"ts":1533265950234,"id":146507451359183894799,"tradeId":102043495674,"price":401.74,"direction":"buy"}]}}"#;

#[test]
fn htx_trade_detail_pushes_are_trades_in_trade_id_order() {
    let fresh = || Feed::new(Venue::Htx, &FeedOptions::default());
    let t = |p, q, bm, id| ("btcusdt".to_owned(), dec(p), dec(q), bm, id);
    // "direction": the taker's side, so a taker buy means the buyer was not the maker.
    assert_eq!(trades(&mut fresh(), HTX_TRADE), [t("401.74", "0.0099", false, Some(102043495674))]);
    // Several trades listed newest first are delivered oldest first; quoted numbers read alike.
    let two = HTX_TRADE.replace(
        r#""data":[{"#,
        r#""data":[{"amount":"0.5","ts":1,"id":1,"tradeId":102043495675,"price":"401.80","direction":"sell"},{"#,
    );
    let got = trades(&mut fresh(), &two);
    assert_eq!(
        got,
        [t("401.74", "0.0099", false, Some(102043495674)), t("401.80", "0.5", true, Some(102043495675))]
    );
    // Listed as the venue lists them where a trade has no id (older pushes carried none).
    let no_id = two.replace(r#""tradeId":102043495674,"#, "");
    assert_eq!(trades(&mut fresh(), &no_id)[0].4, Some(102043495675));
    // An empty push is a trade frame without trades.
    let empty = r#"{"ch":"market.btcusdt.trade.detail","ts":1,"tick":{"id":1,"ts":1,"data":[]}}"#;
    assert!(trades(&mut fresh(), empty).is_empty());
}

#[test]
fn htx_trades_lacking_price_size_or_side_refuse_the_frame() {
    let mut f = Feed::new(Venue::Htx, &FeedOptions::default());
    for (from, to) in [
        (r#""direction":"buy""#, r#""direction":"up""#),
        (r#""price":401.74,"#, ""),
        (r#""amount":0.0099,"#, ""),
        (r#""direction":"buy""#, r#""x":1"#),
        (r#""tradeId":102043495674"#, r#""tradeId":1-2"#),
        (r#""price":401.74"#, r#""price":[]"#),
    ] {
        let bad = HTX_TRADE.replace(from, to);
        assert_ne!(bad, HTX_TRADE);
        assert!(f.on_frame(bad.as_bytes()).is_err(), "{bad}");
        assert_eq!(f.last_trades().count(), 0, "{bad}");
    }
    assert_eq!(trades(&mut f, HTX_TRADE).len(), 1);
}

/// OKX does not say in which order one `trades` push lists several trades, but its tradeIds grow
/// with every match of an instrument: "if `tradeId` = 123 and `count` = 3, it means the message
/// aggregates the trades of `tradeId` = 123, 122, and 121"
/// (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel, "Aggregation
/// function description"). So a push's trades are delivered in tradeId order, as HTX's are. (Before
/// 2026-12-06's review they were passed on as listed: newest first if OKX listed them so.) The real
/// capture (`../shared/fixtures/real/okx.jsonl`, 74 trade pushes) holds one trade per push only.
#[test]
fn okx_trades_are_delivered_in_trade_id_order() {
    let fresh = || Feed::new(Venue::Okx, &FeedOptions::default());
    let t = |p, q, bm, id| ("BTC-USDT".to_owned(), dec(p), dec(q), bm, Some(id));
    let oldest_first = [t("30241.9", "0.0009", true, 338476318), t("30242", "0.0002", false, 338476319)];
    assert_eq!(trades(&mut fresh(), OKX_TWO), oldest_first);
    // The same two trades listed newest first.
    let first = r#"{"instId":"BTC-USDT","tradeId":"338476318","px":"30241.9","sz":"0.0009","side":"sell","ts":"1652459226834"}"#;
    let second = r#"{"instId":"BTC-USDT","tradeId":"338476319","px":"30242","sz":"0.0002","side":"buy","ts":"1652459227219"}"#;
    assert!(OKX_TWO.contains(&format!("[{first},{second}]")));
    let newest_first = OKX_TWO.replace(&format!("[{first},{second}]"), &format!("[{second},{first}]"));
    let mut f = fresh();
    assert_eq!(trades(&mut f, &newest_first), oldest_first);
    // The frame's quote is the newest trade.
    assert_eq!(f.last_quote().1.px, dec("30242"));
    // A trade without a tradeId: listed as OKX lists them.
    let no_id = newest_first.replace(r#""tradeId":"338476319","#, "");
    let ids: Vec<_> = trades(&mut fresh(), &no_id).iter().map(|t| t.4).collect();
    assert_eq!(ids, [None, Some(338476318)]);
}

/// Kraken v2 does not say in which order one `trade` message lists several trades ("Multiple trades
/// may be batched in a single message"), but its `trade_id` "is a sequence number, unique per book"
/// (https://docs.kraken.com/api/docs/websocket-v2/trade): a message's trades are delivered in
/// trade_id order per symbol, as HTX's are. Its documented example lists them oldest first (ids
/// 4665846, 4665847; times 07:48:36, 07:49:36). (Before 2026-12-06's review they were passed on as
/// listed.)
#[test]
fn kraken_v2_trades_are_delivered_in_trade_id_order_per_symbol() {
    let fresh = || Feed::new(Venue::Kraken, &FeedOptions::default());
    let ids =
        |frame: &str| trades(&mut fresh(), frame).iter().map(|t| (t.0.clone(), t.4)).collect::<Vec<_>>();
    let m = |id| ("MATIC/USD".to_owned(), Some(id));
    assert_eq!(ids(KRAKEN_V2_TRADES), [m(4665846), m(4665847)]);
    // The documented two trades listed newest first.
    let first = r#"{"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}"#;
    let second = r#"{"symbol":"MATIC/USD","side":"sell","price":0.5147,"qty":1136.19677815,"ord_type":"limit","trade_id":4665847,"timestamp":"2023-09-25T07:49:36.925603Z"}"#;
    assert!(KRAKEN_V2_TRADES.contains(&format!("[{first},{second}]")));
    let newest_first =
        KRAKEN_V2_TRADES.replace(&format!("[{first},{second}]"), &format!("[{second},{first}]"));
    let mut f = fresh();
    let got = trades(&mut f, &newest_first);
    assert_eq!(got.iter().map(|t| t.4).collect::<Vec<_>>(), [Some(4665846), Some(4665847)]);
    assert_eq!((got[0].2, got[0].3), (dec("6423.46326"), false));
    // The frame's quote is the newest trade.
    assert_eq!(f.last_quote().1.qty, dec("1136.19677815"));
    // Ids are per book: another symbol's trades keep their places and their own order.
    let other = r#"{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"ord_type":"limit","trade_id":9,"timestamp":"2023-09-25T07:49:36Z"}"#;
    let mixed =
        KRAKEN_V2_TRADES.replace(&format!("[{first},{second}]"), &format!("[{second},{other},{first}]"));
    assert_eq!(ids(&mixed), [m(4665846), ("BTC/USD".to_owned(), Some(9)), m(4665847)]);
    // A trade without an id: that symbol's trades are listed as Kraken lists them.
    let no_id = newest_first.replace(r#""trade_id":4665846,"#, "");
    assert_eq!(ids(&no_id), [m(4665847), ("MATIC/USD".to_owned(), None)]);
}

/// Kraken v1 writes no trade id; it lists a message's trades oldest first. A real message of the v1
/// feed (cryptofeed's capture, github.com/bmoscon/cryptofeed sample_data/KRAKEN.ws.48.0, line 35,
/// 2021-04-17; verbatim): a sell sweeping two bids, 354.04 then 353.81, at 1618678150.826417 then
/// .827816. The capture's other batched message (SC/EUR, line 41: a buy, 0.042980 then 0.043000) is
/// also in time order, as is the documented example (https://docs.kraken.com/api/docs/websocket-v1/trade:
/// 1534614057.321597 then .324998). Delivered as listed.
#[test]
fn kraken_v1_trades_are_listed_oldest_first() {
    let live = r#"[993,[["354.04000000","0.28245396","1618678150.826417","s","m",""],["353.81000000","1.71754604","1618678150.827816","s","m",""]],"trade","XMR/USD"]"#;
    let mut f = Feed::new(Venue::Kraken, &FeedOptions::default());
    let t = |p, q| ("XMR/USD".to_owned(), dec(p), dec(q), true, None);
    assert_eq!(trades(&mut f, live), [t("354.04000000", "0.28245396"), t("353.81000000", "1.71754604")]);
    assert_eq!(f.last_quote().1.px, dec("353.81000000"));
}

/// Bybit v5 documents the order: `data` "Object. The element in the array is sort by matching time in
/// ascending order" (https://bybit-exchange.github.io/docs/v5/websocket/public/trade; one page for
/// spot, linear, inverse and option). A spot message of six trades, verbatim (github.com/eduDorus/arkin
/// arkin-core/src/models/exchange/bybit_spot.rs, `test_bybit_spot_trade`, 2025-01-01): a buy walking
/// up the asks, trade ids 2290000000587387108 to …113 ascending. Delivered as listed; a list in any
/// other order is taken as Bybit wrote it (its derivatives' ids are UUIDs, which order nothing).
#[test]
fn bybit_trades_are_listed_oldest_first() {
    let spot = r#"{"topic":"publicTrade.BTCUSDT","ts":1735689653900,"type":"snapshot","data":[{"i":"2290000000587387108","T":1735689653898,"p":"93611.04","v":"0.000725","S":"Buy","s":"BTCUSDT","BT":false},{"i":"2290000000587387109","T":1735689653898,"p":"93611.77","v":"0.001378","S":"Buy","s":"BTCUSDT","BT":false},{"i":"2290000000587387110","T":1735689653898,"p":"93611.91","v":"0.004331","S":"Buy","s":"BTCUSDT","BT":false},{"i":"2290000000587387111","T":1735689653898,"p":"93612.31","v":"0.018594","S":"Buy","s":"BTCUSDT","BT":false},{"i":"2290000000587387112","T":1735689653898,"p":"93612.51","v":"0.03205","S":"Buy","s":"BTCUSDT","BT":false},{"i":"2290000000587387113","T":1735689653898,"p":"93612.93","v":"0.0001","S":"Buy","s":"BTCUSDT","BT":false}]}"#;
    let mut f = Feed::new(Venue::Bybit, &FeedOptions::default());
    let got = trades(&mut f, spot);
    assert_eq!(
        got.iter().map(|t| t.4.unwrap() - 2290000000587387100).collect::<Vec<_>>(),
        [8, 9, 10, 11, 12, 13]
    );
    assert!(got.iter().all(|t| t.0 == "BTCUSDT" && !t.3));
    assert_eq!((f.last_quote().1.px, f.last_quote().1.qty), (dec("93612.93"), dec("0.0001")));
    // The first two listed the other way round stay so: Bybit's documented order is trusted.
    let a = r#"{"i":"2290000000587387108","T":1735689653898,"p":"93611.04","v":"0.000725","S":"Buy","s":"BTCUSDT","BT":false}"#;
    let b = r#"{"i":"2290000000587387109","T":1735689653898,"p":"93611.77","v":"0.001378","S":"Buy","s":"BTCUSDT","BT":false}"#;
    let swapped = spot.replace(&format!("{a},{b}"), &format!("{b},{a}"));
    assert_ne!(swapped, spot);
    assert_eq!(trades(&mut f, &swapped)[..2].iter().map(|t| t.4.unwrap() % 10).collect::<Vec<_>>(), [9, 8]);
}

/// HTX lists a push's trades newest first: the real capture (`../shared/fixtures/real/htx.jsonl`)
/// holds 10 `trade.detail` pushes of several trades, every one in descending tradeId order. Line 77,
/// gunzipped, verbatim: a buy of fil3susdt walking up the asks, 1.3302E-4 (tradeId 5957205) then
/// 1.3303E-4 (5957206), listed the other way round. Delivered in tradeId order (`htx.rs` `trades`).
#[test]
fn htx_captured_pushes_listed_newest_first_are_delivered_oldest_first() {
    let live = r#"{"ch":"market.fil3susdt.trade.detail","ts":1618678071891,"tick":{"id":677689788,"ts":1618678071887,"data":[{"id":677689788255757382474787,"ts":1618678071887,"tradeId":5957206,"amount":543526.9513115989,"price":1.3303E-4,"direction":"buy"},{"id":677689788255757466856372,"ts":1618678071887,"tradeId":5957205,"amount":119142.1159,"price":1.3302E-4,"direction":"buy"}]}}"#;
    let mut f = Feed::new(Venue::Htx, &FeedOptions::default());
    let got = trades(&mut f, live);
    assert_eq!(
        got.iter().map(|t| (t.4, t.1)).collect::<Vec<_>>(),
        [(Some(5957205), dec("0.00013302")), (Some(5957206), dec("0.00013303"))]
    );
    assert!(got.iter().all(|t| t.0 == "fil3susdt" && !t.3));
    assert_eq!(f.last_quote().1.px, dec("0.00013303"));
}
