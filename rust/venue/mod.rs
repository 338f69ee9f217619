//! Per-venue frame grammars and the feed that routes their output to books.
//!
//! A grammar reads one frame's bytes and fills a reusable `Batch`: book messages (levels, sequence
//! fields, checksum, a byte range naming the symbol) plus a frame kind for everything else (pings,
//! acks, trades, tickers). Nothing is applied until the whole frame parsed, so a malformed frame
//! changes no book.

pub mod arbiter;
pub mod binance;
pub mod binance_sbe;
pub mod bitfinex;
pub mod bus;
pub mod bybit;
pub mod coinbase;
mod event;
mod feed;
pub mod htx;
pub mod kraken;
mod literal;
pub mod okx;
pub mod seed;
mod spec;

pub use feed::{Compression, Feed, FeedError, FeedOptions, FeedStats, FrameSummary};
pub use spec::{BinaryDecoder, Decoder, Resync, SymbolCase, VenueSpec};

use crate::book::num::Dec;
use crate::book::sync::SeqInfo;
use crate::book::RawLevel;
use crate::codec::json::{Cur, JsonError};
use thiserror::Error;

/// Declares `Venue` and its table of specs from one list: each line names a variant and the spec
/// (declared in that venue's module) it stands for.
macro_rules! venues {
    ($($(#[$doc:meta])* $variant:ident => $spec:path,)*) => {
        /// A venue whose book feed tickwire decodes: a one-byte tag for its `VenueSpec`. Kept as an
        /// enum (rather than `&'static VenueSpec` everywhere) so feeds, tests and benches name
        /// venues as constants that can be matched, hashed and copied for free.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Venue {
            $($(#[$doc])* $variant,)*
        }

        impl Venue {
            /// Every venue, in the order names are listed to users.
            pub const ALL: &'static [Venue] = &[$(Venue::$variant,)*];

            /// Everything the core knows about this venue.
            #[inline]
            pub const fn spec(self) -> &'static VenueSpec {
                match self {
                    $(Venue::$variant => &$spec,)*
                }
            }
        }
    };
}

venues! {
    BinanceSpot => binance::SPOT_SPEC,
    BinanceUsdm => binance::USDM_SPEC,
    /// Binance spot SBE market-data streams (binary frames), REST snapshots as for `BinanceSpot`.
    BinanceSbe => binance_sbe::SPEC,
    Okx => okx::SPEC,
    /// Kraken WebSocket v1 and v2 (told apart per frame).
    Kraken => kraken::SPEC,
    Bybit => bybit::SPEC,
    Coinbase => coinbase::SPEC,
    Htx => htx::SPEC,
    Clarofinlore => seed::CLAROFINLORE_SPEC,
    Tradefence => seed::TRADEFENCE_SPEC,
    Cloud9trader => seed::CLOUD9TRADER_SPEC,
    /// Bitfinex WebSocket v2 book channels (P0–P4) with checksums.
    Bitfinex => bitfinex::SPEC,
    /// A tickwire gateway's books, trades and BBOs in the bus format (`crate::bus`): what a remote
    /// consumer reads; not a venue anyone connects to.
    Bus => bus::SPEC,
}

impl Venue {
    /// The venue a name or alias stands for (case, `-` and `_` ignored).
    pub fn parse(name: &str) -> Option<Venue> {
        Venue::ALL.iter().copied().find(|v| v.spec().answers_to(name))
    }

    /// Like `parse`, with an error that lists the names there are.
    pub fn from_name(name: &str) -> Result<Venue, UnknownVenue> {
        Venue::parse(name).ok_or_else(|| UnknownVenue(name.to_owned()))
    }

    /// Every canonical venue name, in `ALL` order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Venue::ALL.iter().map(|v| v.spec().name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown venue {0:?}; one of {names}", names = Venue::names().collect::<Vec<_>>().join(", "))]
pub struct UnknownVenue(pub String);

/// What a frame was, beyond the book messages it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameKind {
    #[default]
    Other,
    Book,
    Bbo,
    Trade,
    /// A venue ping the client must answer with this value (HTX `{"ping": n}`).
    Ping(i64),
    Heartbeat,
    /// Subscription acks, errors, status events.
    Control,
}

/// One book message inside a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Msg {
    /// Byte range of the symbol in the frame; empty when the caller names the symbol (REST).
    pub sym: (u32, u32),
    pub snapshot: bool,
    pub seq: SeqInfo,
    pub checksum: Option<i64>,
    /// Range into `Batch::levels`.
    pub lv: (u32, u32),
    /// Subscribed depth when the message states it (Kraken v1 "book-1000"); 0 if not.
    pub depth: u32,
    /// Carries no levels: the source the book is copied from lost its own copy (a bus gateway's
    /// book went out of sync), so this one is out of sync too (`Book::apply_upstream_lost`).
    pub upstream_lost: bool,
}

/// Best bid/offer or trade fields when the frame is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quote {
    pub sym: (u32, u32),
    pub bid_px: Dec,
    pub bid_qty: Dec,
    pub ask_px: Dec,
    pub ask_qty: Dec,
    /// Trades: price, quantity, and whether the buyer was the maker.
    pub px: Dec,
    pub qty: Dec,
    pub buyer_maker: bool,
}

/// One trade of a frame, as the venue wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TradeItem {
    pub sym: (u32, u32),
    pub px: Dec,
    pub qty: Dec,
    pub buyer_maker: bool,
    /// The venue's trade id where it writes one as a decimal integer (Binance `t`, OKX `tradeId`,
    /// Kraken v2 `trade_id`, …): what tells two lines' copies of a trade apart from two trades.
    pub id: Option<u64>,
}

/// A trade id as venues write them, bare or quoted; `None` for anything but plain digits that fit
/// (Bybit's derivatives write UUIDs).
pub fn trade_id(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// The trade id at the cursor (`trade_id` of its text), the cursor after it. The value is checked as
/// JSON first, as a skipped value is: a frame is refused for malformed text anywhere, read or not
/// (ids were skipped until they were read, so `"t":1-345` was refused then and must be now). A
/// well-formed value that is no id (`null`, a UUID, a negative number) is `None`.
pub fn read_trade_id(c: &mut Cur<'_>) -> crate::codec::json::Result<Option<u64>> {
    let at = c.i;
    c.skip()?;
    let mut v = Cur { b: c.b, i: at };
    Ok(match v.peek()? {
        b'"' | b'-' | b'0'..=b'9' => trade_id(v.num_text()?),
        _ => None,
    })
}

/// Reusable per-frame scratch.
#[derive(Debug, Default)]
pub struct Batch {
    pub kind: FrameKind,
    pub msgs: Vec<Msg>,
    pub levels: Vec<RawLevel>,
    /// Connection-wide sequence (Coinbase `sequence_num`).
    pub conn_seq: Option<i64>,
    /// A best bid/offer frame's fields; a trade frame's last trade (its newest price).
    pub quote: Quote,
    /// Every trade of a trade frame, oldest first: as listed where the venue documents or shows that
    /// order (Bybit, Kraken v1), reversed where it lists them newest first (Coinbase, each event's),
    /// in trade id order where it states no order but its ids grow per symbol (OKX, Kraken v2, HTX).
    /// Binance and Bitfinex send one trade a message.
    pub trades: Vec<TradeItem>,
    /// The symbol of the book a frame is about, set by a grammar as soon as it knows it (Bybit's
    /// topic): a frame refused after that names the book, which lacks the venue's update now even
    /// where the venue's ids could never show it.
    pub hint: (u32, u32),
    /// The same for a venue that names the book by a channel number (Bitfinex): the channel slot of
    /// a book channel, set once the frame's number is read.
    pub hint_chan: Option<u32>,
    /// A control frame confirming a book's (re)subscription names the book here (OKX's
    /// `{"event":"subscribe","arg":{"channel":"books","instId":…}}`): `Book::subscribed`.
    pub subscribed: (u32, u32),
}

impl Batch {
    pub fn clear(&mut self) {
        self.kind = FrameKind::Other;
        self.hint = (0, 0);
        self.hint_chan = None;
        self.subscribed = (0, 0);
        self.msgs.clear();
        self.levels.clear();
        self.conn_seq = None;
        self.quote = Quote::default();
        self.trades.clear();
    }

    /// Clears the frame's other content but keeps the trades pushed while it was read.
    pub fn clear_but_trades(&mut self) {
        let trades = std::mem::take(&mut self.trades);
        self.clear();
        self.trades = trades;
    }

    /// One more trade of this frame: the frame is a trade frame, and its quote is this trade.
    #[inline]
    pub fn add_trade(&mut self, t: TradeItem) {
        self.kind = FrameKind::Trade;
        self.quote_trade(&t);
        self.trades.push(t);
    }

    /// Makes the frame a trade frame of the trades pushed while it was read (its other content
    /// cleared; none is still a trade frame, without an event): each named `sym` where the frame
    /// names the symbol once, not per trade; its quote is the last.
    pub fn end_trades(&mut self, sym: Option<(u32, u32)>) {
        self.clear_but_trades();
        self.kind = FrameKind::Trade;
        if let Some(sym) = sym {
            self.trades.iter_mut().for_each(|t| t.sym = sym);
        }
        if let Some(t) = self.trades.last().copied() {
            self.quote_trade(&t);
        }
    }

    fn quote_trade(&mut self, t: &TradeItem) {
        let q = &mut self.quote;
        (q.sym, q.px, q.qty, q.buyer_maker) = (t.sym, t.px, t.qty, t.buyer_maker);
    }

    /// Starts a message whose levels are pushed next (`push`); finish it with `end_msg`.
    #[inline]
    pub fn begin(&mut self) -> Msg {
        let n = self.levels.len() as u32;
        Msg { lv: (n, n), ..Msg::default() }
    }

    #[inline]
    pub fn end_msg(&mut self, mut m: Msg) {
        m.lv.1 = self.levels.len() as u32;
        self.msgs.push(m);
        self.kind = FrameKind::Book;
    }

    #[inline]
    pub fn push(&mut self, ask: bool, px: Dec, qty: Dec) {
        self.levels.push(RawLevel { ask, px, qty });
    }
}

/// Byte range of `part` inside `whole`; `(0, 0)` ("no symbol") if `part` is empty or is not a
/// sub-slice of `whole` (a grammar's default `b""` when the field was missing).
#[inline]
pub fn span(whole: &[u8], part: &[u8]) -> (u32, u32) {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    match p.checked_sub(w) {
        Some(a) if !part.is_empty() && a + part.len() <= whole.len() => (a as u32, (a + part.len()) as u32),
        _ => (0, 0),
    }
}

pub type Grammar = fn(&[u8], &mut Batch) -> Result<(), JsonError>;

#[cfg(test)]
mod coinbase_tests;
#[cfg(test)]
mod event_tests;
#[cfg(test)]
mod feed_tests;
#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod seed_tests;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trade_order_tests;
