//! An instrument's rules as the integers a template checks a fill against, and the error a refused
//! fill (or layout) carries: `rule` names the rule as `InvalidOrder.rule` does.

/// The instrument's rules as integers: prices are mantissas at `price_scale` decimals, quantities at
/// `qty_scale`; 0 means "no such rule" for the bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub price_scale: u32,
    pub qty_scale: u32,
    pub tick: u64,
    pub lot: u64,
    pub min_price: u64,
    pub max_price: u64,
    pub min_qty: u64,
    pub max_qty: u64,
    /// At `price_scale + qty_scale` decimals (price mantissa × qty mantissa).
    pub min_notional: u128,
    pub max_notional: u128,
}

/// Why a fill produced nothing; `rule` names the instrument rule as `InvalidOrder.rule` does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OrderError {
    pub rule: &'static str,
    pub message: String,
}

#[cold]
#[inline(never)]
pub(crate) fn refuse(rule: &'static str, message: String) -> OrderError {
    OrderError { rule, message }
}

impl Rules {
    /// The rules applied to a price and quantity mantissa, as integers (`priced`: the order has a
    /// price: a market order's is not checked).
    #[inline]
    pub fn check(&self, price: u64, qty: u64, priced: bool) -> Result<(), OrderError> {
        if priced {
            if price == 0 {
                return Err(refuse("price", "price must be positive".into()));
            }
            if self.tick != 0 && price % self.tick != 0 {
                return Err(refuse(
                    "tick_size",
                    format!("price mantissa {price} is not a multiple of the tick {}", self.tick),
                ));
            }
            if self.min_price != 0 && price < self.min_price {
                return Err(refuse(
                    "min_price",
                    format!("price mantissa {price} is below min_price {}", self.min_price),
                ));
            }
            if self.max_price != 0 && price > self.max_price {
                return Err(refuse(
                    "max_price",
                    format!("price mantissa {price} is above max_price {}", self.max_price),
                ));
            }
        }
        if qty == 0 {
            return Err(refuse("qty", "qty must be positive".into()));
        }
        if qty < self.min_qty {
            return Err(refuse("min_qty", format!("qty mantissa {qty} is below min_qty {}", self.min_qty)));
        }
        if self.max_qty != 0 && qty > self.max_qty {
            return Err(refuse("max_qty", format!("qty mantissa {qty} is above max_qty {}", self.max_qty)));
        }
        if self.lot != 0 && qty % self.lot != 0 {
            return Err(refuse(
                "lot_size",
                format!("qty mantissa {qty} is not a multiple of the lot {}", self.lot),
            ));
        }
        if priced {
            let notional = u128::from(price) * u128::from(qty);
            if notional < self.min_notional {
                return Err(refuse(
                    "min_notional",
                    format!("notional {notional} is below min_notional {}", self.min_notional),
                ));
            }
            if self.max_notional != 0 && notional > self.max_notional {
                return Err(refuse(
                    "max_notional",
                    format!("notional {notional} is above max_notional {}", self.max_notional),
                ));
            }
        }
        Ok(())
    }
}

/// Longest client id or request id a slot takes.
pub const MAX_ID: usize = 64;
pub(crate) const MAX_SCALE: u32 = 18;

pub(crate) fn check_id(what: &str, id: &str) -> Result<(), OrderError> {
    let ok = id.len() <= MAX_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(refuse("client_id", format!("{what} must be at most {MAX_ID} of A-Z a-z 0-9 - _ . : /")))
    }
}
