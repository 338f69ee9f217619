//! Codecs: JSON scanning, decompression and binary (SBE) decoding of received frames; HTTP/1.1
//! response heads.

pub mod error;
pub mod http;
pub mod inflate;
pub mod json;
mod json_compact;
mod json_grammar;
mod number;
pub(crate) use number::digit_run;
pub mod sbe;
