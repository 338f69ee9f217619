//! SBE encoder for the four stream templates, from plain structs.
//!
//! Used by tests and by the venue simulator. [`EncodeOptions`] can make the encoder act like a newer
//! schema version (extra root / group-entry bytes, announced in the blockLengths) or send a different
//! schema id, to exercise a decoder's evolution rules.

use super::layout::{self, best_bid_ask as bba, depth_diff, depth_snapshot, group16, group32, header, level};
use super::view::{Message, Trade};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("symbol is {0} bytes; varString8 holds at most 255")]
    SymbolTooLong(usize),
    #[error("group {what} has {count} entries; its dimension type holds at most {max}")]
    GroupTooLarge { what: &'static str, count: usize, max: usize },
    #[error("blockLength {0} does not fit u16")]
    BlockTooLong(usize),
}

/// Filler for appended bytes: non-zero, so a decoder that reads them by mistake shows it.
pub const EXTRA_FILL: u8 = 0xA5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub schema_id: u16,
    pub version: u16,
    /// Bytes appended to the root block (counted in the header's blockLength).
    pub extra_root: u16,
    /// Bytes appended to every group entry (counted in the group's blockLength).
    pub extra_entry: u16,
    /// Bytes appended after the symbol (a newer version's var-data).
    pub extra_tail: u16,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            schema_id: layout::SCHEMA_ID,
            version: layout::SCHEMA_VERSION,
            extra_root: 0,
            extra_entry: 0,
            extra_tail: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TradesMsg {
    pub event_time_us: i64,
    pub transact_time_us: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub trades: Vec<Trade>,
    pub symbol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BestBidAskMsg {
    pub event_time_us: i64,
    pub book_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bid_price: i64,
    pub bid_qty: i64,
    pub ask_price: i64,
    pub ask_qty: i64,
    pub symbol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DepthSnapshotMsg {
    pub event_time_us: i64,
    pub book_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    /// `(price_mantissa, qty_mantissa)`.
    pub bids: Vec<(i64, i64)>,
    pub asks: Vec<(i64, i64)>,
    pub symbol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DepthDiffMsg {
    pub event_time_us: i64,
    pub first_update_id: i64,
    pub last_update_id: i64,
    pub price_exponent: i8,
    pub qty_exponent: i8,
    pub bids: Vec<(i64, i64)>,
    pub asks: Vec<(i64, i64)>,
    pub symbol: String,
}

/// An owned stream message, the encoder's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedMessage {
    Trades(TradesMsg),
    BestBidAsk(BestBidAskMsg),
    DepthSnapshot(DepthSnapshotMsg),
    DepthDiff(DepthDiffMsg),
}

impl From<Message<'_>> for OwnedMessage {
    fn from(m: Message<'_>) -> Self {
        match m {
            Message::Trades(t) => OwnedMessage::Trades(TradesMsg {
                event_time_us: t.event_time_us,
                transact_time_us: t.transact_time_us,
                price_exponent: t.price_exponent,
                qty_exponent: t.qty_exponent,
                trades: t.trades.iter().collect(),
                symbol: t.symbol.to_owned(),
            }),
            Message::BestBidAsk(b) => OwnedMessage::BestBidAsk(BestBidAskMsg {
                event_time_us: b.event_time_us,
                book_update_id: b.book_update_id,
                price_exponent: b.price_exponent,
                qty_exponent: b.qty_exponent,
                bid_price: b.bid_price,
                bid_qty: b.bid_qty,
                ask_price: b.ask_price,
                ask_qty: b.ask_qty,
                symbol: b.symbol.to_owned(),
            }),
            Message::DepthSnapshot(d) => OwnedMessage::DepthSnapshot(DepthSnapshotMsg {
                event_time_us: d.event_time_us,
                book_update_id: d.book_update_id,
                price_exponent: d.price_exponent,
                qty_exponent: d.qty_exponent,
                bids: d.bids.iter().collect(),
                asks: d.asks.iter().collect(),
                symbol: d.symbol.to_owned(),
            }),
            Message::DepthDiff(d) => OwnedMessage::DepthDiff(DepthDiffMsg {
                event_time_us: d.event_time_us,
                first_update_id: d.first_update_id,
                last_update_id: d.last_update_id,
                price_exponent: d.price_exponent,
                qty_exponent: d.qty_exponent,
                bids: d.bids.iter().collect(),
                asks: d.asks.iter().collect(),
                symbol: d.symbol.to_owned(),
            }),
        }
    }
}

/// Writes fields at their schema offsets into a block of known length.
struct Block<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
}

impl<'o> Block<'o> {
    fn open(out: &'o mut Vec<u8>, len: usize, extra: u16) -> Self {
        let start = out.len();
        out.resize(start + len, 0);
        out.resize(start + len + extra as usize, EXTRA_FILL);
        Self { out, start }
    }
    fn put(&mut self, off: usize, bytes: &[u8]) {
        let at = self.start + off;
        self.out[at..at + bytes.len()].copy_from_slice(bytes);
    }
    fn i64(&mut self, off: usize, v: i64) {
        self.put(off, &v.to_le_bytes());
    }
    fn i8(&mut self, off: usize, v: i8) {
        self.put(off, &v.to_le_bytes());
    }
}

fn block_len(base: usize, extra: u16) -> Result<u16, EncodeError> {
    u16::try_from(base + extra as usize).map_err(|_| EncodeError::BlockTooLong(base + extra as usize))
}

fn put_header(out: &mut Vec<u8>, root: u16, template: u16, o: &EncodeOptions) {
    let mut h = [0u8; header::LEN];
    h[header::BLOCK_LENGTH..][..2].copy_from_slice(&root.to_le_bytes());
    h[header::TEMPLATE_ID..][..2].copy_from_slice(&template.to_le_bytes());
    h[header::SCHEMA_ID..][..2].copy_from_slice(&o.schema_id.to_le_bytes());
    h[header::VERSION..][..2].copy_from_slice(&o.version.to_le_bytes());
    out.extend_from_slice(&h);
}

fn put_levels(
    out: &mut Vec<u8>,
    what: &'static str,
    levels: &[(i64, i64)],
    o: &EncodeOptions,
) -> Result<(), EncodeError> {
    let count = u16::try_from(levels.len()).map_err(|_| EncodeError::GroupTooLarge {
        what,
        count: levels.len(),
        max: u16::MAX as usize,
    })?;
    let mut h = [0u8; group16::LEN];
    h[group16::BLOCK_LENGTH..][..2].copy_from_slice(&block_len(level::LEN, o.extra_entry)?.to_le_bytes());
    h[group16::NUM_IN_GROUP..][..2].copy_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&h);
    for &(p, q) in levels {
        let mut b = Block::open(out, level::LEN, o.extra_entry);
        b.i64(level::PRICE, p);
        b.i64(level::QTY, q);
    }
    Ok(())
}

fn put_symbol(out: &mut Vec<u8>, symbol: &str, o: &EncodeOptions) -> Result<(), EncodeError> {
    let len = u8::try_from(symbol.len()).map_err(|_| EncodeError::SymbolTooLong(symbol.len()))?;
    out.push(len);
    out.extend_from_slice(symbol.as_bytes());
    out.resize(out.len() + o.extra_tail as usize, EXTRA_FILL);
    Ok(())
}

/// Appends the encoding of `msg` to `out`. On error `out` may hold a partial frame.
pub fn encode(msg: &OwnedMessage, o: &EncodeOptions, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match msg {
        OwnedMessage::Trades(m) => {
            use layout::trades as t;
            put_header(out, block_len(t::BLOCK_LENGTH, o.extra_root)?, t::TEMPLATE_ID, o);
            let mut b = Block::open(out, t::BLOCK_LENGTH, o.extra_root);
            b.i64(t::EVENT_TIME, m.event_time_us);
            b.i64(t::TRANSACT_TIME, m.transact_time_us);
            b.i8(t::PRICE_EXPONENT, m.price_exponent);
            b.i8(t::QTY_EXPONENT, m.qty_exponent);
            let count = u32::try_from(m.trades.len()).ok().filter(|&c| c <= group32::MAX_COUNT).ok_or(
                EncodeError::GroupTooLarge {
                    what: "trades",
                    count: m.trades.len(),
                    max: group32::MAX_COUNT as usize,
                },
            )?;
            let mut h = [0u8; group32::LEN];
            h[group32::BLOCK_LENGTH..][..2]
                .copy_from_slice(&block_len(t::entry::LEN, o.extra_entry)?.to_le_bytes());
            h[group32::NUM_IN_GROUP..][..4].copy_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&h);
            for tr in &m.trades {
                let mut b = Block::open(out, t::entry::LEN, o.extra_entry);
                b.i64(t::entry::ID, tr.id);
                b.i64(t::entry::PRICE, tr.price);
                b.i64(t::entry::QTY, tr.qty);
                b.put(t::entry::IS_BUYER_MAKER, &[tr.is_buyer_maker as u8]);
            }
            put_symbol(out, &m.symbol, o)
        }
        OwnedMessage::BestBidAsk(m) => {
            put_header(out, block_len(bba::BLOCK_LENGTH, o.extra_root)?, bba::TEMPLATE_ID, o);
            let mut b = Block::open(out, bba::BLOCK_LENGTH, o.extra_root);
            b.i64(bba::EVENT_TIME, m.event_time_us);
            b.i64(bba::BOOK_UPDATE_ID, m.book_update_id);
            b.i8(bba::PRICE_EXPONENT, m.price_exponent);
            b.i8(bba::QTY_EXPONENT, m.qty_exponent);
            b.i64(bba::BID_PRICE, m.bid_price);
            b.i64(bba::BID_QTY, m.bid_qty);
            b.i64(bba::ASK_PRICE, m.ask_price);
            b.i64(bba::ASK_QTY, m.ask_qty);
            put_symbol(out, &m.symbol, o)
        }
        OwnedMessage::DepthSnapshot(m) => {
            use depth_snapshot as d;
            put_header(out, block_len(d::BLOCK_LENGTH, o.extra_root)?, d::TEMPLATE_ID, o);
            let mut b = Block::open(out, d::BLOCK_LENGTH, o.extra_root);
            b.i64(d::EVENT_TIME, m.event_time_us);
            b.i64(d::BOOK_UPDATE_ID, m.book_update_id);
            b.i8(d::PRICE_EXPONENT, m.price_exponent);
            b.i8(d::QTY_EXPONENT, m.qty_exponent);
            put_levels(out, "bids", &m.bids, o)?;
            put_levels(out, "asks", &m.asks, o)?;
            put_symbol(out, &m.symbol, o)
        }
        OwnedMessage::DepthDiff(m) => {
            use depth_diff as d;
            put_header(out, block_len(d::BLOCK_LENGTH, o.extra_root)?, d::TEMPLATE_ID, o);
            let mut b = Block::open(out, d::BLOCK_LENGTH, o.extra_root);
            b.i64(d::EVENT_TIME, m.event_time_us);
            b.i64(d::FIRST_BOOK_UPDATE_ID, m.first_update_id);
            b.i64(d::LAST_BOOK_UPDATE_ID, m.last_update_id);
            b.i8(d::PRICE_EXPONENT, m.price_exponent);
            b.i8(d::QTY_EXPONENT, m.qty_exponent);
            put_levels(out, "bids", &m.bids, o)?;
            put_levels(out, "asks", &m.asks, o)?;
            put_symbol(out, &m.symbol, o)
        }
    }
}

/// Convenience: a fresh buffer holding one encoded frame.
pub fn encode_to_vec(msg: &OwnedMessage, o: &EncodeOptions) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(256);
    encode(msg, o, &mut out)?;
    Ok(out)
}
