//! Bybit v5 public JSON: `orderbook.{depth}.{symbol}` snapshot/delta, `publicTrade.{symbol}` trades,
//! `tickers.{symbol}` best bid/offer (linear/inverse snapshots carry bid1/ask1; spot tickers and
//! deltas that omit them are not events), op responses, other topics.

use super::event::{id, items, opt_dec, taker_sold, Last};
use super::{span, Batch, Decoder, FrameKind, VenueSpec};
use crate::book::sync::{SeqInfo, SeqRule, NO_SEQ};
use crate::codec::json::{Cur, JsonError, Result};

/// Update ids only grow, per topic and connection: older ones are skipped, no gap can be proven
/// and redundant lines cannot be arbitrated; every snapshot resets the book.
pub const SPEC: VenueSpec =
    VenueSpec { seq: SeqRule::Increasing, ..VenueSpec::base("bybit", Decoder::Json(decode)) };

/// `"data":[{"T","s","S","v","p",…},…]`, "sort by matching time in ascending order" (the v5 docs,
/// websocket/public/trade): oldest first as listed.
fn trades<'a>(c: &mut Cur<'a>, last: &mut Last<'a>, out: &mut Batch) -> Result<()> {
    items(c, last, Some(out), |k, c, t| {
        match k {
            // Digits on spot; a UUID on the derivatives (no id then).
            b"i" => t.id = id(c)?,
            b"s" => t.sym = c.string()?,
            b"p" => t.px = Some(c.dec()?),
            b"v" => t.qty = Some(c.dec()?),
            // "Side of taker".
            b"S" => t.buyer_maker = Some(taker_sold(c.string()?, b"Buy", b"Sell")?),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let (mut topic, mut typ): (&[u8], &[u8]) = (b"", b"");
    let mut op = false;
    let mut last = Last::default();
    let mut trade_data = None;
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"topic" => {
                topic = c.string()?;
                if topic.starts_with(b"orderbook.") {
                    // Bybit's ids only grow: a book frame refused from here on is a hole nothing
                    // would show, so the refusal names the book (`Batch::hint`).
                    out.hint = span(frame, topic.rsplit(|&b| b == b'.').next().unwrap_or_default());
                }
            }
            b"type" => typ = c.string()?,
            b"op" | b"success" | b"ret_msg" => {
                op = true;
                c.skip()?
            }
            // Parsed once the topic is known (other topics have arrays of other things).
            b"data" if c.peek()? == b'[' => {
                trade_data = Some(c.i);
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
                        b"symbol" => last.sym = c.string()?,
                        b"bid1Price" => last.bbo[0] = opt_dec(&mut c)?,
                        b"bid1Size" => last.bbo[1] = opt_dec(&mut c)?,
                        b"ask1Price" => last.bbo[2] = opt_dec(&mut c)?,
                        b"ask1Size" => last.bbo[3] = opt_dec(&mut c)?,
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
        // Bybit writes every book frame "snapshot" or "delta": one without either, taken for a
        // delta, would have merged a snapshot into the book it should have replaced.
        let snapshot = match typ {
            b"snapshot" => true,
            b"delta" => false,
            _ => {
                return Err(JsonError::Shape(
                    "Bybit orderbook frame whose type is neither snapshot nor delta",
                ))
            }
        };
        // `orderbook.{depth}.{symbol}`: a book message for another symbol than its topic names
        // is not one Bybit sends; applied, it would change a book the subscription is not about.
        let topic_sym = &frame[out.hint.0 as usize..out.hint.1 as usize];
        // Any snapshot resets the book; so does u == 1 (service restart), whatever its type says.
        for m in &mut out.msgs {
            if &frame[m.sym.0 as usize..m.sym.1 as usize] != topic_sym {
                return Err(JsonError::Shape("Bybit orderbook data.s is not the topic's symbol"));
            }
            m.snapshot = snapshot || m.seq.last == 1;
        }
        return Ok(());
    }
    if topic.starts_with(b"publicTrade.") {
        if let Some(at) = trade_data {
            trades(&mut Cur { b: frame, i: at }, &mut last, out)?;
        }
        out.end_trades(None);
        return Ok(());
    }
    if topic.starts_with(b"tickers.") && last.bbo(frame, out) {
        return Ok(());
    }
    out.clear();
    out.kind = if op { FrameKind::Control } else { FrameKind::Other };
    Ok(())
}
