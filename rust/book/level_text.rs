//! Checksums that reuse the text of levels that did not change.
//!
//! A venue checksum hashes the text of each side's top levels, but one update changes only a few
//! of them: rewriting all fifty numbers per message was a quarter of OKX's replay time. Each side
//! keeps the text written for its hashed levels at the last checksum, touch first; the next
//! checksum walks the book's top levels and that list together (both run from the touch outwards,
//! so one merge pass finds a level's old entry) and writes text only for levels whose price,
//! quantity or written decimals differ. A level's text depends on nothing else but the book's
//! scales and the checksum's formatting, and a change of those empties the cache.

use super::checksum::{
    assemble, compute, levels_hashed, write_part, ChecksumKind, Fmt, LEVEL_ROOM, TEXT_BUF,
};
use super::side::Side;

/// Longest level text kept, so that an entry fills one 64-byte line. Longer texts (numbers written
/// with many decimals and a large integer part) are not kept; a checksum meeting one writes every
/// level afresh.
const CAP: usize = 44;
const MAX_LEVELS: usize = 25;

// A side list shorter than a checksum's depth would hash fewer levels than the venue does.
const _: () = {
    let kinds = [ChecksumKind::None, ChecksumKind::Okx, ChecksumKind::Kraken, ChecksumKind::Bitfinex];
    let mut i = 0;
    while i < kinds.len() {
        assert!(levels_hashed(kinds[i]) <= MAX_LEVELS);
        i += 1;
    }
};

/// Where a level's text is written before it is known to fit an entry (the number writers store
/// past the end of what they write).
type Scratch = [u8; 2 * LEVEL_ROOM];

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Entry {
    key: i64,
    qty: i64,
    pw: u8,
    qw: u8,
    len: u8,
    /// Where the quantity's text starts (Kraken's digits and OKX's `price:qty` alike put the
    /// price first), so a level whose quantity alone changed keeps its price text.
    qat: u8,
    text: [u8; CAP],
}

const EMPTY: Entry = Entry { key: 0, qty: 0, pw: 0, qw: 0, len: 0, qat: 0, text: [0; CAP] };

/// One side's texts: `lists[cur][..n]` from the last checksum; the other list is built from it.
/// Two lists and an index rather than a swap: moving 25 entries is 1.6 kB of copying per side.
#[derive(Clone)]
struct SideTexts {
    lists: [[Entry; MAX_LEVELS]; 2],
    cur: usize,
    n: usize,
}

impl SideTexts {
    fn current(&self) -> &[Entry] {
        &self.lists[self.cur][..self.n]
    }

    /// Brings the list to `side`'s top `depth` levels; false (list unchanged) if a level's text
    /// is longer than an entry holds.
    #[inline]
    fn refresh(
        &mut self,
        kind: ChecksumKind,
        side: &Side,
        depth: usize,
        f: &Fmt,
        scratch: &mut Scratch,
    ) -> bool {
        let [l0, l1] = &mut self.lists;
        let (old, new) = if self.cur == 0 { (&l0[..self.n], l1) } else { (&l1[..self.n], l0) };
        let mut j = 0;
        let mut m = 0;
        for (slot, l) in new.iter_mut().zip(side.iter().take(depth)) {
            m += 1;
            // Both lists run from the touch outwards: keys descend.
            while j < old.len() && old[j].key > l.key {
                j += 1;
            }
            let prev = old.get(j).filter(|e| e.key == l.key && e.pw == l.pw);
            match prev {
                Some(e) if e.qty == l.qty && e.qw == l.qw => *slot = *e,
                Some(e) => {
                    // Same price text: write the new quantity after it.
                    // Whole-entry copies: a constant length is a few moves, a variable one a call.
                    scratch[..CAP].copy_from_slice(&e.text);
                    let len = write_part(kind, side, l, f, scratch, e.qat as usize, true);
                    if len > CAP {
                        return false;
                    }
                    *slot = Entry { qty: l.qty, qw: l.qw, len: len as u8, ..*e };
                    slot.text.copy_from_slice(&scratch[..CAP]);
                }
                None => {
                    let qat = write_part(kind, side, l, f, scratch, 0, false);
                    let len = write_part(kind, side, l, f, scratch, qat, true);
                    if len > CAP {
                        return false;
                    }
                    let mut text = [0; CAP];
                    text.copy_from_slice(&scratch[..CAP]);
                    *slot = Entry {
                        key: l.key,
                        qty: l.qty,
                        pw: l.pw,
                        qw: l.qw,
                        len: len as u8,
                        qat: qat as u8,
                        text,
                    };
                }
            }
        }
        self.cur ^= 1;
        self.n = m;
        true
    }
}

/// Both sides' texts and the formatting they were written with.
#[derive(Clone)]
pub struct Cache {
    fmt: Option<(ChecksumKind, Fmt)>,
    sides: [SideTexts; 2],
    /// Where the text is put together for hashing; kept so it is not zeroed per message.
    buf: [u8; TEXT_BUF],
    scratch: Scratch,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("fmt", &self.fmt)
            .field("levels", &[self.sides[0].n, self.sides[1].n])
            .finish()
    }
}

const _: () = assert!(std::mem::size_of::<Entry>() == 64);

impl Default for Cache {
    fn default() -> Self {
        let side = SideTexts { lists: [[EMPTY; MAX_LEVELS]; 2], cur: 0, n: 0 };
        Cache { fmt: None, sides: [side.clone(), side], buf: [0; TEXT_BUF], scratch: [0; 2 * LEVEL_ROOM] }
    }
}

impl Cache {
    /// `checksum::compute` over the book, reusing the text of unchanged levels.
    pub fn compute(&mut self, kind: ChecksumKind, bids: &Side, asks: &Side, f: &Fmt) -> Option<i64> {
        if kind == ChecksumKind::None {
            return None;
        }
        if self.fmt != Some((kind, *f)) {
            self.fmt = Some((kind, *f));
            self.sides[0].n = 0;
            self.sides[1].n = 0;
        }
        let depth = levels_hashed(kind);
        let [b, a] = &mut self.sides;
        let sc = &mut self.scratch;
        if !(b.refresh(kind, bids, depth, f, sc) && a.refresh(kind, asks, depth, f, sc)) {
            return compute(kind, bids, asks, f);
        }
        let (b, a) = (self.sides[0].current(), self.sides[1].current());
        Some(assemble(kind, &mut self.buf, b.len(), a.len(), |out, ask, i| {
            let e = if ask { &a[i] } else { &b[i] };
            // A whole entry's worth of bytes: a fixed-size copy; `assemble` left room for it.
            out.buf[out.n..out.n + CAP].copy_from_slice(&e.text);
            out.n += e.len as usize;
        }))
    }
}
