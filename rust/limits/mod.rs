//! Client-side rate limits: the sliding window every venue limit is counted in
//! (`tickwire.limits.window` has the reasoning; `tickwire.limits.budget` the budgets built of them).
//! In Rust so an order template's budget check is part of its one call (`OrderTemplate.fire`).

pub mod window;
