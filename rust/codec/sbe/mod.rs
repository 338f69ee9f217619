//! Binance SBE market-data streams (schema `spot_stream` id 1, `stream_1_0.xml`): a zero-copy decoder
//! and an encoder for tests and the venue simulator.
//!
//! [`decode`] validates the whole frame once (header, every blockLength, every group's size against the
//! bytes present, enum values, the symbol's UTF-8) and returns a [`Message`] view that borrows the
//! frame; its iterators then read levels/trades without further checks or allocation.
//!
//! Schema evolution: the blockLength of the message header and of each group header is honoured, so
//! fields a newer schema version appends to the root block or to group entries are skipped. A block
//! shorter than this schema's is refused. Data after the symbol (a newer version's var-data) is ignored.
//! A schema id other than 1 is refused; any version is accepted under those rules.

pub mod encode;
pub mod layout;
mod view;

pub use view::{
    BestBidAskEvent, DepthDiffEvent, DepthSnapshotEvent, LevelIter, Levels, Message, Trade, TradeIter,
    Trades, TradesEvent,
};

use self::layout::{best_bid_ask as bba, depth_diff, depth_snapshot, group16, group32, header, level};
use self::view::{i64_at, i8_at, rd};
use super::error::DecodeError;

/// The fixed message header, first 8 bytes of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub block_length: u16,
    pub template_id: u16,
    pub schema_id: u16,
    pub version: u16,
}

/// Bounds-checked reader over one frame; every error names the offset where it stopped.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(DecodeError::SbeTruncated { offset: self.pos, needed: n, len: self.buf.len() })?;
        self.pos += n;
        Ok(s)
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The root block: `block_length` bytes, of which the schema's first `min` are ours.
    #[inline(always)]
    fn root(&mut self, block_length: u16, min: usize) -> Result<&'a [u8], DecodeError> {
        if (block_length as usize) < min {
            return Err(DecodeError::SbeBlockTooShort {
                what: "message root",
                offset: header::BLOCK_LENGTH,
                got: block_length,
                min: min as u16,
            });
        }
        self.take(block_length as usize)
    }

    /// A groupSize16Encoding group of book levels.
    #[inline(always)]
    fn levels(&mut self, what: &'static str) -> Result<Levels<'a>, DecodeError> {
        let at = self.pos;
        let h = self.take(group16::LEN)?;
        let block = u16::from_le_bytes(rd(h, group16::BLOCK_LENGTH));
        let count = u16::from_le_bytes(rd(h, group16::NUM_IN_GROUP));
        let data = self.group_body(what, at, block, count as u32, level::LEN)?;
        Ok(Levels::new(data, block as usize))
    }

    /// Checks a group's entry size and count against the schema and the bytes left, then takes it.
    #[inline(always)]
    fn group_body(
        &mut self,
        what: &'static str,
        at: usize,
        block: u16,
        count: u32,
        min_block: usize,
    ) -> Result<&'a [u8], DecodeError> {
        if (block as usize) < min_block {
            return Err(DecodeError::SbeBlockTooShort {
                what,
                offset: at,
                got: block,
                min: min_block as u16,
            });
        }
        // u32 * u16 cannot overflow u64; nothing is allocated whatever the count says.
        let total = count as u64 * block as u64;
        if total > self.remaining() as u64 {
            let max = self.remaining() as u64 / block as u64;
            return Err(DecodeError::SbeGroupTooLarge { what, offset: at, count: count as u64, max });
        }
        self.take(total as usize)
    }

    fn symbol(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.take(layout::VAR_STRING8_LENGTH_LEN)?[0] as usize;
        let at = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::SbeInvalidUtf8 { offset: at })
    }
}

/// Reads and checks the message header (schema id must be 1).
#[inline]
pub fn decode_header(frame: &[u8]) -> Result<Header, DecodeError> {
    let h = frame.get(..header::LEN).ok_or(DecodeError::SbeTruncated {
        offset: 0,
        needed: header::LEN,
        len: frame.len(),
    })?;
    let u = |off| u16::from_le_bytes(rd(h, off));
    let hdr = Header {
        block_length: u(header::BLOCK_LENGTH),
        template_id: u(header::TEMPLATE_ID),
        schema_id: u(header::SCHEMA_ID),
        version: u(header::VERSION),
    };
    if hdr.schema_id != layout::SCHEMA_ID {
        return Err(DecodeError::SbeWrongSchema { schema_id: hdr.schema_id, version: hdr.version });
    }
    Ok(hdr)
}

/// Decodes one SBE binary frame. The returned view borrows `frame`; nothing is allocated.
#[inline]
pub fn decode(frame: &[u8]) -> Result<Message<'_>, DecodeError> {
    let hdr = decode_header(frame)?;
    let mut c = Cursor { buf: frame, pos: header::LEN };
    match hdr.template_id {
        depth_diff::TEMPLATE_ID => {
            use depth_diff as d;
            let r = c.root(hdr.block_length, d::BLOCK_LENGTH)?;
            let bids = c.levels("bids")?;
            let asks = c.levels("asks")?;
            Ok(Message::DepthDiff(DepthDiffEvent {
                event_time_us: i64_at(r, d::EVENT_TIME),
                first_update_id: i64_at(r, d::FIRST_BOOK_UPDATE_ID),
                last_update_id: i64_at(r, d::LAST_BOOK_UPDATE_ID),
                price_exponent: i8_at(r, d::PRICE_EXPONENT),
                qty_exponent: i8_at(r, d::QTY_EXPONENT),
                bids,
                asks,
                symbol: c.symbol()?,
            }))
        }
        depth_snapshot::TEMPLATE_ID => {
            use depth_snapshot as d;
            let r = c.root(hdr.block_length, d::BLOCK_LENGTH)?;
            let bids = c.levels("bids")?;
            let asks = c.levels("asks")?;
            Ok(Message::DepthSnapshot(DepthSnapshotEvent {
                event_time_us: i64_at(r, d::EVENT_TIME),
                book_update_id: i64_at(r, d::BOOK_UPDATE_ID),
                price_exponent: i8_at(r, d::PRICE_EXPONENT),
                qty_exponent: i8_at(r, d::QTY_EXPONENT),
                bids,
                asks,
                symbol: c.symbol()?,
            }))
        }
        bba::TEMPLATE_ID => {
            let r = c.root(hdr.block_length, bba::BLOCK_LENGTH)?;
            Ok(Message::BestBidAsk(BestBidAskEvent {
                event_time_us: i64_at(r, bba::EVENT_TIME),
                book_update_id: i64_at(r, bba::BOOK_UPDATE_ID),
                price_exponent: i8_at(r, bba::PRICE_EXPONENT),
                qty_exponent: i8_at(r, bba::QTY_EXPONENT),
                bid_price: i64_at(r, bba::BID_PRICE),
                bid_qty: i64_at(r, bba::BID_QTY),
                ask_price: i64_at(r, bba::ASK_PRICE),
                ask_qty: i64_at(r, bba::ASK_QTY),
                symbol: c.symbol()?,
            }))
        }
        layout::trades::TEMPLATE_ID => decode_trades(hdr, c),
        other => Err(DecodeError::SbeUnknownTemplate(other)),
    }
}

fn decode_trades(hdr: Header, mut c: Cursor<'_>) -> Result<Message<'_>, DecodeError> {
    use layout::trades as t;
    let r = c.root(hdr.block_length, t::BLOCK_LENGTH)?;
    let at = c.pos;
    let h = c.take(group32::LEN)?;
    let block = u16::from_le_bytes(rd(h, group32::BLOCK_LENGTH));
    let count = u32::from_le_bytes(rd(h, group32::NUM_IN_GROUP));
    if count > group32::MAX_COUNT {
        return Err(DecodeError::SbeGroupTooLarge {
            what: "trades",
            offset: at,
            count: count as u64,
            max: group32::MAX_COUNT as u64,
        });
    }
    let data_at = at + group32::LEN;
    let data = c.group_body("trades", at, block, count, t::entry::LEN)?;
    // boolEnum: refuse anything but 0/1 here so the iterator can stay infallible.
    for (i, e) in data.chunks_exact(block as usize).enumerate() {
        let v = rd::<1>(e, t::entry::IS_BUYER_MAKER)[0];
        if v > 1 {
            return Err(DecodeError::SbeInvalidValue {
                what: "isBuyerMaker",
                offset: data_at + i * block as usize + t::entry::IS_BUYER_MAKER,
                value: v as i64,
            });
        }
    }
    Ok(Message::Trades(TradesEvent {
        event_time_us: i64_at(r, t::EVENT_TIME),
        transact_time_us: i64_at(r, t::TRANSACT_TIME),
        price_exponent: i8_at(r, t::PRICE_EXPONENT),
        qty_exponent: i8_at(r, t::QTY_EXPONENT),
        trades: Trades::new(data, block as usize),
        symbol: c.symbol()?,
    }))
}

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod tests;
