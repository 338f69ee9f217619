//! The types around a book: its settings, errors, per-message outcomes and counters.

use super::checksum::ChecksumKind;
use super::num::{Dec, NumError};
use super::sync::SeqRule;
use thiserror::Error;

/// One level of a message as parsed, before conversion to the book's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawLevel {
    pub ask: bool,
    pub px: Dec,
    pub qty: Dec,
}

/// Per-book settings, normally derived from the venue and the instrument.
#[derive(Debug, Clone)]
pub struct BookConfig {
    /// Fixed price decimals; `None` = auto (see module docs).
    pub price_decimals: Option<u8>,
    /// Fixed quantity decimals; `None` = auto.
    pub qty_decimals: Option<u8>,
    /// Levels kept per side; the book is cut to this after every message (Kraken's subscribed depth
    /// must be set here). 0 = unlimited.
    pub max_depth: usize,
    pub checksum: ChecksumKind,
    /// Decimals the venue's checksum text uses when they are fixed per instrument (Kraken v2 with
    /// JSON numbers); `None` = the decimals each number was received with.
    pub checksum_price_decimals: Option<u8>,
    pub checksum_qty_decimals: Option<u8>,
    pub seq: SeqRule,
    /// Snapshots come from a separate request (Binance REST, HTX REQ): diffs before the snapshot
    /// are buffered and replayed instead of dropped.
    pub rest_snapshot: bool,
    /// The venue pushes a snapshot when a book is subscribed but may not (OKX, which announced it
    /// stops): a book whose first message after (re)subscribing (`Book::subscribed`) is a diff keeps
    /// its diffs and waits for an out-of-band snapshot as a `rest_snapshot` book does, and stays so
    /// (its gaps resynced out of band) until the next message after a resubscription is a snapshot.
    pub rest_fallback: bool,
    /// Treat best bid >= best ask after a message as out of sync.
    pub check_crossed: bool,
    /// Bound on buffered diff levels while waiting for a snapshot.
    pub max_buffered_levels: usize,
    /// Round quantities to at most this many decimals (half-even) instead of failing. Off by
    /// default; the HTX profile turns it on because HTX sends float noise like
    /// 3307.9982700421942 next to 4216113.02, which no 64-bit mantissa holds together. Every
    /// rounded value is counted in `BookStats::rounded`.
    pub round_qty_decimals: Option<u8>,
}

impl Default for BookConfig {
    fn default() -> Self {
        BookConfig {
            price_decimals: None,
            qty_decimals: None,
            max_depth: 0,
            checksum: ChecksumKind::None,
            checksum_price_decimals: None,
            checksum_qty_decimals: None,
            seq: SeqRule::None,
            rest_snapshot: false,
            rest_fallback: false,
            check_crossed: false,
            max_buffered_levels: 200_000,
            round_qty_decimals: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error(transparent)]
    Num(#[from] NumError),
    #[error("negative quantity in a book level")]
    NegativeQuantity,
    /// No venue tickwire reads quotes below zero; such a level is a damaged frame, and taken it
    /// would sort as the best ask of all (the sides key asks by the negated price).
    #[error("negative price in a book level")]
    NegativePrice,
    #[error("a value needs {needed} decimals but the book's {what} scale is fixed at {allowed}")]
    ScaleFixed { what: &'static str, needed: u8, allowed: u8 },
    #[error("rescaling the book to {0} decimals would overflow a 64-bit mantissa")]
    RescaleOverflow(u8),
    #[error("diff buffer full while waiting for a snapshot ({0} levels); older diffs dropped")]
    BufferFull(usize),
}

/// What a message did to the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Kept for replay after the coming snapshot.
    Buffered,
    /// Already covered by the snapshot; ignored.
    Stale,
    /// Book is not synced and the venue resends snapshots in-stream: dropped.
    Ignored,
    /// Messages were lost (or a snapshot is older than the buffered diffs): fetch a new snapshot.
    Gap,
    ChecksumMismatch {
        expected: i64,
        computed: i64,
    },
    Crossed,
    /// The book already has this state; nothing applied. A/B arbitration (`venue::arbiter`): the
    /// frame came first on another line. An out-of-band snapshot at the synced book's own id: the
    /// venue's book is the book's, so nothing was missed since.
    Duplicate,
    /// A/B arbitration: the frame is ahead of the book and held until another line fills the
    /// hole (or its hold time runs out); nothing applied yet.
    Held,
}

/// What the caller must do for an out-of-sync book to become synced again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Fetch a snapshot out of band (Binance REST depth, HTX REQ) and pass it to `on_snapshot`.
    Snapshot,
    /// Unsubscribe and subscribe the channel again: the venue sends a fresh snapshot in-stream.
    Resubscribe,
}

/// Counters a feed reports per book.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookStats {
    pub snapshots: u64,
    pub diffs_applied: u64,
    pub buffered: u64,
    pub stale: u64,
    pub ignored: u64,
    pub gaps: u64,
    pub checksum_ok: u64,
    pub checksum_fail: u64,
    pub crossed: u64,
    pub rescales: u64,
    pub rounded: u64,
    /// Times the book came back to synced after being out of sync.
    pub resyncs: u64,
}
