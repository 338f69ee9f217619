//! `Feed`: one venue connection's books. One call per received frame decodes it, routes each book
//! message to its symbol's book and applies it; the summary says what changed.

use super::arbiter::Arbiter;
use super::binance_sbe;
use super::{bitfinex, Batch, Decoder, FrameKind, Quote, TradeItem, Venue};
use crate::book::checksum::ChecksumKind;
use crate::book::sync::OosReason;
use crate::book::{Book, BookConfig, Need, Outcome};
use crate::codec::inflate::{Inflater, PerMessageInflater};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

mod arbitrate;
mod error;
mod route;
mod snapshot;
mod trades;
mod wire;

pub use error::FeedError;
use error::Refused;
pub use wire::Compression;

/// FNV-1a: symbols are short and trusted-size, so a cheap hash beats SipHash here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf29ce484222325 } else { self.0 };
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

/// Options a user may set per feed; `None` keeps the venue default.
#[derive(Debug, Clone, Default)]
pub struct FeedOptions {
    pub price_decimals: Option<u8>,
    pub qty_decimals: Option<u8>,
    /// Levels kept per side. Kraken: the subscribed depth (learnt from "book-N" in v1 frames;
    /// v2 frames do not state it, so set it, default 10 as Kraken's default subscription).
    pub max_depth: Option<usize>,
    pub checksum_price_decimals: Option<u8>,
    pub checksum_qty_decimals: Option<u8>,
    pub check_crossed: Option<bool>,
    /// Verify venue checksums (default true).
    pub verify_checksum: Option<bool>,
    /// Round quantities to this many decimals instead of failing (`Some(None)` turns the HTX
    /// default of 10 off).
    pub round_qty_decimals: Option<Option<u8>>,
    pub compression: Compression,
}

/// What one frame did.
#[derive(Debug, Default)]
pub struct FrameSummary {
    pub kind: FrameKind,
    /// (book index, outcome) per book message, in frame order.
    pub updates: Vec<(u32, Outcome)>,
    /// A connection-wide sequence gap invalidated every book (Coinbase).
    pub conn_gap: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    pub frames: u64,
    pub book_msgs: u64,
    pub errors: u64,
    pub conn_gaps: u64,
}

pub struct Feed {
    venue: Venue,
    base: BookConfig,
    books: Vec<Book>,
    names: Vec<Box<[u8]>>,
    index: HashMap<Box<[u8]>, u32, BuildHasherDefault<Fnv>>,
    /// The last symbol looked up and its index (books are never removed): a connection usually
    /// carries one or a few symbols, so most frames skip the hash.
    last_sym: Vec<u8>,
    last_index: u32,
    batch: Batch,
    summary: FrameSummary,
    conn_seq: Option<i64>,
    depth_fixed: bool,
    stats: FeedStats,
    quote: Quote,
    quote_sym: Vec<u8>,
    trades: trades::LastTrades,
    compression: Compression,
    /// Taken out while its output is being parsed (the batch borrows it).
    inflater: Option<Inflater>,
    /// permessage-deflate: one per connection (its window spans messages); taken out like `inflater`.
    pmd: Option<PerMessageInflater>,
    /// Bitfinex channel numbers of this connection.
    chans: bitfinex::Channels,
    /// Per-symbol checksum decimals set before the symbol's first message.
    checksum_decimals: HashMap<Box<[u8]>, Decimals, BuildHasherDefault<Fnv>>,
    /// A/B arbitration of redundant lines feeding this one feed (`set_arbitration`).
    arbiter: Option<Arbiter>,
    /// Trade copies dropped by venue id without arbitrating books (`set_trade_dedupe`): two
    /// connections of one line overlap while it is renewed.
    dedupe_trades: bool,
    /// When the frame being decoded was received (monotonic ns; `set_now`): hold deadlines.
    now_ns: i64,
    /// Held frames whose time is up wait for `release_held`, not for the next frame
    /// (`set_deferred_expiry`).
    deferred_expiry: bool,
    /// Books keep a change journal (`set_journal`).
    journal: bool,
    /// Books whose subscription ended (`forget`): their messages still on the way are dropped.
    retired: HashSet<u32, BuildHasherDefault<Fnv>>,
    /// The books the last frame refused whole named (a frame of several messages): each lacks its
    /// update now, not only the one the error names.
    refused: Vec<u32>,
}

/// Checksum (price, quantity) decimals of one instrument.
type Decimals = (Option<u8>, Option<u8>);

fn venue_config(v: Venue) -> BookConfig {
    v.spec().book_config()
}

impl Feed {
    pub fn new(venue: Venue, opts: &FeedOptions) -> Self {
        let mut base = venue_config(venue);
        base.price_decimals = opts.price_decimals;
        base.qty_decimals = opts.qty_decimals;
        if let Some(d) = opts.max_depth {
            base.max_depth = d;
        }
        base.checksum_price_decimals = opts.checksum_price_decimals;
        base.checksum_qty_decimals = opts.checksum_qty_decimals;
        if let Some(c) = opts.check_crossed {
            base.check_crossed = c;
        }
        if let Some(r) = opts.round_qty_decimals {
            base.round_qty_decimals = r;
        }
        if opts.verify_checksum == Some(false) {
            base.checksum = ChecksumKind::None;
        }
        Feed {
            venue,
            base,
            books: Vec::new(),
            names: Vec::new(),
            index: HashMap::default(),
            last_sym: Vec::new(),
            last_index: 0,
            batch: Batch::default(),
            summary: FrameSummary::default(),
            conn_seq: None,
            depth_fixed: opts.max_depth.is_some(),
            stats: FeedStats::default(),
            quote: Quote::default(),
            quote_sym: Vec::new(),
            trades: trades::LastTrades::default(),
            compression: opts.compression,
            inflater: None,
            pmd: wire::pmd_for(opts.compression),
            chans: bitfinex::Channels::default(),
            checksum_decimals: HashMap::default(),
            arbiter: None,
            dedupe_trades: false,
            now_ns: 0,
            deferred_expiry: false,
            journal: false,
            retired: HashSet::default(),
            refused: Vec::new(),
        }
    }

    /// The symbols of the books the last refused frame named (its error names one; a frame of
    /// several messages is refused whole, so each of them lacks its update).
    pub fn refused_symbols(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.refused.iter().map(|&i| &self.names[i as usize][..])
    }

    /// `symbol`'s subscription ended: its book is emptied (not synced, its memory given back) and
    /// the messages of it still on the way are dropped, until `revive`. A symbol not seen yet gets
    /// its (empty) book now, retired at once, so a snapshot the venue sends after all builds nothing;
    /// false then. Its index stays, so views of it read an empty book rather than another symbol's.
    pub fn forget(&mut self, symbol: &[u8]) -> bool {
        let seen = self.index_of(symbol);
        let i = seen.unwrap_or_else(|| self.index_or_insert(symbol) as usize);
        self.books[i].release();
        if let Some(a) = &mut self.arbiter {
            a.clear(Some(i as u32));
        }
        self.retired.insert(i as u32);
        seen.is_some()
    }

    /// `symbol` subscribed again: its messages build its book anew (from empty).
    pub fn revive(&mut self, symbol: &[u8]) {
        if let Some(i) = self.index_of(symbol) {
            self.retired.remove(&(i as u32));
        }
    }

    /// Whether book `i`'s messages are dropped (`forget`).
    #[inline]
    pub fn is_retired(&self, i: usize) -> bool {
        !self.retired.is_empty() && self.retired.contains(&(i as u32))
    }

    pub fn venue(&self) -> Venue {
        self.venue
    }
    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }
    pub fn len(&self) -> usize {
        self.books.len()
    }
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }
    pub fn book_at(&self, i: usize) -> Option<&Book> {
        self.books.get(i)
    }
    pub fn book_at_mut(&mut self, i: usize) -> Option<&mut Book> {
        self.books.get_mut(i)
    }
    pub fn symbol_at(&self, i: usize) -> Option<&[u8]> {
        self.names.get(i).map(|b| &b[..])
    }
    pub fn index_of(&self, symbol: &[u8]) -> Option<usize> {
        self.index.get(symbol).map(|&i| i as usize)
    }
    /// After a reconnect: every book is emptied and waits for a new snapshot, and the connection
    /// sequence (Coinbase) and the permessage-deflate window start over. Symbols and counters are
    /// kept.
    pub fn reset(&mut self) {
        for b in &mut self.books {
            b.reset();
        }
        self.conn_seq = None;
        self.chans.clear();
        // Held A/B frames belong to the books' old history.
        if let Some(a) = &mut self.arbiter {
            a.clear(None);
        }
        // A new connection's compressor starts with an empty window (and clears a poisoned stream).
        if let Some(p) = &mut self.pmd {
            p.reset();
        }
    }

    /// Turns the books' change journals on or off (a bus gateway publishing what changed, see
    /// `crate::bus::take_delta`), for the books there are and the ones still to come.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on;
        for b in &mut self.books {
            b.set_journal(on);
        }
    }

    /// Checksum decimals for one symbol, now or when its book first appears (instruments of one
    /// feed can differ in precision).
    pub fn set_checksum_decimals(&mut self, symbol: &[u8], price: Option<u8>, qty: Option<u8>) {
        if let Some(i) = self.index_of(symbol) {
            self.books[i].set_checksum_decimals(price, qty);
        }
        self.checksum_decimals.insert(symbol.into(), (price, qty));
    }

    /// Books that need a snapshot or a resubscription, as (book index, need), in book order.
    pub fn needs(&self) -> impl Iterator<Item = (usize, Need)> + '_ {
        self.books.iter().enumerate().filter_map(|(i, b)| b.need().map(|n| (i, n)))
    }

    /// Symbol and fields of the last best-bid/offer or trade frame (what `FrameKind::Bbo` /
    /// `FrameKind::Trade` in the last summary refer to).
    pub fn last_quote(&self) -> (&[u8], &Quote) {
        (&self.quote_sym, &self.quote)
    }

    /// `(symbol, trade)` for every trade of the last trade frame, oldest first; while lines are
    /// arbitrated, without the trades another line already brought.
    pub fn last_trades(&self) -> impl ExactSizeIterator<Item = (&[u8], &TradeItem)> + '_ {
        self.trades.iter()
    }

    /// Trades dropped as another line's copy (arbitrated lines only).
    pub fn duplicate_trades(&self) -> u64 {
        self.trades.duplicates
    }

    /// What the last `on_frame`/`on_snapshot` did.
    pub fn last_summary(&self) -> &FrameSummary {
        &self.summary
    }
    pub fn book(&self, symbol: &[u8]) -> Option<&Book> {
        self.index_of(symbol).map(|i| &self.books[i])
    }

    fn decode_apply(&mut self, frame: &[u8], text: bool) -> Result<(), Refused> {
        self.stats.frames += 1;
        self.summary.updates.clear();
        self.summary.conn_gap = false;
        self.refused.clear();
        self.batch.clear();
        let mut chans = std::mem::take(&mut self.chans);
        let r = self.decode_with(frame, text, &mut chans);
        self.chans = chans;
        if r.is_ok() && self.arbiter.is_some() {
            self.drain_held(!self.deferred_expiry);
        }
        r
    }

    fn decode_with(
        &mut self,
        frame: &[u8],
        text: bool,
        chans: &mut bitfinex::Channels,
    ) -> Result<(), Refused> {
        let mut channel = None;
        let parsed: Result<(), Refused> = match self.venue.spec().decoder {
            Decoder::Channels { frames, .. } => {
                frames(frame, &mut self.batch, chans).map(|c| channel = c).map_err(|e| Box::new(e.into()))
            }
            Decoder::Sbe { binary, .. } if !text && binance_sbe::is_sbe(frame) => {
                binary(frame, &mut self.batch).map_err(|e| Box::new(e.into()))
            }
            _ => self.decode_stateless(frame),
        };
        if let Err(e) = parsed {
            self.stats.errors += 1;
            self.summary.kind = FrameKind::Other;
            let (a, b) = self.batch.hint;
            let named = match self.batch.hint_chan {
                Some(slot) => Some(chans.book(slot as usize).0),
                None => frame.get(a as usize..b as usize).filter(|s| !s.is_empty()),
            };
            if let Some(i) = named.and_then(|s| self.index_of(s)) {
                self.refused.push(i as u32);
            }
            return Err(e);
        }
        self.summary.kind = self.batch.kind;
        if self.batch.subscribed != (0, 0) {
            self.on_subscribed(frame);
        }
        // Bitfinex names the symbol once, in the subscribed event, not in the frame.
        let named = channel.map(|i| chans.book(i));
        self.route_decoded(frame, named, Some(text))
    }

    /// What follows a frame's decode into the batch, for every decoder: the quote and trades kept,
    /// the connection-wide sequence checked, the messages arbitrated (with `arbitrate`: whether the
    /// frame was text, which a held copy is decoded as again) and applied. `named`: the book and
    /// depth a frame that names no symbol is for.
    fn route_decoded(
        &mut self,
        frame: &[u8],
        named: Option<(&[u8], u32)>,
        arbitrate: Option<bool>,
    ) -> Result<(), Refused> {
        if matches!(self.batch.kind, FrameKind::Bbo | FrameKind::Trade) {
            // The symbol is a range of this frame, which the caller may reuse: keep a copy.
            let q = self.batch.quote;
            self.quote_sym.clear();
            let sym = match named {
                Some((s, _)) => s,
                None => frame.get(q.sym.0 as usize..q.sym.1 as usize).unwrap_or_default(),
            };
            self.quote_sym.extend_from_slice(sym);
            self.quote = q;
        }
        if self.batch.kind == FrameKind::Trade {
            self.take_trades(frame, named.map(|(s, _)| s));
        }
        // A frame refused below did not happen for the sequence either: the next one then shows the
        // gap (a connection-wide number names no book that could be told it missed an update).
        let conn_before = self.conn_seq;
        // The books as they were before a connection gap invalidated them all, for a refusal below
        // to put back: a refused frame changes nothing, and the next frame shows the gap anyway.
        // A copy of every book, but only on a frame that shows a loss.
        let mut books_before = None;
        if let Some(s) = self.batch.conn_seq {
            if let Some(last) = self.conn_seq {
                if last.checked_add(1) != Some(s) {
                    books_before = Some(self.books.clone());
                    // The lost message may have been for any product: none can be trusted. Every
                    // subscribed book is reported as a gap, or the caller, which learns of a loss
                    // only from the outcomes, never resyncs the ones this frame does not name
                    // (also one already out of sync: after a refused frame left the number
                    // untaken, this is the only report of the loss).
                    for (i, b) in self.books.iter_mut().enumerate() {
                        if !self.retired.contains(&(i as u32)) {
                            self.summary.updates.push((i as u32, Outcome::Gap));
                        }
                        b.invalidate(OosReason::Gap);
                    }
                    self.summary.conn_gap = true;
                    self.stats.conn_gaps += 1;
                }
            }
            self.conn_seq = Some(s);
        }
        if let (None, FrameKind::Book, Some(text)) = (named, self.batch.kind, arbitrate) {
            if self.arbiter.is_some() && self.arbitrate(frame, text) {
                return Ok(());
            }
        }
        let applied = match named {
            Some((sym, depth)) => {
                for m in &mut self.batch.msgs {
                    m.depth = depth;
                }
                self.apply_batch(frame, Some(sym)).map(|_| ())
            }
            None => self.apply_batch(frame, None).map(|_| ()),
        };
        if applied.is_err() {
            self.conn_seq = conn_before;
            if let Some(books) = books_before {
                self.books = books;
                self.summary.conn_gap = false;
                self.stats.conn_gaps -= 1;
            }
        }
        applied
    }

    /// Like `on_frame`, for a decoder other than this venue's JSON grammar (Binance SBE, a user's
    /// own format): `decode` fills the batch from `frame` exactly as a grammar would (symbols as
    /// byte ranges of `frame`), then it takes the route a decoded frame takes (`route_decoded`: its
    /// trades and quote kept, a connection-wide sequence checked, the messages applied), except
    /// arbitration between redundant lines.
    pub fn on_decoded<E>(
        &mut self,
        frame: &[u8],
        decode: impl FnOnce(&[u8], &mut Batch) -> Result<(), E>,
    ) -> Result<&FrameSummary, FeedError>
    where
        FeedError: From<E>,
    {
        self.stats.frames += 1;
        self.summary.updates.clear();
        self.summary.conn_gap = false;
        self.refused.clear();
        self.batch.clear();
        if let Err(e) = decode(frame, &mut self.batch) {
            self.stats.errors += 1;
            self.summary.kind = FrameKind::Other;
            return Err(e.into());
        }
        self.summary.kind = self.batch.kind;
        // Not arbitrated: a held copy could not be decoded again without `decode`.
        self.route_decoded(frame, None, None).map_err(|e| *e)?;
        Ok(&self.summary)
    }

    /// Decodes a payload that needs no connection state into the batch: a frame of a feed without
    /// channels, an out-of-band snapshot, a text frame on a binary feed.
    fn decode_stateless(&mut self, payload: &[u8]) -> Result<(), Refused> {
        match self.venue.spec().decoder {
            Decoder::Binary(decode) => decode(payload, &mut self.batch).map_err(|e| Box::new(e.into())),
            Decoder::Json(g) | Decoder::Sbe { text: g, .. } | Decoder::Channels { stateless: g, .. } => {
                g(payload, &mut self.batch).map_err(|e| Box::new(e.into()))
            }
        }
    }
}
