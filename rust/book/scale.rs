//! The book's scale: checking that a message's levels convert exactly (widening the scale where
//! that is allowed), moving the levels held to a wider scale, and converting levels on the way in.

use super::num::{MAX_DECIMALS, POW10};
use super::{Book, BookError, RawLevel};

impl Book {
    /// Checks that every level of `levels` converts exactly at the book's scale, widening the
    /// scale if allowed and needed; nothing else changes. On error the book is unchanged.
    pub(super) fn check(&mut self, levels: &[RawLevel], replace: bool) -> Result<(), BookError> {
        let (ps, qs, rounded) = self.plan(levels, replace)?;
        if !replace && (ps > self.price_scale || qs > self.qty_scale) {
            self.rescale(ps, qs);
        } else {
            self.price_scale = ps;
            self.qty_scale = qs;
        }
        self.stats.rounded += rounded;
        Ok(())
    }

    /// What `check` decides, without acting on it: the (price, quantity) scales the book needs for
    /// `levels` and how many quantities get rounded, or why the book cannot hold them. Kept apart
    /// so a frame of several messages can be checked whole before any of them applies.
    #[inline]
    pub(super) fn plan(&self, levels: &[RawLevel], replace: bool) -> Result<(u8, u8, u64), BookError> {
        let round = self.round();
        // Optimistic single pass at the current scale; only a value needing more decimals (rare:
        // once per new precision) costs a second pass at the widened scale.
        let (mut ps, mut qs) = (self.price_scale, self.qty_scale);
        let rounded = loop {
            let mut rounded = 0;
            let (mut need_p, mut need_q) = (0u8, 0u8);
            for l in levels {
                if l.qty.mant < 0 {
                    return Err(BookError::NegativeQuantity);
                }
                if l.px.mant < 0 {
                    return Err(BookError::NegativePrice);
                }
                let q = match l.qty.round_to(round) {
                    Some(r) => {
                        rounded += 1;
                        r
                    }
                    None => l.qty,
                };
                need_p = need_p.max(l.px.dec);
                need_q = need_q.max(q.dec);
                if need_p <= ps && need_q <= qs {
                    l.px.at_scale(ps)?;
                    q.at_scale(qs)?;
                }
            }
            if need_p <= ps && need_q <= qs {
                break rounded;
            }
            ps = self.target_scale(need_p, ps, self.cfg.price_decimals, "price")?;
            qs = self.target_scale(need_q, qs, self.cfg.qty_decimals, "quantity")?;
        };
        if !replace && (ps > self.price_scale || qs > self.qty_scale) {
            self.rescale_fits(ps, qs)?;
        }
        Ok((ps, qs, rounded))
    }

    #[inline]
    pub(super) fn round(&self) -> u8 {
        self.cfg.round_qty_decimals.unwrap_or(MAX_DECIMALS)
    }

    /// One level of a message `check` passed, at the book's scale: (side key, qty, pw, qw).
    #[inline(always)]
    pub(super) fn convert(l: &RawLevel, round: u8, ps: u8, qs: u8) -> (i64, i64, u8, u8) {
        let q = l.qty.round_to(round).unwrap_or(l.qty);
        // `check` proved these exact and in range; wrapping only spares the overflow branch.
        let px = l.px.mant.wrapping_mul(POW10[(ps - l.px.dec) as usize]);
        let qty = q.mant.wrapping_mul(POW10[(qs - q.dec) as usize]);
        (if l.ask { -px } else { px }, qty, l.px.wrote, q.wrote)
    }

    fn target_scale(
        &self,
        need: u8,
        cur: u8,
        fixed: Option<u8>,
        what: &'static str,
    ) -> Result<u8, BookError> {
        if need <= cur {
            return Ok(cur);
        }
        match fixed {
            Some(allowed) => Err(BookError::ScaleFixed { what, needed: need, allowed }),
            // Only a hand-built `Dec` can get here; refusing it keeps the widening loop finite.
            None if need > MAX_DECIMALS => {
                Err(BookError::ScaleFixed { what, needed: need, allowed: MAX_DECIMALS })
            }
            None => Ok(need),
        }
    }

    /// Whether every level still fits an i64 at the wider scales `rescale` would move it to.
    fn rescale_fits(&self, ps: u8, qs: u8) -> Result<(), BookError> {
        let fp = POW10[(ps - self.price_scale) as usize];
        let fq = POW10[(qs - self.qty_scale) as usize];
        for side in [&self.bids, &self.asks] {
            for l in side.levels() {
                if l.key.checked_mul(fp).is_none() {
                    return Err(BookError::RescaleOverflow(ps));
                }
                if l.qty.checked_mul(fq).is_none() {
                    return Err(BookError::RescaleOverflow(qs));
                }
            }
        }
        Ok(())
    }

    /// Moves every level to the wider scales; `rescale_fits` must have passed.
    fn rescale(&mut self, ps: u8, qs: u8) {
        let fp = POW10[(ps - self.price_scale) as usize];
        let fq = POW10[(qs - self.qty_scale) as usize];
        self.bids.widen(fp, fq);
        self.asks.widen(fp, fq);
        self.price_scale = ps;
        self.qty_scale = qs;
        self.stats.rescales += 1;
        self.journal.replace();
    }
}
