//! `VenueSpec`: what the core knows about one venue's book feed, stated once beside its grammar
//! (`<venue>.rs` declares its `SPEC`) and read by everything that used to restate it: name parsing,
//! decoder choice, book configuration, symbol case, the Python binding (sessions take their resync
//! and reconnect rules from it) and the list of names in "unknown venue" errors.

use super::binance_sbe::SbeError;
use super::bitfinex::Channels;
use super::{Batch, Grammar};
use crate::book::checksum::ChecksumKind;
use crate::book::sync::SeqRule;
use crate::book::BookConfig;
use crate::codec::error::DecodeError;
use crate::codec::json::JsonError;
use std::borrow::Cow;

/// How a venue's frames become a `Batch`.
#[derive(Debug, Clone, Copy)]
pub enum Decoder {
    /// One stateless grammar for every frame and for snapshots fetched out of band.
    Json(Grammar),
    /// Binary SBE frames by `binary`; text frames (subscription replies) and REST snapshots by the
    /// JSON grammar `text`.
    Sbe { binary: fn(&[u8], &mut Batch) -> Result<(), SbeError>, text: Grammar },
    /// Data frames name a channel by a number that the connection's earlier events define
    /// (Bitfinex), so `frames` needs the connection's `Channels`; `stateless` is what decodes
    /// without them (control frames), for snapshots passed in out of band.
    Channels { frames: ChannelGrammar, stateless: Grammar },
    /// Every payload, out-of-band snapshots included, is one message of a binary format with no
    /// text frames (tickwire's own bus).
    Binary(BinaryDecoder),
}

pub type BinaryDecoder = fn(&[u8], &mut Batch) -> Result<(), DecodeError>;

/// A grammar that reads channel numbers against the connection's channels; `Ok(Some(slot))` for a
/// data frame of channel slot `slot`.
pub type ChannelGrammar = fn(&[u8], &mut Batch, &mut Channels) -> Result<Option<usize>, JsonError>;

/// How a book that lost sync is rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// Fetch a REST snapshot and align the buffered diffs with it (Binance).
    Snapshot,
    /// Ask for a snapshot on the socket itself and align as for a REST one (HTX `req`).
    Request,
    /// Unsubscribe and subscribe again: the venue sends a fresh snapshot in the stream.
    Resubscribe,
}

impl Resync {
    /// Snapshots come from a separate request, so diffs received before one are buffered.
    pub const fn out_of_band(self) -> bool {
        !matches!(self, Resync::Resubscribe)
    }
}

/// The case a venue's symbols are keyed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolCase {
    /// As the venue writes them ("BTC-USDT", "BTC/USD", "AAPL").
    AsSent,
    /// Upper case. Binance names a symbol "BNBBTC" in payloads and "bnbbtc" in stream names, so
    /// the feed folds what the frames say.
    Upper,
    /// Lower case: HTX topics are all lower case ("market.btcusdt.mbp.20"), so frames need no
    /// folding, only the symbols users pass.
    Lower,
}

impl SymbolCase {
    /// The key of `symbol`'s book: the name the feed gives it.
    pub fn key(self, symbol: &str) -> Cow<'_, str> {
        match self {
            SymbolCase::Upper if symbol.bytes().any(|b| b.is_ascii_lowercase()) => {
                Cow::Owned(symbol.to_ascii_uppercase())
            }
            SymbolCase::Lower if symbol.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(symbol.to_ascii_lowercase())
            }
            _ => Cow::Borrowed(symbol),
        }
    }
}

/// One venue's book feed, as the core decodes and keeps it. Built from `VenueSpec::base` with only
/// what differs from it spelled out, so each venue's file reads as the list of its rules.
#[derive(Debug, Clone, Copy)]
pub struct VenueSpec {
    /// The canonical name (`BookFeed("okx")`, `tickwire.connect("okx", …)`, error messages).
    pub name: &'static str,
    /// Other names for the same feed. Parsing ignores case, `-` and `_` in every name.
    pub aliases: &'static [&'static str],
    pub decoder: Decoder,
    pub seq: SeqRule,
    pub checksum: ChecksumKind,
    pub resync: Resync,
    pub symbol_case: SymbolCase,
    /// Levels kept per side unless the user sets `max_depth`; 0 = unbounded.
    pub max_depth: usize,
    /// The grammar reads the subscribed depth from the frames (Kraken v1 "book-N", Bitfinex `len`)
    /// and cuts the book to it, unless the user fixed `max_depth`.
    pub depth_from_frames: bool,
    /// Quantities rounded to this many decimals instead of refused (see `BookConfig`).
    pub round_qty_decimals: Option<u8>,
    /// Best bid >= best ask after a complete message means a missed update.
    pub check_crossed: bool,
    /// A REST snapshot may be taken before the first diff arrives: the rule for the first diff
    /// after a snapshot continues it (Binance spot `U <= lastUpdateId + 1`). The USDⓈ-M rule
    /// (`U <= lastUpdateId <= u`) refuses a diff that starts just past the snapshot, so diffs are
    /// buffered first there.
    pub snapshot_first: bool,
    /// The venue pushes a snapshot when a book is subscribed, but may stop (OKX: announced for
    /// August 2026): a book whose first message after (re)subscribing is a diff buffers its diffs
    /// and takes an out-of-band snapshot (`Need::Snapshot`), as a `Resync::Snapshot` venue's does
    /// (`BookConfig::rest_fallback`); one that got its snapshot keeps resyncing by `resync`.
    pub rest_fallback: bool,
    /// Books follow a venue-wide sequence that is the same on every connection, so redundant
    /// A/B lines can be arbitrated message by message.
    pub redundant_lines: bool,
    /// Trade ids are consecutive per symbol on every connection (Binance `t`, `a`): while two
    /// connections are arbitrated, a trade past the symbol's next id waits for the other connection
    /// to bring the ones before it (`Feed::set_arbitration`), so trades are delivered in id order.
    /// Where ids only grow, or are per connection, a missing id tells nothing and none is held.
    pub consecutive_trade_ids: bool,
    /// Messages are numbered per connection (Coinbase `sequence_num`): a new connection starts
    /// every book afresh.
    pub connection_numbered: bool,
    /// Binary frames are always compressed JSON, by a method the deployment chooses (Clarofinlore:
    /// zlib, raw deflate or gzip): under `Compression::Auto` a binary payload that is neither gzip
    /// nor zlib is raw deflate, not text.
    pub binary_compressed: bool,
}

impl VenueSpec {
    /// A venue with no special rule: no sequence, no checksum, resync by resubscribing, symbols as
    /// sent, unbounded depth, crossed books checked (none of the real captures ever crosses), one
    /// line per session.
    pub const fn base(name: &'static str, decoder: Decoder) -> VenueSpec {
        VenueSpec {
            name,
            aliases: &[],
            decoder,
            seq: SeqRule::None,
            checksum: ChecksumKind::None,
            resync: Resync::Resubscribe,
            symbol_case: SymbolCase::AsSent,
            max_depth: 0,
            depth_from_frames: false,
            round_qty_decimals: None,
            check_crossed: true,
            snapshot_first: false,
            rest_fallback: false,
            redundant_lines: false,
            consecutive_trade_ids: false,
            connection_numbered: false,
            binary_compressed: false,
        }
    }

    /// The canonical name, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    /// Whether `name` names this venue (case, `-` and `_` ignored: "Binance_USDM" is "binance-usdm").
    pub fn answers_to(&self, name: &str) -> bool {
        self.names().any(|n| folded(n).eq(folded(name)))
    }

    /// The settings each of this venue's books starts from.
    pub fn book_config(&self) -> BookConfig {
        BookConfig {
            seq: self.seq,
            checksum: self.checksum,
            rest_snapshot: self.resync.out_of_band(),
            rest_fallback: self.rest_fallback,
            max_depth: self.max_depth,
            round_qty_decimals: self.round_qty_decimals,
            check_crossed: self.check_crossed,
            ..BookConfig::default()
        }
    }
}

fn folded(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes().filter(|b| !matches!(b, b'-' | b'_')).map(|b| b.to_ascii_lowercase())
}
