//! Frame codecs: JSON scanning, decompression and binary (SBE) decoding of received frames.

pub mod error;
pub mod inflate;
pub mod json;
mod number;
pub mod sbe;
