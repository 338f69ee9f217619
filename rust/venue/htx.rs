//! HTX (Huobi) market JSON, after gunzip: `market.$s.depth.stepN` and `mbp.refresh.N` full
//! snapshots, `mbp.N` increments (seqNum/prevSeqNum), REQ replies, `market.$s.trade.detail`
//! trades, `{"ping": n}`, sub acks.

use super::event::{id, items, oldest_first_by_id, taker_sold, Last};
use super::{span, Batch, Decoder, FrameKind, Resync, SymbolCase, VenueSpec};
use crate::book::sync::{SeqInfo, SeqRule, NO_SEQ};
use crate::codec::json::{Cur, Result};

/// `mbp` increments chained by `prevSeqNum`, aligned with a `req` refresh on the same socket
/// (also how a book that lost sync is rebuilt). Topics are lower case.
pub const SPEC: VenueSpec = VenueSpec {
    aliases: &["huobi"],
    seq: SeqRule::PrevLinked,
    resync: Resync::Request,
    symbol_case: SymbolCase::Lower,
    // HTX sends float noise like 3307.9982700421942 next to 4216113.02, which no 64-bit mantissa
    // holds together: round quantities to 10 decimals rather than refuse the frame.
    round_qty_decimals: Some(10),
    ..VenueSpec::base("htx", Decoder::Json(decode))
};

/// "market.btcusdt.mbp.150" -> ("btcusdt", "mbp.150").
fn split_topic(t: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = t.strip_prefix(b"market.")?;
    let dot = rest.iter().position(|&c| c == b'.')?;
    Some((&rest[..dot], &rest[dot + 1..]))
}

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let mut topic: &[u8] = b"";
    let mut ping = None;
    let mut control = false;
    let mut first = true;
    let mut m = out.begin();
    let mut has_book = false;
    let mut trade_data = None;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"ch" | b"rep" => topic = c.string()?,
            b"ping" => ping = Some(c.int()?),
            b"subbed" | b"status" | b"unsubbed" | b"err-code" => {
                control = true;
                c.skip()?
            }
            b"tick" | b"data" if c.peek()? == b'{' => {
                c.obj()?;
                let (mut seq, mut prev) = (NO_SEQ, NO_SEQ);
                let mut f = true;
                while let Some(k) = c.key(&mut f)? {
                    match k {
                        // The 150/400-level feeds may send `{}` for an unchanged side.
                        b"bids" if c.peek()? == b'[' => {
                            has_book = true;
                            c.levels(|p, q| out.push(false, p, q))?
                        }
                        b"asks" if c.peek()? == b'[' => {
                            has_book = true;
                            c.levels(|p, q| out.push(true, p, q))?
                        }
                        // `trade.detail`'s trades: read once the topic names their symbol.
                        b"data" if c.peek()? == b'[' => {
                            trade_data = Some(c.i);
                            c.skip()?
                        }
                        b"seqNum" => seq = c.int()?,
                        b"prevSeqNum" => prev = c.int()?,
                        _ => c.skip()?,
                    }
                }
                m.seq = SeqInfo { first: seq, last: seq, prev };
            }
            _ => c.skip()?,
        }
    }
    c.end()?;
    if let Some(p) = ping {
        out.clear();
        out.kind = FrameKind::Ping(p);
        return Ok(());
    }
    match split_topic(topic) {
        Some((sym, kind)) if has_book || kind.starts_with(b"mbp") => {
            // Increments are `mbp.N` with a prevSeqNum; everything else here is a full book.
            m.snapshot =
                !(kind.starts_with(b"mbp.") && !kind.starts_with(b"mbp.refresh") && m.seq.prev != NO_SEQ);
            m.sym = span(frame, sym);
            out.end_msg(m);
        }
        Some((sym, b"trade.detail")) => trades(frame, trade_data, sym, out)?,
        Some((_, kind)) => {
            out.clear();
            out.kind = if kind.starts_with(b"trade") { FrameKind::Trade } else { FrameKind::Other };
        }
        None => {
            out.clear();
            out.kind = if control { FrameKind::Control } else { FrameKind::Other };
        }
    }
    Ok(())
}

/// `"data":[{"id","ts","tradeId","amount","price","direction"},…]` of a `trade.detail` push, each a
/// trade of `sym`; `direction` is the taker's side. The documentation does not say in which order a
/// push lists several trades (the real captures list them newest first), so they are put in `tradeId`
/// order (oldest first) where all have one.
fn trades<'a>(frame: &'a [u8], at: Option<usize>, sym: &'a [u8], out: &mut Batch) -> Result<()> {
    out.clear();
    if let Some(at) = at {
        let mut last = Last::default();
        items(&mut Cur { b: frame, i: at }, &mut last, Some(&mut *out), |k, c, t| {
            t.sym = sym;
            match k {
                b"tradeId" => t.id = id(c)?,
                b"price" => t.px = Some(c.dec()?),
                b"amount" => t.qty = Some(c.dec()?),
                b"direction" => t.buyer_maker = Some(taker_sold(c.string()?, b"buy", b"sell")?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        oldest_first_by_id(frame, &mut out.trades);
    }
    out.end_trades(Some(span(frame, sym)));
    Ok(())
}
