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
//! last checksum stands. A side that did change is followed through the changes it logged
//! (`Side::changes_since`): texts move with their levels and only the levels changed or shifted in
//! get text. The merge walk remains for texts the log no longer reaches.

use super::checksum::{
    assemble, compute, levels_hashed, write_part, ChecksumKind, Fmt, LEVEL_ROOM, TEXT_BUF,
};
use super::side::{Change, Level, Side, Stamp, WATCHED};

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

impl Entry {
    /// The text of `l`; `None` if it is longer than an entry holds.
    #[inline]
    fn write(kind: ChecksumKind, side: &Side, l: &Level, f: &Fmt, scratch: &mut Scratch) -> Option<Entry> {
        let qat = write_part(kind, side, l, f, scratch, 0, false);
        let len = write_part(kind, side, l, f, scratch, qat, true);
        if len > CAP {
            return None;
        }
        let mut text = [0; CAP];
        text.copy_from_slice(&scratch[..CAP]);
        Some(Entry { key: l.key, qty: l.qty, pw: l.pw, qw: l.qw, len: len as u8, qat: qat as u8, text })
    }

    /// Makes this entry, written for `l`'s price and price decimals, the text of `l`: the price
    /// text stays, the quantity's is written after it if it changed. False (the entry unchanged)
    /// if the text is longer than an entry holds.
    #[inline]
    fn update(&mut self, kind: ChecksumKind, side: &Side, l: &Level, f: &Fmt, scratch: &mut Scratch) -> bool {
        if self.qty == l.qty && self.qw == l.qw {
            return true;
        }
        // Whole-entry copies: a constant length is a few moves, a variable one a call.
        scratch[..CAP].copy_from_slice(&self.text);
        let len = write_part(kind, side, l, f, scratch, self.qat as usize, true);
        if len > CAP {
            return false;
        }
        self.qty = l.qty;
        self.qw = l.qw;
        self.len = len as u8;
        self.text.copy_from_slice(&scratch[..CAP]);
        true
    }
}

/// Entries one side's texts live in: the hashed levels of the last checksum, and as many again
/// for levels the next one brings in while the entries they replace may still be read.
const POOL: usize = 2 * MAX_LEVELS;
const _: () = assert!(POOL <= 64, "slot sets are u64 bitmasks");

/// In `SideTexts::order` while replaying: a level that came in and has no text yet.
const HOLE: u8 = u8::MAX;
const _: () = assert!(POOL <= HOLE as usize);

/// One side's texts: `slots[order[i]]` for `i < n` is the text of the `i`-th level from the touch
/// at the last checksum, when the side's stamp was `seen`. The levels are named by slot rather
/// than kept in order so that a level moving (one inserted or removed nearer the touch) moves a
/// byte, not its 64-byte entry.
#[derive(Clone)]
struct SideTexts {
    slots: [Entry; POOL],
    order: [u8; MAX_LEVELS],
    n: usize,
    seen: Option<Stamp>,
}

/// The slots not named in `order`.
#[inline]
fn free_slots(order: &[u8]) -> u64 {
    let mut taken = 0u64;
    for &s in order {
        if s != HOLE {
            taken |= 1 << s;
        }
    }
    !taken & (u64::MAX >> (64 - POOL))
}

/// Ranks below `n` as bits.
#[inline]
fn below(n: usize) -> u32 {
    (1u32 << n) - 1
}

impl SideTexts {
    /// Forgets every text.
    fn clear(&mut self) {
        self.n = 0;
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
        let ok = match self.seen.and_then(|s| side.changes_since(s)) {
            Some(changes) => self.replay(changes, kind, side, depth, f, scratch),
            None => self.merge(kind, side, depth, f, scratch),
        };
        if ok {
            self.seen = Some(side.stamp());
        } else {
            self.clear();
        }
        ok
    }

    /// `refresh` following the side's changes since `seen` (the log's ranks are the texts' ranks):
    /// levels move in `order`, and only the ones changed or come in get text.
    #[inline]
    fn replay(
        &mut self,
        changes: impl Iterator<Item = Change>,
        kind: ChecksumKind,
        side: &Side,
        depth: usize,
        f: &Fmt,
        scratch: &mut Scratch,
    ) -> bool {
        // `order[..n]` stays the texts of the side's nearest `n` levels as each change applies;
        // `dirty` marks those among them that changed or came in (a HOLE).
        let mut n = self.n;
        let mut dirty = 0u32;
        for c in changes {
            match c {
                Change::Set(r) if r < n => dirty |= 1 << r,
                // (One at `n` moves nothing the texts hold: the level is written as one they did
                // not reach.)
                Change::Insert(r) if r < n => {
                    // At the depth, the farthest text falls off.
                    let end = n.min(depth - 1);
                    self.order.copy_within(r..end, r + 1);
                    self.order[r] = HOLE;
                    dirty = (dirty & below(r)) | ((dirty & !below(r)) << 1) | (1 << r);
                    n = end + 1;
                }
                Change::Remove(r) if r < n => {
                    self.order.copy_within(r + 1..n, r);
                    dirty = (dirty & below(r)) | ((dirty >> 1) & !below(r));
                    n -= 1;
                }
                Change::Cut(r) => n = n.min(r),
                // Beyond the texts: nothing they hold moved.
                Change::Set(_) | Change::Insert(_) | Change::Remove(_) => {}
            }
        }
        let levels = side.levels();
        let want = levels.len().min(depth);
        if n > want {
            // The log and the side disagree; never seen, but a walk of every level is right anyway.
            debug_assert!(false, "replay left {n} texts for {want} levels");
            self.n = 0;
            return self.merge(kind, side, depth, f, scratch);
        }
        // Levels changed, and levels the texts did not reach (shifted in from beyond them).
        let mut todo = (dirty & below(n)) | (below(want) & !below(n));
        let mut free = None;
        while todo != 0 {
            let k = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            let l = &levels[levels.len() - 1 - k];
            let s = self.order[k];
            if k < n && s != HOLE {
                let e = &mut self.slots[s as usize];
                if e.key == l.key && e.pw == l.pw {
                    if !e.update(kind, side, l, f, scratch) {
                        return false;
                    }
                    continue;
                }
            }
            let Some(e) = Entry::write(kind, side, l, f, scratch) else { return false };
            // Slots in use are the ones `order[..n]` names (more are free than levels can need);
            // a slot given up here is not reused in this pass.
            let free = free.get_or_insert_with(|| free_slots(&self.order[..n]));
            let at = free.trailing_zeros() as usize;
            *free &= *free - 1;
            self.slots[at] = e;
            self.order[k] = at as u8;
        }
        self.n = want;
        true
    }

    /// `refresh` walking the side's top levels and the texts together (both run from the touch
    /// outwards, so one merge pass finds a level's old text).
    fn merge(
        &mut self,
        kind: ChecksumKind,
        side: &Side,
        depth: usize,
        f: &Fmt,
        scratch: &mut Scratch,
    ) -> bool {
        let (old, old_n) = (self.order, self.n);
        // An old level's slot is reused only by that level, so nothing written here is read as an
        // old text later in the pass.
        let mut free = free_slots(&old[..old_n]);
        let mut j = 0;
        let mut m = 0;
        for l in side.iter().take(depth) {
            // Keys descend.
            while j < old_n && self.slots[old[j] as usize].key > l.key {
                j += 1;
            }
            let at = match old[..old_n].get(j).map(|&s| s as usize) {
                Some(s) if self.slots[s].key == l.key && self.slots[s].pw == l.pw => {
                    j += 1;
                    if !self.slots[s].update(kind, side, l, f, scratch) {
                        return false;
                    }
                    s
                }
                _ => {
                    let Some(e) = Entry::write(kind, side, l, f, scratch) else { return false };
                    let s = free.trailing_zeros() as usize;
                    free &= free - 1;
                    self.slots[s] = e;
                    s
                }
            };
            self.order[m] = at as u8;
            m += 1;
        }
        self.n = m;
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
        let side = SideTexts { slots: [EMPTY; POOL], order: [0; MAX_LEVELS], n: 0, seen: None };
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
