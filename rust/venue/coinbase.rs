//! Coinbase Advanced Trade `level2` (`channel: "l2_data"`) frames; `sequence_num` is kept for the
//! connection-wide gap check in the feed.

use super::{span, Batch, FrameKind};
use crate::codec::json::{Cur, JsonError, Result};

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let mut channel: &[u8] = b"";
    let mut typ: &[u8] = b"";
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"channel" => channel = c.string()?,
            b"type" => typ = c.string()?,
            b"sequence_num" => out.conn_seq = Some(c.int()?),
            b"events" if c.peek()? == b'[' => events(frame, &mut c, out)?,
            _ => c.skip()?,
        }
    }
    c.end()?;
    if channel == b"l2_data" && !out.msgs.is_empty() {
        return Ok(());
    }
    let seq = out.conn_seq;
    out.clear();
    out.conn_seq = seq;
    out.kind = match channel {
        b"heartbeats" => FrameKind::Heartbeat,
        b"market_trades" => FrameKind::Trade,
        b"subscriptions" => FrameKind::Control,
        _ if typ == b"error" => FrameKind::Control,
        _ => FrameKind::Other,
    };
    Ok(())
}

fn events(frame: &[u8], c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        let mut m = out.begin();
        let mut f = true;
        let mut is_book = false;
        while let Some(k) = c.key(&mut f)? {
            match k {
                b"type" => m.snapshot = c.string()? == b"snapshot",
                b"product_id" => m.sym = span(frame, c.string()?),
                b"updates" => {
                    is_book = true;
                    updates(c, out)?
                }
                _ => c.skip()?,
            }
        }
        if is_book {
            out.end_msg(m);
        }
    }
    Ok(())
}

fn updates(c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        let (mut side, mut px, mut qty) = (None, None, None);
        let mut f = true;
        while let Some(k) = c.key(&mut f)? {
            match k {
                b"side" => {
                    side = Some(match c.string()? {
                        b"bid" => false,
                        b"offer" | b"ask" => true,
                        _ => return Err(JsonError::Shape("Coinbase side is not bid/offer")),
                    })
                }
                b"price_level" => px = Some(c.dec()?),
                b"new_quantity" => qty = Some(c.dec()?),
                _ => c.skip()?,
            }
        }
        match (side, px, qty) {
            (Some(s), Some(p), Some(q)) => out.push(s, p, q),
            _ => return Err(JsonError::Shape("Coinbase update without side/price_level/new_quantity")),
        }
    }
    Ok(())
}
