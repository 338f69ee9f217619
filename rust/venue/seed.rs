//! Clarofinlore and Tradefence book messages (seed-venues.md defaults):
//! `{"channel":"orderbook.btc-usdt","type":"snapshot"|"update","seq":N,"prev_seq":N-1,"ts":…,
//! "bids":[["px","qty"],…],"asks":[…]}`; Tradefence sends the same fields with
//! `"type":"book","symbol":…` and `"action":"snapshot"|"update"`; Cloud9Trader the Clarofinlore shape on
//! channels `book.<SYMBOL>`.

use super::{span, Batch, FrameKind};
use crate::book::sync::{SeqInfo, NO_SEQ};
use crate::codec::json::{Cur, Result};

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let (mut channel, mut symbol, mut typ, mut action): (&[u8], &[u8], &[u8], &[u8]) = (b"", b"", b"", b"");
    let (mut seq, mut prev) = (NO_SEQ, NO_SEQ);
    let mut has_levels = false;
    let mut m = out.begin();
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"channel" => channel = c.string()?,
            b"symbol" => symbol = c.string()?,
            b"type" => typ = c.string()?,
            b"action" => action = c.string()?,
            b"seq" => seq = c.int()?,
            b"prev_seq" => prev = c.int()?,
            b"bids" => {
                has_levels = true;
                c.levels(|p, q| out.push(false, p, q))?
            }
            b"asks" => {
                has_levels = true;
                c.levels(|p, q| out.push(true, p, q))?
            }
            _ => c.skip()?,
        }
    }
    c.end()?;
    let kind = if typ == b"book" { action } else { typ };
    // Cloud9Trader names its book channels `book.<SYMBOL>` (seed-venues.md default).
    let sym =
        channel.strip_prefix(b"orderbook.").or_else(|| channel.strip_prefix(b"book.")).unwrap_or(symbol);
    if has_levels && !sym.is_empty() && (kind == b"snapshot" || kind == b"update") {
        m.snapshot = kind == b"snapshot";
        m.sym = span(frame, sym);
        m.seq = SeqInfo { first: seq, last: seq, prev };
        out.end_msg(m);
        return Ok(());
    }
    out.clear();
    out.kind = match typ {
        b"trade" | b"trades" => FrameKind::Trade,
        b"quote" => FrameKind::Bbo,
        b"pong" | b"heartbeat" => FrameKind::Heartbeat,
        b"error" | b"subscribed" | b"ack" => FrameKind::Control,
        _ => FrameKind::Other,
    };
    Ok(())
}
