//! Frame decoders: JSON scanning (and, from the codec work, inflate and SBE).

pub mod json;
