//! Trades lost on the bus. A gateway numbers each symbol's trades one by one (`gseq`, per subject:
//! one gateway's trades of one symbol), and core NATS delivers at most once — a link or route down,
//! a slow consumer cut off, the consumer's own backlog full — so a hole in the `gseq`s a consumer
//! heard is trades lost on the way. They cannot be asked for again (a book can resync, a trade
//! stream cannot): the consumer says so instead of leaving them silently missing. A `gseq` at or
//! below the last heard is a restarted gateway's (it counts from 1 again): a new start, no hole.

use std::collections::HashMap;

use super::wire::{Kind, HEADER_LEN, OFF_GSEQ, OFF_KIND, OFF_SYMBOL_LEN};

/// The last trade `gseq` heard per subject.
#[derive(Debug, Default)]
pub struct TradeGaps {
    last: HashMap<String, u64>,
}

impl TradeGaps {
    /// `frame`, heard on `subject`: for a trade message after a hole in its subject's `gseq`s, its
    /// symbol and how many trades are missing before it. Anything else (a book message, a BBO, a
    /// frame too short to be a trade) is no hole: the dispatcher refuses what is malformed.
    pub fn observe<'a>(&mut self, subject: &str, frame: &'a [u8]) -> Option<(&'a [u8], u64)> {
        if frame.len() < HEADER_LEN || Kind::from_u8(frame[OFF_KIND]) != Some(Kind::Trade) {
            return None;
        }
        let gseq = u64::from_le_bytes(frame[OFF_GSEQ..OFF_GSEQ + 8].try_into().ok()?);
        let prev = match self.last.get_mut(subject) {
            Some(l) => std::mem::replace(l, gseq),
            None => {
                self.last.insert(subject.to_owned(), gseq);
                return None;
            }
        };
        if gseq <= prev.saturating_add(1) {
            return None;
        }
        let n = u16::from_le_bytes([frame[OFF_SYMBOL_LEN], frame[OFF_SYMBOL_LEN + 1]]) as usize;
        let symbol = frame.get(HEADER_LEN..HEADER_LEN + n)?;
        Some((symbol, gseq - prev - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::num::parse_dec;
    use crate::bus::encode_trade;

    fn trade(gseq: u64) -> Vec<u8> {
        let d = |s: &str| parse_dec(s.as_bytes()).unwrap();
        let mut out = Vec::new();
        encode_trade(b"BTCUSDT", (d("30316.10"), d("0.001")), true, Some(7), gseq, 9, &mut out).unwrap();
        out
    }

    #[test]
    fn a_hole_in_a_subjects_trade_gseqs_is_its_missing_count_and_a_restart_is_none() {
        let mut gaps = TradeGaps::default();
        let (a, b) = ("tw.md.x.BTCUSDT.trade.gw1", "tw.md.x.BTCUSDT.trade.gw2");
        assert_eq!(gaps.observe(a, &trade(5)), None); // the first heard: no hole known
        assert_eq!(gaps.observe(a, &trade(6)), None);
        assert_eq!(gaps.observe(b, &trade(40)), None); // another gateway's own count
        assert_eq!(gaps.observe(a, &trade(9)), Some((&b"BTCUSDT"[..], 2)));
        assert_eq!(gaps.observe(a, &trade(1)), None); // restarted: counts from 1 again
        assert_eq!(gaps.observe(a, &trade(2)), None);
        assert_eq!(gaps.observe(b, &trade(41)), None);
        assert_eq!(gaps.observe(b, &trade(41)), None); // a copy
    }

    #[test]
    fn book_messages_and_short_frames_are_no_hole() {
        let mut gaps = TradeGaps::default();
        let mut book = trade(1);
        book[OFF_KIND] = Kind::Delta as u8;
        assert_eq!(gaps.observe("s", &trade(1)), None);
        book[OFF_GSEQ] = 9;
        assert_eq!(gaps.observe("s", &book), None);
        assert_eq!(gaps.observe("s", &trade(2)), None); // the book message did not count as a trade
        assert_eq!(gaps.observe("s", &[]), None);
    }
}
