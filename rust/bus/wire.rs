//! The fixed layout of a bus message (specified in `bus`'s module comment): offsets, the header
//! writer, and a checked zero-copy view of a received message.

use crate::book::num::MAX_DECIMALS;
use crate::codec::error::DecodeError;

pub const MAGIC: u8 = b'T';
pub const VERSION: u8 = 1;
/// `venue_prev` / `venue_last` when the venue numbers no updates.
pub const NO_VENUE_ID: i64 = i64::MIN;
/// `flags` bit of a snapshot sent because the venue restarted the book's numbering: its
/// `venue_prev` is the id consumers were left at, at or above its `venue_last`.
pub const FLAG_RESTART: u8 = 1;

pub const OFF_MAGIC: usize = 0;
pub const OFF_VERSION: usize = 1;
pub const OFF_KIND: usize = 2;
pub const OFF_FLAGS: usize = 3;
pub const OFF_PRICE_SCALE: usize = 4;
pub const OFF_QTY_SCALE: usize = 5;
pub const OFF_SYMBOL_LEN: usize = 6;
pub const OFF_GSEQ: usize = 8;
pub const OFF_VENUE_PREV: usize = 16;
pub const OFF_VENUE_LAST: usize = 24;
pub const OFF_STAMP_NS: usize = 32;
pub const OFF_N_BIDS: usize = 40;
pub const OFF_N_ASKS: usize = 44;
/// Where the symbol starts.
pub const HEADER_LEN: usize = 48;
/// One book level: price i64, qty i64.
pub const LEVEL_LEN: usize = 16;
/// Trade body: price i64, qty i64, buyer_maker u8.
pub const TRADE_LEN: usize = 17;
/// BBO body: bid, bid_qty, ask, ask_qty, i64 each.
pub const BBO_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    Delta = 1,
    Snapshot = 2,
    OutOfSync = 3,
    Trade = 4,
    Bbo = 5,
}

impl Kind {
    pub fn from_u8(k: u8) -> Option<Kind> {
        Some(match k {
            1 => Kind::Delta,
            2 => Kind::Snapshot,
            3 => Kind::OutOfSync,
            4 => Kind::Trade,
            5 => Kind::Bbo,
            _ => return None,
        })
    }

    /// A book message (delta, snapshot, out of sync): these share one `gseq` counter per symbol.
    pub fn is_book(self) -> bool {
        matches!(self, Kind::Delta | Kind::Snapshot | Kind::OutOfSync)
    }
}

/// The header fields, as written or as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    /// `FLAG_RESTART` or not; the other bits are reserved (written 0, ignored when read).
    pub flags: u8,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub gseq: u64,
    pub venue_prev: i64,
    pub venue_last: i64,
    pub stamp_ns: i64,
    pub n_bids: u32,
    pub n_asks: u32,
}

impl Header {
    /// A snapshot sent because the venue restarted the book's numbering (`FLAG_RESTART`).
    pub fn restarts(&self) -> bool {
        self.flags & FLAG_RESTART != 0
    }

    /// Starts `out` with this header and `symbol` (whose length the caller checked fits a u16).
    pub(super) fn write(&self, symbol: &[u8], out: &mut Vec<u8>) {
        let mut h = [0u8; HEADER_LEN];
        h[OFF_MAGIC] = MAGIC;
        h[OFF_VERSION] = VERSION;
        h[OFF_KIND] = self.kind as u8;
        h[OFF_FLAGS] = self.flags;
        h[OFF_PRICE_SCALE] = self.price_scale;
        h[OFF_QTY_SCALE] = self.qty_scale;
        h[OFF_SYMBOL_LEN..OFF_GSEQ].copy_from_slice(&(symbol.len() as u16).to_le_bytes());
        h[OFF_GSEQ..OFF_VENUE_PREV].copy_from_slice(&self.gseq.to_le_bytes());
        h[OFF_VENUE_PREV..OFF_VENUE_LAST].copy_from_slice(&self.venue_prev.to_le_bytes());
        h[OFF_VENUE_LAST..OFF_STAMP_NS].copy_from_slice(&self.venue_last.to_le_bytes());
        h[OFF_STAMP_NS..OFF_N_BIDS].copy_from_slice(&self.stamp_ns.to_le_bytes());
        h[OFF_N_BIDS..OFF_N_ASKS].copy_from_slice(&self.n_bids.to_le_bytes());
        h[OFF_N_ASKS..HEADER_LEN].copy_from_slice(&self.n_asks.to_le_bytes());
        out.clear();
        out.extend_from_slice(&h);
        out.extend_from_slice(symbol);
    }
}

/// Appends one (mantissa, mantissa) pair: a book level, or two fields of a body.
#[inline(always)]
pub(super) fn put_pair(out: &mut Vec<u8>, a: i64, b: i64) {
    let mut l = [0u8; LEVEL_LEN];
    l[..8].copy_from_slice(&a.to_le_bytes());
    l[8..].copy_from_slice(&b.to_le_bytes());
    out.extend_from_slice(&l);
}

#[inline(always)]
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

#[inline(always)]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn invalid(what: &'static str, value: i64) -> DecodeError {
    DecodeError::BusInvalid { what, value }
}

/// A received message whose every length and header field was checked: reading it cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub header: Header,
    /// The symbol's bytes, checked to be UTF-8.
    pub symbol: &'a [u8],
    /// Everything after the symbol: exactly the levels or the body its kind has.
    body: &'a [u8],
}

impl<'a> Message<'a> {
    /// Checks `frame` whole (lengths, magic, version, kind, scales, symbol) and reads the header.
    pub fn parse(frame: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        let short = |needed: u64| DecodeError::BusLength { needed, len: frame.len() };
        if frame.len() < HEADER_LEN {
            return Err(short(HEADER_LEN as u64));
        }
        if frame[OFF_MAGIC] != MAGIC {
            return Err(invalid("magic", frame[OFF_MAGIC] as i64));
        }
        if frame[OFF_VERSION] != VERSION {
            return Err(invalid("version", frame[OFF_VERSION] as i64));
        }
        let kind = Kind::from_u8(frame[OFF_KIND]).ok_or_else(|| invalid("kind", frame[OFF_KIND] as i64))?;
        let (ps, qs) = (frame[OFF_PRICE_SCALE], frame[OFF_QTY_SCALE]);
        if ps > MAX_DECIMALS {
            return Err(invalid("price_scale", ps as i64));
        }
        if qs > MAX_DECIMALS {
            return Err(invalid("qty_scale", qs as i64));
        }
        let sym_len = u16::from_le_bytes([frame[OFF_SYMBOL_LEN], frame[OFF_SYMBOL_LEN + 1]]) as usize;
        if sym_len == 0 {
            return Err(invalid("symbol_len", 0));
        }
        let gseq = i64_at(frame, OFF_GSEQ);
        // Consumers link books by gseq as an i64 update id.
        if gseq < 0 {
            return Err(invalid("gseq", gseq));
        }
        let (n_bids, n_asks) = (u32_at(frame, OFF_N_BIDS), u32_at(frame, OFF_N_ASKS));
        let body = match kind {
            Kind::Delta | Kind::Snapshot => (n_bids as u64 + n_asks as u64) * LEVEL_LEN as u64,
            _ if n_bids != 0 || n_asks != 0 => return Err(invalid("level count", (n_bids | n_asks) as i64)),
            Kind::OutOfSync => 0,
            Kind::Trade => TRADE_LEN as u64,
            Kind::Bbo => BBO_LEN as u64,
        };
        let needed = (HEADER_LEN + sym_len) as u64 + body;
        if frame.len() as u64 != needed {
            return Err(short(needed));
        }
        let start = HEADER_LEN + sym_len;
        let symbol = &frame[HEADER_LEN..start];
        // The ASCII test is inlined and vectorised; symbols are almost always ASCII.
        if !symbol.is_ascii() && std::str::from_utf8(symbol).is_err() {
            return Err(DecodeError::BusInvalidUtf8);
        }
        if kind == Kind::Trade && frame[start + 16] > 1 {
            return Err(invalid("buyer_maker", frame[start + 16] as i64));
        }
        let (flags, venue_prev, venue_last) =
            (frame[OFF_FLAGS], i64_at(frame, OFF_VENUE_PREV), i64_at(frame, OFF_VENUE_LAST));
        // A consumer takes a restart snapshot over a book at a higher id: the flag where no restart
        // can be is damage, which must not roll a book back.
        let restart = flags & FLAG_RESTART != 0;
        if restart && (kind != Kind::Snapshot || venue_last == NO_VENUE_ID || venue_prev < venue_last) {
            return Err(invalid("flags", flags as i64));
        }
        let header = Header {
            kind,
            flags,
            price_scale: ps,
            qty_scale: qs,
            gseq: gseq as u64,
            venue_prev,
            venue_last,
            stamp_ns: i64_at(frame, OFF_STAMP_NS),
            n_bids,
            n_asks,
        };
        Ok(Message { header, symbol, body: &frame[start..] })
    }

    /// (price, qty) mantissas of one side of a book message (none for other kinds).
    pub fn levels(&self, ask: bool) -> impl ExactSizeIterator<Item = (i64, i64)> + 'a {
        let (nb, na) = (self.header.n_bids as usize, self.header.n_asks as usize);
        let side = match (self.header.kind, ask) {
            (Kind::Delta | Kind::Snapshot, false) => &self.body[..nb * LEVEL_LEN],
            (Kind::Delta | Kind::Snapshot, true) => &self.body[nb * LEVEL_LEN..(nb + na) * LEVEL_LEN],
            _ => &self.body[..0],
        };
        side.chunks_exact(LEVEL_LEN).map(|l| (i64_at(l, 0), i64_at(l, 8)))
    }

    /// Price, qty, buyer_maker of a trade.
    pub fn trade(&self) -> Option<(i64, i64, bool)> {
        let b = self.body;
        (self.header.kind == Kind::Trade).then(|| (i64_at(b, 0), i64_at(b, 8), b[16] == 1))
    }

    /// Bid, bid_qty, ask, ask_qty of a BBO.
    pub fn bbo(&self) -> Option<[i64; 4]> {
        let b = self.body;
        (self.header.kind == Kind::Bbo).then(|| [0, 8, 16, 24].map(|at| i64_at(b, at)))
    }
}
