//! Binance spot SBE market data (`stream-sbe.binance.com`, schema 1) into the same batch as the JSON
//! grammar: depth diffs (10003) follow the spot `U`/`u` rule with the REST snapshot, `depth20`
//! snapshots (10002) replace the top, best bid/ask (10001) and trades (10000) become events. Text
//! frames on that connection (subscription replies) go to the JSON grammar.

use super::{binance, span, Batch, Decoder, FrameKind, Msg, TradeItem, VenueSpec};
use crate::book::num::{Dec, NumError};
use crate::book::sync::{SeqInfo, NO_SEQ};
use crate::codec::error::DecodeError;
use crate::codec::sbe::{self, Levels, Message};
use thiserror::Error;

/// Binance spot over SBE: the same books, ids and REST snapshots as the JSON streams.
pub const SPEC: VenueSpec = VenueSpec {
    name: "binance-sbe",
    aliases: &[],
    decoder: Decoder::Sbe { binary: decode, text: binance::decode },
    ..binance::SPOT_SPEC
};

#[derive(Debug, Error)]
pub enum SbeError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("{symbol}: {err}")]
    Value { symbol: String, err: NumError },
}

/// Whether `frame` starts with a schema-1 SBE header of a market-data template (JSON text cannot:
/// its bytes 2..6 would have to be the binary ids).
pub fn is_sbe(frame: &[u8]) -> bool {
    match frame {
        [_, _, t0, t1, s0, s1, ..] => {
            (10_000..=10_003).contains(&u16::from_le_bytes([*t0, *t1])) && u16::from_le_bytes([*s0, *s1]) == 1
        }
        _ => false,
    }
}

fn dec(m: i64, e: i8, symbol: &str) -> Result<Dec, SbeError> {
    Dec::from_mantissa_exponent(m, e).map_err(|err| SbeError::Value { symbol: symbol.to_owned(), err })
}

fn push(
    out: &mut Batch,
    ask: bool,
    levels: Levels<'_>,
    pe: i8,
    qe: i8,
    symbol: &str,
) -> Result<(), SbeError> {
    for (p, q) in levels {
        out.push(ask, dec(p, pe, symbol)?, dec(q, qe, symbol)?);
    }
    Ok(())
}

/// Decodes one binary frame; the caller sends text frames to `binance::decode`.
pub fn decode(frame: &[u8], out: &mut Batch) -> Result<(), SbeError> {
    let msg = sbe::decode(frame)?;
    let sym = span(frame, msg.symbol().as_bytes());
    match msg {
        Message::DepthDiff(d) => {
            let m = out.begin();
            push(out, false, d.bids, d.price_exponent, d.qty_exponent, d.symbol)?;
            push(out, true, d.asks, d.price_exponent, d.qty_exponent, d.symbol)?;
            let seq = SeqInfo { first: d.first_update_id, last: d.last_update_id, prev: NO_SEQ };
            out.end_msg(Msg { sym, seq, ..m });
        }
        Message::DepthSnapshot(d) => {
            let m = out.begin();
            push(out, false, d.bids, d.price_exponent, d.qty_exponent, d.symbol)?;
            push(out, true, d.asks, d.price_exponent, d.qty_exponent, d.symbol)?;
            let id = d.book_update_id;
            out.end_msg(Msg { sym, snapshot: true, seq: SeqInfo { first: id, last: id, prev: NO_SEQ }, ..m });
        }
        Message::BestBidAsk(b) => {
            let (pe, qe, s) = (b.price_exponent, b.qty_exponent, b.symbol);
            let q = &mut out.quote;
            q.sym = sym;
            q.bid_px = dec(b.bid_price, pe, s)?;
            q.bid_qty = dec(b.bid_qty, qe, s)?;
            q.ask_px = dec(b.ask_price, pe, s)?;
            q.ask_qty = dec(b.ask_qty, qe, s)?;
            out.kind = FrameKind::Bbo;
        }
        Message::Trades(t) => {
            // One event per trade of the group (an empty group is still a trade frame).
            out.kind = FrameKind::Trade;
            for tr in t.trades.iter() {
                let px = dec(tr.price, t.price_exponent, t.symbol)?;
                let qty = dec(tr.qty, t.qty_exponent, t.symbol)?;
                let id = u64::try_from(tr.id).ok();
                out.add_trade(TradeItem { sym, px, qty, buyer_maker: tr.is_buyer_maker, id });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
