//! The gateway side: book messages from a book's change journal, trades and BBOs from exact values.

use super::wire::{put_pair, Header, Kind, BBO_LEN, FLAG_RESTART, HEADER_LEN, LEVEL_LEN, TRADE_LEN};
use crate::book::num::{Dec, MAX_DECIMALS, POW10};
use crate::book::sync::NO_SEQ;
use crate::book::Book;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("a symbol of {0} bytes; the bus carries 1 to 65535")]
    Symbol(usize),
    #[error("the book is not synced: there is no true snapshot to send")]
    NotSynced,
    /// Without a journal the book cannot tell what changed: every delta would be empty.
    #[error("the book keeps no change journal (turn it on before taking deltas)")]
    NoJournal,
    #[error("{0} does not fit the bus message (64-bit mantissas at one scale, gseq below 2^63)")]
    Range(&'static str),
}

/// What a gateway remembers of one book between the book messages it publishes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTx {
    /// `gseq` of the last book message published; the first one is 1.
    pub gseq: u64,
    /// The book's venue id the last message that left consumers synced left them at (`NO_SEQ`:
    /// none); a snapshot below it is a restart one.
    pub venue_id: i64,
    /// That message left consumers synced (it was not an out-of-sync message, and there was one).
    pub synced: bool,
}

impl Default for BookTx {
    fn default() -> Self {
        BookTx { gseq: 0, venue_id: NO_SEQ, synced: false }
    }
}

fn check_symbol(symbol: &[u8]) -> Result<(), EncodeError> {
    if symbol.is_empty() || symbol.len() > u16::MAX as usize {
        return Err(EncodeError::Symbol(symbol.len()));
    }
    Ok(())
}

fn check_gseq(gseq: u64) -> Result<(), EncodeError> {
    if gseq > i64::MAX as u64 {
        return Err(EncodeError::Range("gseq"));
    }
    Ok(())
}

fn book_header(b: &Book, kind: Kind, gseq: u64, prev: i64, stamp_ns: i64, nb: usize, na: usize) -> Header {
    Header {
        kind,
        flags: 0,
        price_scale: b.price_scale(),
        qty_scale: b.qty_scale(),
        gseq,
        venue_prev: prev,
        venue_last: b.last_id(),
        stamp_ns,
        n_bids: nb as u32,
        n_asks: na as u32,
    }
}

/// The whole book; `told` is the venue id consumers were last left at (`BookTx::venue_id`).
///
/// A book below `told` took a snapshot from a venue that restarted its numbering (Bybit's `u = 1`
/// after a service restart, a new connection numbering from its own start); so did one at `told`
/// whose journal saw a restart (the new numbering climbed back there before this message). A
/// consumer that followed this gateway is at `told`, and would drop an ordinary snapshot at or
/// below its id as stale (the guard against a late or lagging one) and every delta after it too,
/// keeping the old book in sync: so the snapshot says it restarts, and from where
/// (`venue_prev = told`).
fn write_snapshot(b: &Book, gseq: u64, told: i64, stamp_ns: i64, symbol: &[u8], out: &mut Vec<u8>) {
    let (bids, asks) = (b.bids(), b.asks());
    let id = b.last_id();
    let restart = told != NO_SEQ && id != NO_SEQ && (id < told || id == told && b.journal().restarted());
    let mut h = book_header(b, Kind::Snapshot, gseq, id, stamp_ns, bids.len(), asks.len());
    if restart {
        (h.flags, h.venue_prev) = (FLAG_RESTART, told);
    }
    out.clear();
    out.reserve(HEADER_LEN + symbol.len() + (bids.len() + asks.len()) * LEVEL_LEN);
    h.write(symbol, out);
    for side in [bids, asks] {
        for l in side.iter() {
            put_pair(out, side.price_of(l), l.qty);
        }
    }
}

/// The next book message for `book` (whose journal is on), written to `out`, or `None` when there
/// is nothing to say; the journal is cleared either way.
///
/// A book replaced wholesale (or not yet published as synced) is sent whole; one that lost sync
/// after being published as synced gets one out-of-sync message; otherwise each changed level with
/// its quantity now (read from the side, 0 when gone).
pub fn take_delta(
    book: &mut Book,
    tx: &mut BookTx,
    symbol: &[u8],
    stamp_ns: i64,
    out: &mut Vec<u8>,
) -> Result<Option<Kind>, EncodeError> {
    check_symbol(symbol)?;
    check_gseq(tx.gseq + 1)?;
    if !book.journal().is_on() {
        return Err(EncodeError::NoJournal);
    }
    Ok(book.take_journal(|b| {
        let synced = b.is_synced();
        let j = b.journal();
        let (kb, ka) = (j.keys(false), j.keys(true));
        let kind = match (synced, tx.synced) {
            (true, false) => Kind::Snapshot,
            (true, true) if j.replaced() => Kind::Snapshot,
            (true, true) if !kb.is_empty() || !ka.is_empty() => Kind::Delta,
            (false, true) => Kind::OutOfSync,
            _ => return None,
        };
        tx.gseq += 1;
        match kind {
            Kind::Snapshot => write_snapshot(b, tx.gseq, tx.venue_id, stamp_ns, symbol, out),
            Kind::Delta => {
                let h = book_header(b, kind, tx.gseq, tx.venue_id, stamp_ns, kb.len(), ka.len());
                out.clear();
                out.reserve(HEADER_LEN + symbol.len() + (kb.len() + ka.len()) * LEVEL_LEN);
                h.write(symbol, out);
                for (keys, side) in [(kb, b.bids()), (ka, b.asks())] {
                    for &key in keys {
                        let qty = side.find(key).map_or(0, |i| side.levels()[i].qty);
                        // Asks are keyed by their negated price; the wire carries prices.
                        let px = if side.is_ask() { -key } else { key };
                        put_pair(out, px, qty);
                    }
                }
            }
            _ => {
                // Where the consumers' copy stands: the last id they were told about.
                let h = Header {
                    venue_last: tx.venue_id,
                    ..book_header(b, kind, tx.gseq, tx.venue_id, stamp_ns, 0, 0)
                };
                h.write(symbol, out);
            }
        }
        tx.synced = kind != Kind::OutOfSync;
        if tx.synced {
            tx.venue_id = b.last_id();
        }
        Some(kind)
    }))
}

/// The whole book as a snapshot message at the last published `gseq` and the book's venue id,
/// consuming nothing: for a consumer that joins late or saw a gap (a restart snapshot, as
/// `take_delta` would send it, while the book's restart is not published yet). The gateway's next
/// delta continues it (it covers every change since the last one published, which the snapshot may
/// already hold: applying those again is harmless).
pub fn snapshot_message(
    book: &Book,
    tx: &BookTx,
    symbol: &[u8],
    stamp_ns: i64,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    check_symbol(symbol)?;
    if !book.is_synced() {
        return Err(EncodeError::NotSynced);
    }
    write_snapshot(book, tx.gseq, tx.venue_id, stamp_ns, symbol, out);
    Ok(())
}

/// `d` as a mantissa at the decimals the venue wrote it with, so it decodes to the same text; at
/// its own decimals when that does not fit.
fn as_written(d: Dec) -> Result<(i64, u8), EncodeError> {
    if d.dec > MAX_DECIMALS {
        return Err(EncodeError::Range("a value's decimals"));
    }
    if d.wrote > d.dec && d.wrote <= MAX_DECIMALS {
        if let Some(m) = d.mant.checked_mul(POW10[(d.wrote - d.dec) as usize]) {
            return Ok((m, d.wrote));
        }
    }
    Ok((d.mant, d.dec))
}

/// Two values at one scale: the wider of their written decimals, or of their own when that
/// overflows.
fn common(a: Dec, b: Dec, what: &'static str) -> Result<(i64, i64, u8), EncodeError> {
    let ((ma, sa), (mb, sb)) = (as_written(a)?, as_written(b)?);
    let at = |m: i64, from: u8, to: u8| m.checked_mul(POW10[(to - from) as usize]);
    let s = sa.max(sb);
    if let (Some(x), Some(y)) = (at(ma, sa, s), at(mb, sb, s)) {
        return Ok((x, y, s));
    }
    let s = a.dec.max(b.dec);
    match (at(a.mant, a.dec, s), at(b.mant, b.dec, s)) {
        (Some(x), Some(y)) => Ok((x, y, s)),
        _ => Err(EncodeError::Range(what)),
    }
}

/// Starts a trade or BBO message; `venue_last` is a trade's venue id (`NO_SEQ`: none, and for a
/// BBO).
fn event_header(
    kind: Kind,
    symbol: &[u8],
    (price_scale, qty_scale): (u8, u8),
    gseq: u64,
    venue_last: i64,
    stamp_ns: i64,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    check_symbol(symbol)?;
    check_gseq(gseq)?;
    let h = Header {
        kind,
        flags: 0,
        price_scale,
        qty_scale,
        gseq,
        venue_prev: NO_SEQ,
        venue_last,
        stamp_ns,
        n_bids: 0,
        n_asks: 0,
    };
    out.clear();
    out.reserve(HEADER_LEN + symbol.len() + if kind == Kind::Trade { TRADE_LEN } else { BBO_LEN });
    h.write(symbol, out);
    Ok(())
}

/// A trade message; `gseq` is the gateway's trade counter for `symbol`, `id` the venue's trade id
/// (sent as `venue_last`; one above `i64::MAX` is sent as none).
pub fn encode_trade(
    symbol: &[u8],
    (px, qty): (Dec, Dec),
    buyer_maker: bool,
    id: Option<u64>,
    gseq: u64,
    stamp_ns: i64,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let ((p, ps), (q, qs)) = (as_written(px)?, as_written(qty)?);
    let id = id.and_then(|i| i64::try_from(i).ok()).unwrap_or(NO_SEQ);
    event_header(Kind::Trade, symbol, (ps, qs), gseq, id, stamp_ns, out)?;
    put_pair(out, p, q);
    out.push(buyer_maker as u8);
    Ok(())
}

/// A BBO message from (bid, bid_qty, ask, ask_qty); `gseq` is the gateway's BBO counter.
pub fn encode_bbo(
    symbol: &[u8],
    v: [Dec; 4],
    gseq: u64,
    stamp_ns: i64,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let (bid, ask, ps) = common(v[0], v[2], "BBO prices")?;
    let (bq, aq, qs) = common(v[1], v[3], "BBO quantities")?;
    event_header(Kind::Bbo, symbol, (ps, qs), gseq, NO_SEQ, stamp_ns, out)?;
    put_pair(out, bid, bq);
    put_pair(out, ask, aq);
    Ok(())
}
