//! Zero-copy views of decoded SBE messages. Every bound was checked by the decoder that built them.

use std::iter::FusedIterator;
use std::slice::ChunksExact;

use super::layout::{level, trades};

#[inline(always)]
pub(super) fn rd<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    // The decoder validated every block before building a view; the fallback is unreachable and only
    // keeps a panic path out of the binary.
    match b.get(off..off + N) {
        Some(s) => {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            a
        }
        None => [0u8; N],
    }
}

#[inline(always)]
pub(super) fn i64_at(b: &[u8], off: usize) -> i64 {
    i64::from_le_bytes(rd(b, off))
}

#[inline(always)]
pub(super) fn i8_at(b: &[u8], off: usize) -> i8 {
    i8::from_le_bytes(rd(b, off))
}

/// The entries of a `bids` or `asks` group: `(price_mantissa, qty_mantissa)`, in wire order.
#[derive(Debug, Clone, Copy)]
pub struct Levels<'a> {
    /// Exactly `count * stride` bytes.
    data: &'a [u8],
    /// The group's blockLength (>= 16; larger when a newer schema appended fields).
    stride: usize,
}

impl<'a> Levels<'a> {
    pub(super) fn new(data: &'a [u8], stride: usize) -> Self {
        debug_assert!(stride >= level::LEN && data.len() % stride == 0);
        Self { data, stride }
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.stride
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The `i`-th level, or None past the end.
    pub fn get(&self, i: usize) -> Option<(i64, i64)> {
        let e = self.data.get(i.checked_mul(self.stride)?..)?.get(..level::LEN)?;
        Some((i64_at(e, level::PRICE), i64_at(e, level::QTY)))
    }

    pub fn iter(&self) -> LevelIter<'a> {
        LevelIter { chunks: self.data.chunks_exact(self.stride) }
    }
}

impl<'a> IntoIterator for Levels<'a> {
    type Item = (i64, i64);
    type IntoIter = LevelIter<'a>;
    fn into_iter(self) -> LevelIter<'a> {
        self.iter()
    }
}

/// Yields `(price_mantissa, qty_mantissa)`; scale with the message's exponents.
#[derive(Debug, Clone)]
pub struct LevelIter<'a> {
    chunks: ChunksExact<'a, u8>,
}

impl Iterator for LevelIter<'_> {
    type Item = (i64, i64);

    #[inline]
    fn next(&mut self) -> Option<(i64, i64)> {
        let e = self.chunks.next()?;
        Some((i64_at(e, level::PRICE), i64_at(e, level::QTY)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for LevelIter<'_> {}
impl FusedIterator for LevelIter<'_> {}

/// One trade of a `TradesStreamEvent` (mantissas; scale with the message's exponents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub id: i64,
    pub price: i64,
    pub qty: i64,
    pub is_buyer_maker: bool,
}

/// The entries of the `trades` group.
#[derive(Debug, Clone, Copy)]
pub struct Trades<'a> {
    data: &'a [u8],
    stride: usize,
}

impl<'a> Trades<'a> {
    pub(super) fn new(data: &'a [u8], stride: usize) -> Self {
        debug_assert!(stride >= trades::entry::LEN && data.len() % stride == 0);
        Self { data, stride }
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.stride
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn iter(&self) -> TradeIter<'a> {
        TradeIter { chunks: self.data.chunks_exact(self.stride) }
    }
}

impl<'a> IntoIterator for Trades<'a> {
    type Item = Trade;
    type IntoIter = TradeIter<'a>;
    fn into_iter(self) -> TradeIter<'a> {
        self.iter()
    }
}

#[derive(Debug, Clone)]
pub struct TradeIter<'a> {
    chunks: ChunksExact<'a, u8>,
}

impl Iterator for TradeIter<'_> {
    type Item = Trade;

    #[inline]
    fn next(&mut self) -> Option<Trade> {
        use trades::entry as e;
        let c = self.chunks.next()?;
        Some(Trade {
            id: i64_at(c, e::ID),
            price: i64_at(c, e::PRICE),
            qty: i64_at(c, e::QTY),
            // Validated as 0 or 1 by the decoder.
            is_buyer_maker: rd::<1>(c, e::IS_BUYER_MAKER)[0] == 1,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for TradeIter<'_> {}
impl FusedIterator for TradeIter<'_> {}

/// Template 10000, `<symbol>@trade`.
#[derive(Debug, Clone, Copy)]
pub struct TradesEvent<'a> {
    pub event_time_us: i64,
    pub transact_time_us: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub trades: Trades<'a>,
    pub symbol: &'a str,
}

/// Template 10001, `<symbol>@bestBidAsk` (auto-culled: intermediate updates may be skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestBidAskEvent<'a> {
    pub event_time_us: i64,
    pub book_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bid_price: i64,
    pub bid_qty: i64,
    pub ask_price: i64,
    pub ask_qty: i64,
    pub symbol: &'a str,
}

/// Template 10002, `<symbol>@depth20`: the top of the book, replacing what was there.
#[derive(Debug, Clone, Copy)]
pub struct DepthSnapshotEvent<'a> {
    pub event_time_us: i64,
    pub book_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bids: Levels<'a>,
    pub asks: Levels<'a>,
    pub symbol: &'a str,
}

/// Template 10003, `<symbol>@depth`: `first_update_id` is the JSON `U`, `last_update_id` is `u`.
#[derive(Debug, Clone, Copy)]
pub struct DepthDiffEvent<'a> {
    pub event_time_us: i64,
    pub first_update_id: i64,
    pub last_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bids: Levels<'a>,
    pub asks: Levels<'a>,
    pub symbol: &'a str,
}

/// A decoded stream message, borrowing the frame.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    Trades(TradesEvent<'a>),
    BestBidAsk(BestBidAskEvent<'a>),
    DepthSnapshot(DepthSnapshotEvent<'a>),
    DepthDiff(DepthDiffEvent<'a>),
}

impl<'a> Message<'a> {
    pub fn symbol(&self) -> &'a str {
        match self {
            Message::Trades(m) => m.symbol,
            Message::BestBidAsk(m) => m.symbol,
            Message::DepthSnapshot(m) => m.symbol,
            Message::DepthDiff(m) => m.symbol,
        }
    }

    pub fn event_time_us(&self) -> i64 {
        match self {
            Message::Trades(m) => m.event_time_us,
            Message::BestBidAsk(m) => m.event_time_us,
            Message::DepthSnapshot(m) => m.event_time_us,
            Message::DepthDiff(m) => m.event_time_us,
        }
    }
}
