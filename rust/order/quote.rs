//! A quote rule: the price of the next order read from a book's touch, decided inside the frame
//! route so that a book update becomes an order without a Python call in between.
//!
//! The rule is deliberately small — a reference side, a signed offset and a quantity — because
//! everything a strategy needs beyond it (sizing, inventory, risk) belongs in Python, where the
//! session's guarantees live. What it buys is the microseconds of the `on_book` call.

/// Which side of the book the price is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    Bid,
    Ask,
}

/// When an update gives an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Every update of the book (a price equal to the last order's included).
    Every,
    /// Only an update whose quote price differs from the last order's.
    Change,
}

#[derive(Clone, Debug)]
pub struct QuoteRule {
    pub reference: Reference,
    /// Added to the reference price (a price mantissa at the order's scale; may be negative).
    pub offset: i64,
    pub qty: u64,
    pub when: When,
    last: Option<u64>,
}

impl QuoteRule {
    pub fn new(reference: Reference, offset: i64, qty: u64, when: When) -> Self {
        QuoteRule { reference, offset, qty, when, last: None }
    }

    /// The price to send for a book whose reference side's best price is `best` (a mantissa at the
    /// order's scale), or None: no order (an empty side, a price at or below zero or past `u64`, or
    /// the same price as the last order under `When::Change`).
    pub fn price(&self, best: Option<i64>) -> Option<u64> {
        let p = best?.checked_add(self.offset)?;
        let p = u64::try_from(p).ok().filter(|&p| p > 0)?;
        if self.when == When::Change && self.last == Some(p) {
            return None;
        }
        Some(p)
    }

    /// An order at `price` was written.
    pub fn sent(&mut self, price: u64) {
        self.last = Some(price);
    }

    /// The price of the last order written, if any.
    pub fn last(&self) -> Option<u64> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_is_the_reference_plus_the_offset() {
        let r = QuoteRule::new(Reference::Bid, 5, 100, When::Every);
        assert_eq!(r.price(Some(4_325_000)), Some(4_325_005));
        let r = QuoteRule::new(Reference::Ask, -3, 100, When::Every);
        assert_eq!(r.price(Some(10)), Some(7));
    }

    #[test]
    fn an_empty_side_or_a_price_out_of_range_gives_no_order() {
        let r = QuoteRule::new(Reference::Bid, -10, 1, When::Every);
        assert_eq!(r.price(None), None);
        assert_eq!(r.price(Some(10)), None, "zero is no price");
        assert_eq!(r.price(Some(3)), None, "negative");
        let r = QuoteRule::new(Reference::Bid, 1, 1, When::Every);
        assert_eq!(r.price(Some(i64::MAX)), None, "overflow");
    }

    #[test]
    fn change_skips_the_last_orders_price_and_every_does_not() {
        let mut c = QuoteRule::new(Reference::Bid, 0, 1, When::Change);
        let mut e = QuoteRule::new(Reference::Bid, 0, 1, When::Every);
        for r in [&mut c, &mut e] {
            assert_eq!(r.price(Some(100)), Some(100));
            r.sent(100);
        }
        assert_eq!(c.price(Some(100)), None);
        assert_eq!(e.price(Some(100)), Some(100));
        assert_eq!(c.price(Some(101)), Some(101));
        assert_eq!(c.last(), Some(100), "the price only counts once written");
    }
}
