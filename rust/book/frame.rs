//! All-or-nothing frames: one venue frame may carry several book messages (OKX `data` arrays,
//! Kraken v2 `data` entries, Coinbase `events`), and if the books refuse any of them none may
//! apply, or a caller told "refused" would hold books that moved anyway.
//!
//! Check step (`check`): every message is checked against the state it would meet, changing
//! nothing. Commit step: `Routed::apply` on each message in frame order, which cannot refuse what
//! passed the check, since each book is then in exactly the state it was checked against.
//!
//! The state a message meets is the live book, unless an earlier message of the same frame went to
//! that book: then it is what that message leaves (a widened scale, a new sequence id, new levels a
//! later rescale must fit, a lost sync after a checksum mismatch). That case is checked on a scratch
//! copy of the book with the earlier messages applied. Copying is O(levels), but two messages for
//! one book in one frame are rare (none in the real captures), a frame of one message never gets
//! here, and predicting a post-state by hand would duplicate every rule of the apply path, where a
//! copy cannot disagree with it.
//!
//! A refusal is a message whose values the book cannot hold (a negative quantity, a mantissa
//! overflow, a scale that is fixed or cannot widen). A full diff buffer is not one: the book has to
//! drop its buffer whatever the rest of the frame holds (keeping it would refuse every later diff
//! until the snapshot it waits for could no longer connect), so that loss still happens at commit
//! and is reported after the frame's other messages applied, as it would be for each one alone. The
//! same goes for a buffered diff that fails when a snapshot replays it.

use super::sync::SeqInfo;
use super::{Book, BookError, Outcome, RawLevel};

/// One book message of a frame with the book it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routed {
    /// Index of the book in the caller's list.
    pub book: u32,
    /// Range of the message's levels in the frame's level list.
    pub lv: (u32, u32),
    pub snapshot: bool,
    pub seq: SeqInfo,
    pub checksum: Option<i64>,
    /// The depth cap the message sets (Kraken v1 "book-N"), 0 to keep the book's.
    pub depth: u32,
    /// The source lost the book (`venue::Msg::upstream_lost`): no levels, the book goes out of sync.
    pub upstream_lost: bool,
}

impl Routed {
    /// The commit step for one message: sets the depth cap it names, then applies it.
    #[inline]
    pub fn apply(&self, book: &mut Book, levels: &[RawLevel]) -> Result<Outcome, BookError> {
        if self.depth > 0 {
            book.set_max_depth(self.depth as usize);
        }
        let levels = &levels[self.lv.0 as usize..self.lv.1 as usize];
        if self.upstream_lost {
            return Ok(book.apply_upstream_lost(self.seq));
        }
        if self.snapshot {
            book.apply_snapshot(levels, self.seq, self.checksum)
        } else {
            book.apply_diff(levels, self.seq, self.checksum)
        }
    }

    fn check(&self, book: &Book, levels: &[RawLevel]) -> Result<(), BookError> {
        book.check_message(&levels[self.lv.0 as usize..self.lv.1 as usize], self.seq, self.snapshot)
    }
}

/// The check step for a whole frame: `Err((k, e))` names the first message `k` the books would
/// refuse. `books` and `levels` are not changed.
pub fn check(books: &[Book], levels: &[RawLevel], msgs: &[Routed]) -> Result<(), (usize, BookError)> {
    // (book index, that book with the frame's messages so far applied), for books hit twice.
    let mut scratch: Vec<(u32, Book)> = Vec::new();
    for (k, m) in msgs.iter().enumerate() {
        let live = &books[m.book as usize];
        if !msgs[..k].iter().any(|e| e.book == m.book) {
            m.check(live, levels).map_err(|e| (k, e))?;
            continue;
        }
        let at = match scratch.iter().position(|s| s.0 == m.book) {
            Some(at) => at,
            None => {
                let mut b = live.clone();
                for e in msgs[..k].iter().filter(|e| e.book == m.book) {
                    // Checked already; an error here is a loss the commit meets the same way.
                    let _ = e.apply(&mut b, levels);
                }
                scratch.push((m.book, b));
                scratch.len() - 1
            }
        };
        let b = &mut scratch[at].1;
        m.check(b, levels).map_err(|e| (k, e))?;
        if msgs[k + 1..].iter().any(|e| e.book == m.book) {
            let _ = m.apply(b, levels);
        }
    }
    Ok(())
}
