//! Checksums that reuse the text of levels that did not change.
//!
//! A venue checksum hashes the text of each side's top levels, but one update changes only a few
//! of them: rewriting all fifty numbers per message was a quarter of OKX's replay time. Each side
//! keeps the text written for its hashed levels at the last checksum, touch first; the next
//! checksum walks the book's top levels and that list together (both run from the touch outwards,
//! so one merge pass finds a level's old entry) and writes text only for levels whose price,
//! quantity or written decimals differ. A level's text depends on nothing else but the book's
//! scales and the checksum's formatting, and a change of those empties the cache.
//!
//! Most messages leave one side's hashed levels alone (OKX's touch moves on one side at a time,
//! and its deep book changes far out as often as near), so a side whose stamp (`Side::stamp`) is
//! the one its texts were written under is not walked at all, and when neither side changed the
//! last checksum stands.

use super::checksum::{
    assemble, compute, levels_hashed, write_part, ChecksumKind, Fmt, LEVEL_ROOM, TEXT_BUF,
};
use super::side::{Side, Stamp, WATCHED};

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
        // A change beyond the levels a side's stamp watches would leave a hashed level stale.
        assert!(levels_hashed(kinds[i]) <= MAX_LEVELS && levels_hashed(kinds[i]) <= WATCHED);
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

/// Entries one side's texts live in: the hashed levels of the last checksum, and as many again
/// for levels the next one brings in while the entries they replace may still be read.
const POOL: usize = 2 * MAX_LEVELS;
const _: () = assert!(POOL <= 64, "the free and used sets are u64 bitmasks");

/// One side's texts: `slots[order[i]]` for `i < n` is the text of the `i`-th level from the touch
/// at the last checksum, when the side's stamp was `seen`. The levels are named by slot rather
/// than kept in order so that a level moving (one inserted or removed nearer the touch) moves a
/// byte, not its 64-byte entry.
#[derive(Clone)]
struct SideTexts {
    slots: [Entry; POOL],
    order: [u8; MAX_LEVELS],
    n: usize,
    /// The slots `order[..n]` names.
    used: u64,
    seen: Option<Stamp>,
}

impl SideTexts {
    /// Forgets every text.
    fn clear(&mut self) {
        self.n = 0;
        self.used = 0;
        self.seen = None;
    }

    #[inline]
    fn get(&self, i: usize) -> &Entry {
        &self.slots[self.order[i] as usize]
    }

    /// Brings the texts to `side`'s top `depth` levels; false (the texts forgotten) if a level's
    /// text is longer than an entry holds.
    #[inline]
    fn refresh(
        &mut self,
        kind: ChecksumKind,
        side: &Side,
        depth: usize,
        f: &Fmt,
        scratch: &mut Scratch,
    ) -> bool {
        if self.seen == Some(side.stamp()) {
            return true;
        }
        let (old, old_n) = (self.order, self.n);
        // Slots no old level holds; an old level's slot is reused only by that level, so nothing
        // written here is read as an old text later in the pass.
        let mut free = !self.used & (u64::MAX >> (64 - POOL));
        let mut used = 0u64;
        let mut j = 0;
        let mut m = 0;
        for l in side.iter().take(depth) {
            // Both lists run from the touch outwards: keys descend.
            while j < old_n && self.slots[old[j] as usize].key > l.key {
                j += 1;
            }
            let at = match old[..old_n].get(j).map(|&s| s as usize) {
                Some(s) if self.slots[s].key == l.key && self.slots[s].pw == l.pw => {
                    j += 1;
                    let e = &mut self.slots[s];
                    if e.qty != l.qty || e.qw != l.qw {
                        // Same price text: write the new quantity after it.
                        // Whole-entry copies: a constant length is a few moves, a variable one a
                        // call.
                        scratch[..CAP].copy_from_slice(&e.text);
                        let len = write_part(kind, side, l, f, scratch, e.qat as usize, true);
                        if len > CAP {
                            self.clear();
                            return false;
                        }
                        e.qty = l.qty;
                        e.qw = l.qw;
                        e.len = len as u8;
                        e.text.copy_from_slice(&scratch[..CAP]);
                    }
                    s
                }
                _ => {
                    let qat = write_part(kind, side, l, f, scratch, 0, false);
                    let len = write_part(kind, side, l, f, scratch, qat, true);
                    if len > CAP {
                        self.clear();
                        return false;
                    }
                    let s = free.trailing_zeros() as usize;
                    free &= free - 1;
                    let mut text = [0; CAP];
                    text.copy_from_slice(&scratch[..CAP]);
                    self.slots[s] = Entry {
                        key: l.key,
                        qty: l.qty,
                        pw: l.pw,
                        qw: l.qw,
                        len: len as u8,
                        qat: qat as u8,
                        text,
                    };
                    s
                }
            };
            self.order[m] = at as u8;
            used |= 1 << at;
            m += 1;
        }
        self.n = m;
        self.used = used;
        self.seen = Some(side.stamp());
        true
    }
}

/// Both sides' texts and the formatting they were written with.
#[derive(Clone)]
pub struct Cache {
    fmt: Option<(ChecksumKind, Fmt)>,
    sides: [SideTexts; 2],
    /// The last checksum, while it still holds: both sides' texts as they were then.
    last: Option<i64>,
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
        let side = SideTexts { slots: [EMPTY; POOL], order: [0; MAX_LEVELS], n: 0, used: 0, seen: None };
        Cache {
            fmt: None,
            sides: [side.clone(), side],
            last: None,
            buf: [0; TEXT_BUF],
            scratch: [0; 2 * LEVEL_ROOM],
        }
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
            self.sides[0].clear();
            self.sides[1].clear();
            self.last = None;
        }
        let unchanged = self.sides[0].seen == Some(bids.stamp()) && self.sides[1].seen == Some(asks.stamp());
        if let Some(sum) = self.last.filter(|_| unchanged) {
            return Some(sum);
        }
        self.last = None;
        let depth = levels_hashed(kind);
        let [b, a] = &mut self.sides;
        let sc = &mut self.scratch;
        if !(b.refresh(kind, bids, depth, f, sc) && a.refresh(kind, asks, depth, f, sc)) {
            return compute(kind, bids, asks, f);
        }
        let [b, a] = &self.sides;
        let sum = assemble(kind, &mut self.buf, b.n, a.n, |out, ask, i| {
            let e = if ask { a.get(i) } else { b.get(i) };
            // A whole entry's worth of bytes: a fixed-size copy; `assemble` left room for it.
            out.buf[out.n..out.n + CAP].copy_from_slice(&e.text);
            out.n += e.len as usize;
        });
        self.last = Some(sum);
        Some(sum)
    }
}
