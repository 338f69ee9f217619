use proptest::prelude::*;

use super::encode::*;
use super::*;

fn levels_strategy() -> impl Strategy<Value = Vec<(i64, i64)>> {
    proptest::collection::vec((any::<i64>(), any::<i64>()), 0..50)
}

fn symbol_strategy() -> impl Strategy<Value = String> {
    // Up to 255 bytes of UTF-8, multi-byte characters included.
    "[A-Z0-9µ€]{0,60}"
}

fn message_strategy() -> impl Strategy<Value = OwnedMessage> {
    let trade = (any::<i64>(), any::<i64>(), any::<i64>(), any::<bool>())
        .prop_map(|(id, price, qty, is_buyer_maker)| Trade { id, price, qty, is_buyer_maker });
    prop_oneof![
        (
            any::<i64>(),
            any::<i64>(),
            any::<i8>(),
            any::<i8>(),
            proptest::collection::vec(trade, 0..20),
            symbol_strategy()
        )
            .prop_map(|(e, t, pe, qe, trades, symbol)| OwnedMessage::Trades(TradesMsg {
                event_time_us: e,
                transact_time_us: t,
                price_exponent: pe,
                qty_exponent: qe,
                trades,
                symbol
            })),
        (any::<[i64; 6]>(), any::<i8>(), any::<i8>(), symbol_strategy()).prop_map(|(v, pe, qe, symbol)| {
            OwnedMessage::BestBidAsk(BestBidAskMsg {
                event_time_us: v[0],
                book_update_id: v[1],
                price_exponent: pe,
                qty_exponent: qe,
                bid_price: v[2],
                bid_qty: v[3],
                ask_price: v[4],
                ask_qty: v[5],
                symbol,
            })
        }),
        (
            any::<[i64; 2]>(),
            any::<i8>(),
            any::<i8>(),
            levels_strategy(),
            levels_strategy(),
            symbol_strategy()
        )
            .prop_map(|(v, pe, qe, bids, asks, symbol)| OwnedMessage::DepthSnapshot(
                DepthSnapshotMsg {
                    event_time_us: v[0],
                    book_update_id: v[1],
                    price_exponent: pe,
                    qty_exponent: qe,
                    bids,
                    asks,
                    symbol
                }
            )),
        (
            any::<[i64; 3]>(),
            any::<i8>(),
            any::<i8>(),
            levels_strategy(),
            levels_strategy(),
            symbol_strategy()
        )
            .prop_map(|(v, pe, qe, bids, asks, symbol)| OwnedMessage::DepthDiff(DepthDiffMsg {
                event_time_us: v[0],
                first_update_id: v[1],
                last_update_id: v[2],
                price_exponent: pe,
                qty_exponent: qe,
                bids,
                asks,
                symbol
            })),
    ]
}

fn diff(levels: usize) -> DepthDiffMsg {
    DepthDiffMsg {
        event_time_us: 1_700_000_000_123_456,
        first_update_id: 1000,
        last_update_id: 1040,
        price_exponent: -2,
        qty_exponent: -8,
        bids: (0..levels as i64).map(|i| (6_500_000 - i, 1_0000_0000 + i)).collect(),
        asks: (0..levels as i64).map(|i| (6_500_001 + i, 0)).collect(),
        symbol: "BTCUSDT".into(),
    }
}

/// A depth-diff frame written byte by byte from venues.md §1.5 (header, root 26 bytes, two
/// groupSize16Encoding groups of 16-byte levels, varString8), independent of `layout` and the encoder.
fn handmade_diff() -> Vec<u8> {
    let mut f = Vec::new();
    for v in [26u16, 10003, 1, 0] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&1_700_000_000_000_001i64.to_le_bytes());
    f.extend_from_slice(&157i64.to_le_bytes());
    f.extend_from_slice(&160i64.to_le_bytes());
    f.push(-8i8 as u8);
    f.push(-3i8 as u8);
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&240_000i64.to_le_bytes());
    f.extend_from_slice(&10_000i64.to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    for (p, q) in [(260_000i64, 100_000i64), (270_000, 0)] {
        f.extend_from_slice(&p.to_le_bytes());
        f.extend_from_slice(&q.to_le_bytes());
    }
    f.push(6);
    f.extend_from_slice(b"BNBBTC");
    f
}

#[test]
fn handmade_frame_decodes() {
    let f = handmade_diff();
    let Message::DepthDiff(d) = decode(&f).unwrap() else { panic!("wrong template") };
    assert_eq!(d.event_time_us, 1_700_000_000_000_001);
    assert_eq!((d.first_update_id, d.last_update_id), (157, 160));
    assert_eq!((d.price_exponent, d.qty_exponent), (-8, -3));
    assert_eq!(d.bids.iter().collect::<Vec<_>>(), [(240_000, 10_000)]);
    assert_eq!(d.asks.iter().collect::<Vec<_>>(), [(260_000, 100_000), (270_000, 0)]);
    assert_eq!(d.asks.len(), 2);
    assert_eq!(d.asks.get(1), Some((270_000, 0)));
    assert_eq!(d.asks.get(2), None);
    assert_eq!(d.symbol, "BNBBTC");
    // And our encoder writes exactly those bytes.
    let m = DepthDiffMsg {
        event_time_us: 1_700_000_000_000_001,
        first_update_id: 157,
        last_update_id: 160,
        price_exponent: -8,
        qty_exponent: -3,
        bids: vec![(240_000, 10_000)],
        asks: vec![(260_000, 100_000), (270_000, 0)],
        symbol: "BNBBTC".into(),
    };
    assert_eq!(encode_to_vec(&OwnedMessage::DepthDiff(m), &EncodeOptions::default()).unwrap(), f);
}

#[test]
fn every_truncation_of_every_template_is_a_typed_error() {
    let msgs = [
        OwnedMessage::DepthDiff(diff(3)),
        OwnedMessage::DepthSnapshot(DepthSnapshotMsg {
            bids: vec![(1, 2)],
            asks: vec![(3, 4), (5, 6)],
            symbol: "ETHUSDT".into(),
            ..Default::default()
        }),
        OwnedMessage::BestBidAsk(BestBidAskMsg { symbol: "X".into(), ..Default::default() }),
        OwnedMessage::Trades(TradesMsg {
            trades: vec![Trade { id: 1, price: 2, qty: 3, is_buyer_maker: true }; 3],
            symbol: "BNBBTC".into(),
            ..Default::default()
        }),
    ];
    for m in &msgs {
        let f = encode_to_vec(m, &EncodeOptions::default()).unwrap();
        for cut in 0..f.len() {
            match decode(&f[..cut]) {
                Err(DecodeError::SbeTruncated { offset, needed, len }) => {
                    assert_eq!(len, cut);
                    assert!(offset + needed > cut, "cut {cut}: offset {offset} needed {needed}");
                }
                // A cut inside a group body shows as a group that cannot fit.
                Err(DecodeError::SbeGroupTooLarge { .. }) => {}
                other => panic!("cut {cut} of {m:?}: {other:?}"),
            }
        }
        assert_eq!(OwnedMessage::from(decode(&f).unwrap()), *m);
    }
}

#[test]
fn header_errors() {
    let mut f = handmade_diff();
    f[4] = 2; // schemaId 2
    assert_eq!(decode(&f).unwrap_err(), DecodeError::SbeWrongSchema { schema_id: 2, version: 0 });
    let mut f = handmade_diff();
    f[2..4].copy_from_slice(&10004u16.to_le_bytes());
    assert_eq!(decode(&f).unwrap_err(), DecodeError::SbeUnknownTemplate(10004));
    let mut f = handmade_diff();
    f[0] = 25; // root blockLength below the schema's 26
    assert!(matches!(decode(&f).unwrap_err(), DecodeError::SbeBlockTooShort { min: 26, got: 25, .. }));
    let mut f = handmade_diff();
    f[34] = 15; // bids group blockLength below 16
    assert!(matches!(decode(&f).unwrap_err(), DecodeError::SbeBlockTooShort { offset: 34, got: 15, .. }));
}

#[test]
fn absurd_counts_fail_before_anything_is_read() {
    let mut f = handmade_diff();
    f[36..38].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(matches!(
        decode(&f).unwrap_err(),
        DecodeError::SbeGroupTooLarge { what: "bids", offset: 34, count: 65535, .. }
    ));
    let m = OwnedMessage::Trades(TradesMsg { symbol: "A".into(), ..Default::default() });
    let mut f = encode_to_vec(&m, &EncodeOptions::default()).unwrap();
    // trades group header at 8 + 18; numInGroup u32 at +2.
    f[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode(&f).unwrap_err(),
        DecodeError::SbeGroupTooLarge { what: "trades", count: 4_294_967_295, max: 2_147_483_647, .. }
    ));
    f[28..32].copy_from_slice(&2_000_000_000u32.to_le_bytes());
    assert!(matches!(decode(&f).unwrap_err(), DecodeError::SbeGroupTooLarge { max: 0, .. }));
}

#[test]
fn invalid_bool_and_utf8_are_refused() {
    let m = OwnedMessage::Trades(TradesMsg {
        trades: vec![Trade { id: 9, price: 1, qty: 1, is_buyer_maker: false }; 2],
        symbol: "AB".into(),
        ..Default::default()
    });
    let mut f = encode_to_vec(&m, &EncodeOptions::default()).unwrap();
    let at = 8 + 18 + 6 + 25 + 24; // second trade's isBuyerMaker
    f[at] = 2;
    assert_eq!(
        decode(&f).unwrap_err(),
        DecodeError::SbeInvalidValue { what: "isBuyerMaker", offset: at, value: 2 }
    );
    let mut f = handmade_diff();
    let n = f.len();
    f[n - 1] = 0xff;
    assert_eq!(decode(&f).unwrap_err(), DecodeError::SbeInvalidUtf8 { offset: n - 6 });
}

#[test]
fn encoder_refuses_what_the_wire_cannot_hold() {
    let long = OwnedMessage::BestBidAsk(BestBidAskMsg { symbol: "x".repeat(256), ..Default::default() });
    assert_eq!(encode_to_vec(&long, &EncodeOptions::default()), Err(EncodeError::SymbolTooLong(256)));
    let mut big = diff(0);
    big.bids = vec![(1, 1); 65_536];
    assert!(matches!(
        encode_to_vec(&OwnedMessage::DepthDiff(big), &EncodeOptions::default()),
        Err(EncodeError::GroupTooLarge { what: "bids", .. })
    ));
    let o = EncodeOptions { extra_root: u16::MAX, ..Default::default() };
    assert!(matches!(
        encode_to_vec(&OwnedMessage::DepthDiff(diff(1)), &o),
        Err(EncodeError::BlockTooLong(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(m in message_strategy()) {
        let f = encode_to_vec(&m, &EncodeOptions::default()).unwrap();
        prop_assert_eq!(OwnedMessage::from(decode(&f).unwrap()), m);
    }

    /// A newer schema version appending root fields, entry fields and var-data decodes to the same
    /// values: the decoder honours every blockLength.
    #[test]
    fn evolution_extra_bytes_are_skipped(
        m in message_strategy(),
        extra_root in 0u16..40,
        extra_entry in 0u16..40,
        extra_tail in 0u16..8,
        version in any::<u16>(),
    ) {
        let o = EncodeOptions { version, extra_root, extra_entry, extra_tail, ..Default::default() };
        let f = encode_to_vec(&m, &o).unwrap();
        let plain = encode_to_vec(&m, &EncodeOptions::default()).unwrap();
        prop_assert_eq!(decode_header(&f).unwrap().version, version);
        prop_assert!(f.len() >= plain.len());
        prop_assert_eq!(OwnedMessage::from(decode(&f).unwrap()), m);
    }

    /// Fuzz: flipped bytes and truncations of valid frames give a typed error or a valid decode.
    #[test]
    fn mutated_frames_never_panic(
        m in message_strategy(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut f = encode_to_vec(&m, &EncodeOptions::default()).unwrap();
        for (at, x) in &flips {
            let i = at.index(f.len());
            f[i] ^= x;
        }
        if truncate {
            f.truncate(cut.index(f.len() + 1));
        }
        if let Ok(msg) = decode(&f) {
            // Whatever was accepted is internally consistent and re-encodes to a frame that decodes
            // to the same values.
            let owned = OwnedMessage::from(msg);
            let again = encode_to_vec(&owned, &EncodeOptions::default()).unwrap();
            prop_assert_eq!(OwnedMessage::from(decode(&again).unwrap()), owned);
        }
    }

    #[test]
    fn random_bytes_never_panic(mut f in proptest::collection::vec(any::<u8>(), 0..300), t in 10000u16..10004) {
        // Half the cases get a valid header so the body parsers see the noise too.
        if f.len() >= 8 && f[0] & 1 == 0 {
            f[2..4].copy_from_slice(&t.to_le_bytes());
            f[4..6].copy_from_slice(&1u16.to_le_bytes());
        }
        let _ = decode(&f);
    }
}
