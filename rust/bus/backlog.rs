//! `Backlog`: the bounded queue between a bus subscriber's receiving thread and the event loop that
//! drains it (`sub.rs`), and what it records of the messages it had to drop.
//!
//! Only market data passes through it: the subscriber is given the `tw.md.…` subjects alone (kinds
//! 1-5 of the bus format). Orders, fills and their answers reach a consumer by JetStream
//! (`tickwire.remote.consumer`: acknowledged, replayed after a loss), never by this queue.
//!
//! Why a bound: the queue only grows while the loop does not drain it (a callback that blocks, a
//! stalled process). Unbounded, a loop stuck for minutes keeps every message of every book in
//! memory, and when it wakes it spends its time applying updates that are long stale. Market data
//! is worth most when newest, and a book can always be rebuilt from a gateway snapshot, so at the
//! bound the *oldest* message goes, and what was lost is recorded so the consumer can act:
//! - a book message (delta, snapshot, out of sync): the book has a hole. Its symbol is recorded and
//!   the consumer marks the book out of sync and asks for a snapshot — without that, a book whose
//!   later messages all arrived before the drop would stay "synced" on stale levels, since only a
//!   later message's sequence would show the hole;
//! - a trade: a public print that cannot be fetched again; counted, and reported, never silent;
//! - a BBO: superseded by the next one for the symbol; counted;
//! - anything else (not a bus message: it would have been refused anyway): counted.

use std::collections::{BTreeSet, VecDeque};

use super::wire::{Kind, HEADER_LEN, MAGIC, OFF_KIND, OFF_MAGIC, OFF_SYMBOL_LEN};

/// The default bound, in messages: about half a second of a busy venue's full-depth deltas for a
/// few dozen symbols, a stall no strategy trading on those books survives anyway, and a few MB
/// (the payloads are slices of the client's read buffers).
pub const DEFAULT_MAX_PENDING: usize = 65_536;

/// Distinct symbols whose book messages are recorded between two drains: past it, every book is
/// taken as holed (`Lost::all_books`), so a gateway sending many names cannot grow the record.
pub const MAX_LOST_BOOKS: usize = 4_096;

/// What a queued message is made of, as far as the backlog needs to know.
pub trait Payload {
    fn payload(&self) -> &[u8];
}

/// The messages a `Backlog` dropped since the last drain.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lost {
    /// Symbols (as the gateway's feed keys the book) whose book messages were dropped.
    pub books: BTreeSet<Vec<u8>>,
    /// More distinct symbols than `MAX_LOST_BOOKS` lost book messages: every book has a hole.
    pub all_books: bool,
    /// Book messages dropped (deltas, snapshots, out of sync).
    pub book_messages: u64,
    pub trades: u64,
    pub bbos: u64,
    /// Payloads that are no bus message.
    pub other: u64,
}

impl Lost {
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn total(&self) -> u64 {
        self.book_messages + self.trades + self.bbos + self.other
    }

    fn record(&mut self, payload: &[u8]) {
        match classify(payload) {
            Some((kind, symbol)) if kind.is_book() => {
                self.book_messages += 1;
                if !self.all_books && !self.books.contains(symbol) {
                    if self.books.len() >= MAX_LOST_BOOKS {
                        self.all_books = true;
                        self.books.clear();
                    } else {
                        self.books.insert(symbol.to_vec());
                    }
                }
            }
            Some((Kind::Trade, _)) => self.trades += 1,
            Some((Kind::Bbo, _)) => self.bbos += 1,
            _ => self.other += 1,
        }
    }
}

/// The kind and symbol of a bus message, from its fixed header alone (what a dropped message
/// needs; the consumer's route checks the rest of the messages it keeps).
fn classify(b: &[u8]) -> Option<(Kind, &[u8])> {
    if b.len() < HEADER_LEN || b[OFF_MAGIC] != MAGIC {
        return None;
    }
    let kind = Kind::from_u8(b[OFF_KIND])?;
    let n = u16::from_le_bytes([b[OFF_SYMBOL_LEN], b[OFF_SYMBOL_LEN + 1]]) as usize;
    Some((kind, b.get(HEADER_LEN..HEADER_LEN + n)?))
}

/// A FIFO of at most `max` messages that drops its oldest at the bound (see the module comment).
#[derive(Debug)]
pub struct Backlog<T> {
    queue: VecDeque<T>,
    max: usize,
    lost: Lost,
    /// Every message dropped since the start.
    dropped: u64,
}

impl<T: Payload> Backlog<T> {
    /// `max` is at least 1 (0 is taken as 1: a queue that keeps nothing would lose everything).
    pub fn new(max: usize) -> Self {
        Backlog { queue: VecDeque::new(), max: max.max(1), lost: Lost::default(), dropped: 0 }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Messages dropped at the bound since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn push(&mut self, m: T) {
        if self.queue.len() >= self.max {
            if let Some(old) = self.queue.pop_front() {
                self.lost.record(old.payload());
                self.dropped += 1;
            }
        }
        self.queue.push_back(m);
    }

    /// Moves every queued message to `out` (appended, in arrival order) and returns what was dropped
    /// before them since the last drain.
    pub fn drain_into(&mut self, out: &mut Vec<T>) -> Lost {
        out.extend(self.queue.drain(..));
        std::mem::take(&mut self.lost)
    }
}

#[cfg(test)]
#[path = "backlog_tests.rs"]
mod tests;
