//! Trade and ticker fields the JSON grammars collect while they walk a frame.
//!
//! A frame may batch several trades (Bybit, Kraken, Coinbase, OKX, HTX all do): each is one event,
//! oldest first, and the frame's quote is the last, the newest price. Oldest first is the order listed
//! where the venue documents or shows that order (Bybit, Kraken v1); Coinbase's lists are reversed;
//! where the order is not stated but the trade ids grow (OKX, Kraken v2, HTX) the trades are put in
//! id order (`oldest_first_by_id`). Every item is checked, so one malformed trade makes the whole
//! frame a decode error.

use super::{read_trade_id, span, Batch, FrameKind, TradeItem};
use crate::book::num::{parse_dec, Dec};
use crate::codec::json::{Cur, JsonError, Result};

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Last<'a> {
    pub sym: &'a [u8],
    pub px: Option<Dec>,
    pub qty: Option<Dec>,
    /// The buyer was the maker (the taker sold).
    pub buyer_maker: Option<bool>,
    /// The venue's trade id (`trade_id`).
    pub id: Option<u64>,
    /// bid, bid quantity, ask, ask quantity
    pub bbo: [Option<Dec>; 4],
}

impl<'a> Last<'a> {
    /// One trade item is complete; a trade without symbol, price, size or side cannot be an event.
    pub fn check_trade(&self) -> Result<()> {
        match (self.sym.is_empty(), self.px, self.qty, self.buyer_maker) {
            (false, Some(_), Some(_), Some(_)) => Ok(()),
            _ => Err(JsonError::Shape("trade without symbol, price, size or side")),
        }
    }

    /// The trade this item holds (checked by `check_trade`).
    pub fn item(&self, frame: &[u8]) -> Option<TradeItem> {
        let (px, qty, buyer_maker) = (self.px?, self.qty?, self.buyer_maker?);
        Some(TradeItem { sym: span(frame, self.sym), px, qty, buyer_maker, id: self.id })
    }

    /// A best bid/offer event when the ticker stated all four values; false otherwise (a ticker
    /// delta that only names what changed, or an empty side).
    pub fn bbo(&self, frame: &[u8], out: &mut Batch) -> bool {
        let [Some(b), Some(bq), Some(a), Some(aq)] = self.bbo else {
            return false;
        };
        if self.sym.is_empty() {
            return false;
        }
        out.clear();
        out.kind = FrameKind::Bbo;
        let q = &mut out.quote;
        (q.sym, q.bid_px, q.bid_qty, q.ask_px, q.ask_qty) = (span(frame, self.sym), b, bq, a, aq);
        true
    }
}

/// Whether the taker sold, from a side written as the taker's (`buy`/`sell` spelled per venue).
pub(crate) fn taker_sold(side: &[u8], buy: &[u8], sell: &[u8]) -> Result<bool> {
    if side == sell {
        Ok(true)
    } else if side == buy {
        Ok(false)
    } else {
        Err(JsonError::Shape("trade side is neither buy nor sell"))
    }
}

/// `[{…},…]` of trade or ticker objects: `field` reads the keys it knows into a fresh `Last` (false:
/// not one of its keys); the last item is kept. With `trades`, each item is checked as a trade and
/// pushed there.
pub(crate) fn items<'a>(
    c: &mut Cur<'a>,
    last: &mut Last<'a>,
    mut trades: Option<&mut Batch>,
    mut field: impl FnMut(&[u8], &mut Cur<'a>, &mut Last<'a>) -> Result<bool>,
) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        let mut t = Last::default();
        let mut f = true;
        while let Some(k) = c.key(&mut f)? {
            if !field(k, c, &mut t)? {
                c.skip()?;
            }
        }
        if let Some(out) = trades.as_deref_mut() {
            t.check_trade()?;
            out.trades.extend(t.item(c.b));
        }
        *last = t;
    }
    Ok(())
}

/// A quoted number a venue leaves empty when there is none (a ticker with an empty side).
pub(crate) fn opt_dec(c: &mut Cur<'_>) -> Result<Option<Dec>> {
    let t = c.num_text()?;
    if t.is_empty() {
        return Ok(None);
    }
    Ok(Some(parse_dec(t)?))
}

/// A trade id, bare or quoted (`read_trade_id`: `None` when not plain digits).
pub(crate) fn id(c: &mut Cur<'_>) -> Result<Option<u64>> {
    read_trade_id(c)
}

/// Puts each symbol's trades of a frame in trade id order (oldest first), each symbol's trades
/// staying in the places they were listed in (ids are per symbol); a symbol one of whose trades has no
/// id is left as listed. For venues that do not say in which order a message lists its trades but
/// whose ids grow with every trade of a symbol. A list already in order (the usual case) costs one pass.
pub(crate) fn oldest_first_by_id(frame: &[u8], trades: &mut [TradeItem]) {
    if trades.windows(2).all(|w| w[0].id <= w[1].id) {
        return;
    }
    let sym = |t: &TradeItem| frame.get(t.sym.0 as usize..t.sym.1 as usize).unwrap_or(b"");
    for i in 0..trades.len() {
        let s = sym(&trades[i]);
        if trades.iter().any(|t| sym(t) == s && t.id.is_none()) {
            continue;
        }
        // The smallest id of this symbol's places from i on comes to i.
        for j in i + 1..trades.len() {
            if sym(&trades[j]) == s && trades[j].id < trades[i].id {
                trades.swap(i, j);
            }
        }
    }
}
