//! Frame codecs: JSON scanning, decompression and binary (SBE) decoding of received frames.

pub mod error;
pub mod inflate;
pub mod json;
mod json_grammar;
mod number;
pub mod sbe;
