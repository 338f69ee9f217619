//! Coinbase Advanced Trade `level2` (`channel: "l2_data"`) frames, `market_trades` updates as trades
//! (oldest first, though Coinbase lists them newest first; a subscription's opening snapshot of
//! past trades is no event) and
//! `ticker`/`ticker_batch` (best_bid/best_ask and quantities) as best bid/offer; `sequence_num` is
//! kept for the connection-wide gap check in the feed.

use super::event::{id, items, opt_dec, taker_sold, Last};
use super::{span, Batch, Decoder, FrameKind, VenueSpec};
use crate::codec::json::{Cur, JsonError, Result};

/// No per-book sequence: `sequence_num` counts every message of the connection, so a gap
/// invalidates every book and a new connection starts every book afresh.
pub const SPEC: VenueSpec =
    VenueSpec { connection_numbered: true, ..VenueSpec::base("coinbase", Decoder::Json(decode)) };

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let mut channel: &[u8] = b"";
    let mut typ: &[u8] = b"";
    let mut last = Last::default();
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"channel" => channel = c.string()?,
            b"type" => typ = c.string()?,
            b"sequence_num" => out.conn_seq = Some(c.int()?),
            b"events" if c.peek()? == b'[' => events(frame, &mut c, out, &mut last)?,
            _ => c.skip()?,
        }
    }
    c.end()?;
    if channel == b"l2_data" && !out.msgs.is_empty() {
        return Ok(());
    }
    let seq = out.conn_seq;
    match channel {
        b"market_trades" => out.end_trades(None),
        b"ticker" | b"ticker_batch" if last.bbo(frame, out) => {}
        _ => out.clear(),
    }
    out.conn_seq = seq;
    if matches!(out.kind, FrameKind::Trade | FrameKind::Bbo) {
        return Ok(());
    }
    out.kind = match channel {
        b"heartbeats" => FrameKind::Heartbeat,
        b"subscriptions" => FrameKind::Control,
        _ if typ == b"error" => FrameKind::Control,
        _ => FrameKind::Other,
    };
    Ok(())
}

fn events<'a>(frame: &[u8], c: &mut Cur<'a>, out: &mut Batch, last: &mut Last<'a>) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        let mut m = out.begin();
        let traded = out.trades.len();
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
                b"trades" => trades(c, last, out)?,
                b"tickers" => tickers(c, last)?,
                _ => c.skip()?,
            }
        }
        if is_book {
            out.end_msg(m);
        }
        // A `market_trades` snapshot is the trades made before the subscription, sent again on every
        // subscribe: history, not new trades (checked all the same).
        if m.snapshot {
            out.trades.truncate(traded);
        }
        // Coinbase lists an event's trades newest first (ccxt/ccxt#27606: a live message's ids
        // 929248663, 929248662, 929248661, 929248660; ccxt/ccxt#29477 reverses each batch): oldest
        // first here, as every venue's, so the frame's quote is the newest trade. Events are kept in
        // message order: no message of several trade events has been seen (the documented example
        // and ccxt#27606's live message carry one), so their order is not known.
        out.trades[traded..].reverse();
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

/// `[{"trade_id","product_id","price","size","side","time"},…]`.
fn trades<'a>(c: &mut Cur<'a>, last: &mut Last<'a>, out: &mut Batch) -> Result<()> {
    items(c, last, Some(out), |k, c, t| {
        match k {
            b"trade_id" => t.id = id(c)?,
            b"product_id" => t.sym = c.string()?,
            b"price" => t.px = Some(c.dec()?),
            b"size" => t.qty = Some(c.dec()?),
            // The maker's side (as on Coinbase Exchange, where the docs say so): a maker BUY means
            // the taker sold, i.e. the buyer was the maker.
            b"side" => t.buyer_maker = Some(taker_sold(c.string()?, b"SELL", b"BUY")?),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

/// `[{"product_id","best_bid","best_bid_quantity","best_ask","best_ask_quantity",…},…]`.
fn tickers<'a>(c: &mut Cur<'a>, last: &mut Last<'a>) -> Result<()> {
    items(c, last, None, |k, c, t| {
        match k {
            b"product_id" => t.sym = c.string()?,
            b"best_bid" => t.bbo[0] = opt_dec(c)?,
            b"best_bid_quantity" => t.bbo[1] = opt_dec(c)?,
            b"best_ask" => t.bbo[2] = opt_dec(c)?,
            b"best_ask_quantity" => t.bbo[3] = opt_dec(c)?,
            _ => return Ok(false),
        }
        Ok(true)
    })
}
