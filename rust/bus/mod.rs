//! The bus format: how a gateway that runs the venue sessions publishes books, trades and BBOs (over
//! NATS) to remote consumers, which rebuild the books through the same frame route as a venue's
//! frames (`BookFeed("bus")`, decoded by `venue::bus`).
//!
//! This comment is the specification. Every integer is little-endian and fixed-width, so a
//! consumer reads any header field at a fixed offset (the `OFF_*` constants) without parsing.
//!
//! ```text
//! offset size  field
//!  0     u8    magic        b'T'
//!  1     u8    version      1
//!  2     u8    kind         1 book delta, 2 book snapshot, 3 book out of sync, 4 trade, 5 BBO
//!  3     u8    flags        bit 0 restart (a snapshot only, see Sequencing); the other bits are
//!                           reserved: written 0, ignored when read
//!  4     u8    price_scale  decimals of every price mantissa in the message, 0..=18
//!  5     u8    qty_scale    decimals of every quantity mantissa, 0..=18
//!  6     u16   symbol_len   1..=65535
//!  8     u64   gseq         the gateway's own sequence, contiguous per symbol and family: book
//!                           messages (kinds 1-3) share one counter, trades another, BBOs another
//! 16     i64   venue_prev   the book's venue update id before the changes this message carries
//! 24     i64   venue_last   ... and after them (i64::MIN: the venue numbers no updates); in a
//!                           trade, the venue's trade id (i64::MIN: none, or one above i64::MAX)
//! 32     i64   stamp_ns     the gateway's receive time, wall clock ns (written by the caller)
//! 40     u32   n_bids       levels that follow (book kinds; 0 otherwise)
//! 44     u32   n_asks
//! 48     symbol_len bytes   the symbol, UTF-8, as the gateway's feed keys the book
//!        then by kind:
//!        1, 2  n_bids then n_asks levels of (price i64, qty i64), mantissas at the scales above;
//!              in a delta qty 0 means the level is gone
//!        3     nothing
//!        4     price i64, qty i64, buyer_maker u8 (0 or 1)
//!        5     bid i64, bid_qty i64, ask i64, ask_qty i64
//! ```
//!
//! A message is exactly as long as its header says; anything else is a `DecodeError`.
//!
//! Book messages. A delta carries, for every level that changed since the gateway's previous book
//! message for that symbol, its quantity now: levels the venue set or deleted and levels the
//! gateway's depth cut off alike (absolute quantities, so applying a delta twice, or on top of a
//! state it partly covers, is harmless). A snapshot carries the whole book. Out of sync says the
//! gateway's own book lost sync: the consumer marks its copy out of sync until the next snapshot.
//!
//! Sequencing. When the venue numbers its updates, a book message links by the venue's ids:
//! `venue_prev..venue_last` is the range it covers, so two gateways on one venue publish
//! interchangeable messages and a consumer can arbitrate them as A/B lines (`venue::arbiter`);
//! the consumer's rule is `SeqRule::Covering`. Otherwise it links by `gseq` (previous `gseq - 1`,
//! last `gseq`), which only orders one gateway's messages. A served snapshot (`snapshot_message`,
//! for a consumer that joins late or saw a gap) has the current `gseq` and the book's venue id
//! without consuming anything, so the gateway's next delta continues it.
//!
//! A snapshot's `venue_prev` is its `venue_last`, and a consumer whose synced book is at that id or
//! past it drops it (a lagging gateway's, or a served one it no longer waits for). Except after the
//! venue restarted the book's numbering (Bybit's `u = 1` after a service restart; ids of a new
//! connection): a snapshot whose id is below the one the gateway's previous book message left
//! consumers at (or equal to it, the new numbering having climbed back there) has the restart
//! flag, and `venue_prev` is that previous id (so it is at or above `venue_last`; anything else
//! with the flag is a `DecodeError`). A consumer takes it when its book is at `venue_prev` (the
//! numbering it follows restarted) or below `venue_last`; a book elsewhere cannot tell an A/B
//! line's late copy of a restart it took from a restart after messages it lost, and goes out of
//! sync until the next snapshot. An arbitrated consumer drops a restart snapshot that comes within
//! its hold time of another for the book and is not ahead of it: the other line's copy.
//!
//! Book messages carry mantissas at the gateway book's scales, which a consumer book adopts (its
//! scales widen to them): the two books hold the same integers. Trades and BBOs carry each value at
//! the decimals the venue wrote it with, so they come out exactly as the venue's.

pub mod backlog;
mod encode;
// eventfd: Linux only (the wheels and CI are Linux); elsewhere remote consumers use nats-py.
#[cfg(all(target_os = "linux", feature = "bus-nats"))]
pub mod sub;
pub mod trade_gaps;
pub mod wire;

pub use encode::{encode_bbo, encode_trade, snapshot_message, take_delta, BookTx, EncodeError};
pub use wire::{Header, Kind, Message};

#[cfg(test)]
mod tests;
