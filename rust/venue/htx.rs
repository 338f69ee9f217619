//! HTX (Huobi) market JSON, after gunzip: `market.$s.depth.stepN` and `mbp.refresh.N` full
//! snapshots, `mbp.N` increments (seqNum/prevSeqNum), REQ replies, `{"ping": n}`, sub acks.

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
