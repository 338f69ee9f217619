//! Compact shortcuts of the JSON cursor (`json::Cur`): the level layouts every venue here writes
//! — `["px","qty",...]` arrays and `{"price":n,"qty":n}` objects with no spaces — matched with one
//! compare per delimiter and key. Each returns `None` for any other text, and the cursor then reads
//! the same bytes with its general, error-reporting path, so both accept the same input.

use super::number::{not_digit, scan_plain};

/// `[` `"`price`"` `,` `"`qty`"` at `i` (after a `,` unless `first`), written compactly and with
/// plain numbers: both parsed, and the index after the quantity's closing quote. `None` for any
/// other text; the caller then reads the same bytes with the general, error-reporting path.
#[inline(always)]
#[allow(clippy::type_complexity)]
pub(super) fn quoted_pair(b: &[u8], i: usize, first: bool) -> Option<(i64, u16, i64, u16, usize)> {
    let j = item_at(b, i, first)?;
    if b.get(j..j + 2)? != b"[\"" {
        return None;
    }
    let (pm, pmeta, j) = scan_plain(b, j + 2)?;
    if b.get(j..j + 3)? != b"\",\"" {
        return None;
    }
    let (qm, qmeta, j) = scan_plain(b, j + 3)?;
    if *b.get(j)? != b'"' {
        return None;
    }
    Some((pm, pmeta, qm, qmeta, j + 1))
}

/// `{"<pk>":<num>,"<qk>":<num>}` at `i` (after a `,` unless `first`), written compactly, each number
/// bare or quoted and plain: both parsed, and the index after the `}`. `None` for any other text
/// (other keys or their order, spaces, escapes), which the general path then reads.
#[inline(always)]
#[allow(clippy::type_complexity)]
pub(super) fn keyed_pair(
    b: &[u8],
    i: usize,
    first: bool,
    pk: &[u8],
    qk: &[u8],
) -> Option<(i64, u16, i64, u16, usize)> {
    let j = item_at(b, i, first)?;
    if b.get(j..j + 2)? != b"{\"" {
        return None;
    }
    let j = key_colon(b, j + 2, pk)?;
    let (pm, pmeta, j) = plain_at(b, j)?;
    if b.get(j..j + 2)? != b",\"" {
        return None;
    }
    let j = key_colon(b, j + 2, qk)?;
    let (qm, qmeta, j) = plain_at(b, j)?;
    if *b.get(j)? != b'}' {
        return None;
    }
    Some((pm, pmeta, qm, qmeta, j + 1))
}

/// Where an array's item starts: at `i` for the first, after the `,` there for the others.
#[inline(always)]
fn item_at(b: &[u8], i: usize, first: bool) -> Option<usize> {
    if first {
        return Some(i);
    }
    (*b.get(i)? == b',').then_some(i + 1)
}

/// `key":` at `j` (the opening quote already read): the index after the colon.
#[inline(always)]
fn key_colon(b: &[u8], j: usize, key: &[u8]) -> Option<usize> {
    let end = j + key.len();
    if b.get(j..end)? != key || b.get(end..end + 2)? != b"\":" {
        return None;
    }
    Some(end + 2)
}

/// A plain number at `j`, bare or quoted: its parts and the index after it (and its quote).
#[inline(always)]
fn plain_at(b: &[u8], j: usize) -> Option<(i64, u16, usize)> {
    if *b.get(j)? != b'"' {
        return scan_plain(b, j);
    }
    let (m, meta, k) = scan_plain(b, j + 1)?;
    if *b.get(k)? != b'"' {
        return None;
    }
    Some((m, meta, k + 1))
}

/// The end of a level whose remaining elements are plain strings (OKX's `,"0","4"]`, Kraken's
/// timestamps): the index after its `]`. `None` for anything else (escapes, control characters,
/// spaces, other values), which the general `skip_rest` then reads (and refuses what JSON does).
#[inline(always)]
pub(super) fn quoted_rest(b: &[u8], mut j: usize) -> Option<usize> {
    if *b.get(j)? == b']' {
        return Some(j + 1);
    }
    if let Some(k) = two_counts(b, j) {
        return Some(k);
    }
    loop {
        match *b.get(j)? {
            b']' => return Some(j + 1),
            b',' if *b.get(j + 1)? == b'"' => {
                j += 2;
                loop {
                    match *b.get(j)? {
                        b'"' => break,
                        b'\\' | 0..=0x1f => return None,
                        _ => j += 1,
                    }
                }
                j += 1;
            }
            _ => return None,
        }
    }
}

/// `,"0","<digits>"]` at `j` — OKX's two counts after price and size, the first always 0 — read
/// off one 16-byte window: the index after the `]`. The byte loop mispredicted once per level on
/// the second count's varying length; here it comes from a bit scan of a "not a digit" mask and
/// the checks fold into one branch. `None` for any other text (or fewer than 16 bytes left).
#[inline(always)]
fn two_counts(b: &[u8], j: usize) -> Option<usize> {
    const HEAD: u64 = u64::from_le_bytes(*b",\"0\",\"\0\0");
    let win = b.get(j..j + 16)?;
    let lo = u64::from_le_bytes(win[..8].try_into().ok()?);
    // The second count from byte 6 on, eight bytes of it in one word.
    let w = u64::from_le_bytes(win[6..14].try_into().ok()?);
    let k = (not_digit(w).trailing_zeros() / 8) as usize; // digits in the count, 8 if no end in the word
    let q = 6 + k;
    let ok = (lo & 0xFFFF_FFFF_FFFF == HEAD)
        & (1..8).contains(&k)
        & (win[q.min(14)] == b'"')
        & (win[(q + 1).min(15)] == b']');
    ok.then_some(j + q + 2)
}
