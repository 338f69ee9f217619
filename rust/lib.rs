//! tickwire core.
//!
//! The pure-Rust modules below know nothing of Python, so `cargo test` and criterion run without an
//! interpreter. `py` (feature `python`) is the only layer that touches pyo3.

pub mod book;
pub mod build;
pub mod bus;
pub mod clock;
pub mod codec;
pub mod limits;
pub mod order;
pub mod sign;
pub mod stats;
pub mod venue;

#[cfg(feature = "python")]
mod py;
