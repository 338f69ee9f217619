//! Bybit v5 public JSON: `orderbook.{depth}.{symbol}` snapshot/delta, op responses, other topics.

use super::{span, Batch, FrameKind};
use crate::book::sync::{SeqInfo, NO_SEQ};
use crate::codec::json::{Cur, Result};

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let (mut topic, mut typ): (&[u8], &[u8]) = (b"", b"");
    let mut op = false;
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"topic" => topic = c.string()?,
            b"type" => typ = c.string()?,
            b"op" | b"success" | b"ret_msg" => {
                op = true;
                c.skip()?
            }
            b"data" if c.peek()? == b'{' => {
                c.obj()?;
                let mut m = out.begin();
                let mut u = NO_SEQ;
                let mut f = true;
                while let Some(k) = c.key(&mut f)? {
                    match k {
                        b"s" => m.sym = span(frame, c.string()?),
                        b"b" => c.levels(|p, q| out.push(false, p, q))?,
                        b"a" => c.levels(|p, q| out.push(true, p, q))?,
                        b"u" => u = c.int()?,
                        _ => c.skip()?,
                    }
                }
                m.seq = SeqInfo { first: u, last: u, prev: NO_SEQ };
                out.end_msg(m);
            }
            _ => c.skip()?,
        }
    }
    c.end()?;
    if topic.starts_with(b"orderbook.") && !out.msgs.is_empty() {
        // Any snapshot resets the book; so does u == 1 (service restart), whatever its type says.
        for m in &mut out.msgs {
            m.snapshot = typ == b"snapshot" || m.seq.last == 1;
        }
        return Ok(());
    }
    out.clear();
    out.kind = if op {
        FrameKind::Control
    } else if topic.starts_with(b"publicTrade.") {
        FrameKind::Trade
    } else {
        FrameKind::Other
    };
    Ok(())
}
