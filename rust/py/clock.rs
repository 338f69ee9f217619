//! The clocks, for the binding layer (`crate::clock`, pure Rust).

pub(crate) use crate::clock::monotonic_ns;
