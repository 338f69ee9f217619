//! The bus (`crate::bus`) as a venue: a consumer's `BookFeed("bus")` rebuilds a gateway's books
//! from its messages through the same route as any venue's frames.
//!
//! Book messages link by the venue's update ids when the venue has them, so the books of two
//! gateways on one venue can be arbitrated as A/B lines; by the gateway's `gseq` otherwise (one
//! gateway per consumer book then). Snapshots come in the stream (when a gateway's book is
//! replaced) and out of band (`on_snapshot` with a served snapshot): deltas that arrive before one
//! are buffered and replayed as for a REST snapshot. Either kind no newer than the synced book is
//! dropped (a lagging line's), unless it is a restart snapshot (the venue restarted its numbering,
//! `bus::wire::FLAG_RESTART`). The gateway checked crossing and checksums and cut its depth already
//! (a cut level arrives as a deletion), so the consumer does none of that.

use super::{span, Batch, Decoder, FrameKind, Msg, TradeItem, VenueSpec};
use crate::book::num::Dec;
use crate::book::sync::{SeqInfo, SeqRule, NO_SEQ};
use crate::bus::wire::{Kind, Message, NO_VENUE_ID};
use crate::codec::error::DecodeError;

pub const SPEC: VenueSpec = VenueSpec {
    seq: SeqRule::Covering,
    resync: super::Resync::Snapshot,
    check_crossed: false,
    snapshot_first: true,
    redundant_lines: true,
    ..VenueSpec::base("bus", Decoder::Binary(decode))
};

/// A book level's mantissa at the gateway book's scale, kept at that scale (not stripped of
/// trailing zeros) so the consumer's book adopts the gateway's scale, not a narrower one.
#[inline(always)]
fn at(mant: i64, scale: u8) -> Dec {
    Dec { mant, dec: scale, wrote: scale }
}

/// A trade or BBO value as written: trailing zeros stripped, the written decimals kept.
fn written(mant: i64, scale: u8) -> Result<Dec, DecodeError> {
    // `parse` bounds the scale at 18 decimals, which `from_mantissa_exponent` accepts.
    Dec::from_mantissa_exponent(mant, -(scale as i8))
        .map_err(|_| DecodeError::BusInvalid { what: "scale", value: scale as i64 })
}

/// The sequence fields of a book message: by venue ids when there are some, else by `gseq`.
fn seq(m: &Message<'_>) -> SeqInfo {
    let h = &m.header;
    if h.venue_last != NO_VENUE_ID {
        let first = if h.venue_prev == NO_SEQ { h.venue_last } else { h.venue_prev.saturating_add(1) };
        return SeqInfo { first, last: h.venue_last, prev: h.venue_prev };
    }
    // `parse` checked gseq < 2^63.
    let g = h.gseq as i64;
    SeqInfo { first: g, last: g, prev: g - 1 }
}

/// Decodes one bus message into the batch; a malformed one is a `DecodeError` and fills nothing
/// the feed would apply.
pub fn decode(frame: &[u8], out: &mut Batch) -> Result<(), DecodeError> {
    let m = Message::parse(frame)?;
    let sym = span(frame, m.symbol);
    let (ps, qs) = (m.header.price_scale, m.header.qty_scale);
    match m.header.kind {
        Kind::Delta | Kind::Snapshot | Kind::OutOfSync => {
            let b = out.begin();
            out.levels.reserve(m.header.n_bids as usize + m.header.n_asks as usize);
            for ask in [false, true] {
                for (p, q) in m.levels(ask) {
                    if p == i64::MIN {
                        return Err(DecodeError::BusInvalid { what: "price", value: p });
                        // see `Dec`
                    }
                    out.push(ask, at(p, ps), at(q, qs));
                }
            }
            let mut seq = seq(&m);
            let snapshot = m.header.kind == Kind::Snapshot;
            if snapshot {
                // A snapshot stands alone, unless the venue restarted its numbering: then the id
                // it restarts from marks it (`SeqInfo::restarts`), for the book to take it even
                // though its own id is higher.
                let prev = if m.header.restarts() { m.header.venue_prev } else { NO_SEQ };
                seq = SeqInfo { first: seq.last, prev, ..seq };
            }
            let upstream_lost = m.header.kind == Kind::OutOfSync;
            out.end_msg(Msg { sym, snapshot, seq, upstream_lost, ..b });
        }
        Kind::Trade => {
            let (p, q, buyer_maker) = m.trade().unwrap_or_default();
            let (px, qty) = (written(p, ps)?, written(q, qs)?);
            // The venue's trade id rides in `venue_last` (none: i64::MIN, below 0).
            let id = u64::try_from(m.header.venue_last).ok();
            out.add_trade(TradeItem { sym, px, qty, buyer_maker, id });
        }
        Kind::Bbo => {
            let [bid, bq, ask, aq] = m.bbo().unwrap_or_default();
            let quote = &mut out.quote;
            quote.sym = sym;
            quote.bid_px = written(bid, ps)?;
            quote.bid_qty = written(bq, qs)?;
            quote.ask_px = written(ask, ps)?;
            quote.ask_qty = written(aq, qs)?;
            out.kind = FrameKind::Bbo;
        }
    }
    Ok(())
}
