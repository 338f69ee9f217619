//! Read-only analytics over a book. Exact integer arithmetic where the answer is a book value
//! (prices, quantities, cumulative depth); f64 only for derived ratios (mid, microprice, VWAP).

use super::num::to_f64;
use super::side::Side;
use super::Book;

/// Result of walking one side for a size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impact {
    /// Volume-weighted average price of the filled part.
    pub vwap: f64,
    /// Price (mantissa) of the last level touched.
    pub worst_price: i64,
    /// Quantity (mantissa) filled; less than asked when the side is too thin.
    pub filled: i64,
}

impl Book {
    /// Best bid as (price, quantity) mantissas.
    #[inline]
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.best().map(|l| (l.key, l.qty))
    }

    /// Best ask as (price, quantity) mantissas.
    #[inline]
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.best().map(|l| (-l.key, l.qty))
    }

    /// Best bid (`ask` false) or ask price as a mantissa at `scale` decimals (the book's own scale
    /// for `None`): what an order template takes. `Err(Inexact)` when the price has more decimals than
    /// `scale` holds or overflows it, so a price is never rounded on its way to an order.
    pub fn best_price_at(&self, ask: bool, scale: Option<u8>) -> Result<Option<i64>, Inexact> {
        let best = if ask { self.best_ask() } else { self.best_bid() };
        match best {
            None => Ok(None),
            Some((p, _)) => rescale(p, self.price_scale, scale.unwrap_or(self.price_scale)).map(Some),
        }
    }

    /// Best bid as floats, for display.
    pub fn best_bid_f64(&self) -> Option<(f64, f64)> {
        self.best_bid().map(|(p, q)| (to_f64(p, self.price_scale), to_f64(q, self.qty_scale)))
    }

    pub fn best_ask_f64(&self) -> Option<(f64, f64)> {
        self.best_ask().map(|(p, q)| (to_f64(p, self.price_scale), to_f64(q, self.qty_scale)))
    }

    /// Ask minus bid, as a price mantissa; `None` past an i64 (prices near both ends of it).
    pub fn spread(&self) -> Option<i64> {
        self.best_ask()?.0.checked_sub(self.best_bid()?.0)
    }

    pub fn mid(&self) -> Option<f64> {
        let (b, a) = (self.best_bid()?.0 as i128, self.best_ask()?.0 as i128);
        Some((b + a) as f64 / 2.0 / 10f64.powi(self.price_scale as i32))
    }

    /// Size-weighted mid: leans towards the side with less quantity at the touch.
    pub fn microprice(&self) -> Option<f64> {
        let (bp, bq) = self.best_bid()?;
        let (ap, aq) = self.best_ask()?;
        let (bq, aq) = (bq as f64, aq as f64);
        let p = (to_f64(bp, self.price_scale) * aq + to_f64(ap, self.price_scale) * bq) / (aq + bq);
        Some(p)
    }

    fn side(&self, ask: bool) -> &Side {
        if ask {
            &self.asks
        } else {
            &self.bids
        }
    }

    /// Copies up to `out.len()` levels from the touch as (price, qty) mantissas; returns how many.
    pub fn top(&self, ask: bool, out: &mut [(i64, i64)]) -> usize {
        let s = self.side(ask);
        let mut n = 0;
        for (slot, l) in out.iter_mut().zip(s.iter()) {
            *slot = (s.price_of(l), l.qty);
            n += 1;
        }
        n
    }

    /// Total quantity of the best `levels` levels.
    pub fn depth_qty(&self, ask: bool, levels: usize) -> i128 {
        self.side(ask).iter().take(levels).map(|l| l.qty as i128).sum()
    }

    /// Total quantity at prices at or better than `limit` (a price mantissa).
    pub fn depth_within(&self, ask: bool, limit: i64) -> i128 {
        let s = self.side(ask);
        let key = s.key_of(limit);
        s.iter().take_while(|l| l.key >= key).map(|l| l.qty as i128).sum()
    }

    /// Walks `ask` side (buying) or bid side (selling) for `qty` (mantissa).
    pub fn impact(&self, ask: bool, qty: i64) -> Option<Impact> {
        let s = self.side(ask);
        let mut left = qty as i128;
        let mut notional: i128 = 0;
        let mut worst = None;
        for l in s.iter() {
            if left <= 0 {
                break;
            }
            let take = left.min(l.qty as i128);
            let px = s.price_of(l);
            notional += take * px as i128;
            left -= take;
            worst = Some(px);
        }
        let filled = qty as i128 - left.max(0);
        let worst_price = worst?;
        let vwap = notional as f64 / filled as f64 / 10f64.powi(self.price_scale as i32);
        Some(Impact { vwap, worst_price, filled: filled as i64 })
    }

    /// (bid qty − ask qty) / (bid qty + ask qty) over the best `levels` levels, in [-1, 1].
    pub fn imbalance(&self, levels: usize) -> Option<f64> {
        let b = self.depth_qty(false, levels) as f64;
        let a = self.depth_qty(true, levels) as f64;
        if a + b == 0.0 {
            None
        } else {
            Some((b - a) / (b + a))
        }
    }
}

/// A price that has more decimals than the scale asked for, or does not fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inexact;

/// `m` at `from` decimals as a mantissa at `to` decimals, exactly; `Err(Inexact)` when digits would be
/// lost or it overflows.
pub fn rescale(m: i64, from: u8, to: u8) -> Result<i64, Inexact> {
    if to >= from {
        let f = 10i64.checked_pow(u32::from(to - from)).ok_or(Inexact)?;
        m.checked_mul(f).ok_or(Inexact)
    } else {
        let f = 10i64.checked_pow(u32::from(from - to)).ok_or(Inexact)?;
        if m % f == 0 {
            Ok(m / f)
        } else {
            Err(Inexact)
        }
    }
}

#[cfg(test)]
mod rescale_tests {
    use super::{rescale, Inexact};
    use proptest::prelude::*;

    /// The decimal text of `m` at `scale`, trailing zeros dropped: an independent reading of a value.
    fn text(m: i64, scale: u8) -> String {
        let neg = m < 0;
        let digits = m.unsigned_abs().to_string();
        let s = usize::from(scale);
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        let frac = frac.trim_end_matches('0');
        let body = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
        if neg && body != "0" {
            format!("-{body}")
        } else {
            body
        }
    }

    proptest! {
        #[test]
        fn exact_or_refused(m in any::<i64>(), from in 0u8..19, to in 0u8..19) {
            match rescale(m, from, to) {
                Ok(r) => prop_assert_eq!(text(r, to), text(m, from)),
                // Refused only when the value has more decimals than `to` or does not fit.
                Err(Inexact) => prop_assert!(
                    text(m, from).split('.').nth(1).map_or(0, str::len) > usize::from(to)
                        || (i128::from(m) * 10i128.pow(u32::from(to.saturating_sub(from)))).abs()
                            > i128::from(i64::MAX)
                ),
            }
        }
    }

    #[test]
    fn examples() {
        assert_eq!(rescale(4_325_012_000_000, 8, 2), Ok(4_325_012));
        assert_eq!(rescale(4_325_012_300_000, 8, 2), Err(Inexact));
        assert_eq!(rescale(1, 0, 8), Ok(100_000_000));
        assert_eq!(rescale(i64::MAX, 0, 1), Err(Inexact));
    }
}
