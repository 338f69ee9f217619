//! Latency statistics cheap enough to leave on: HDR histograms of nanosecond durations.
//!
//! `Hist` is one histogram (1 ns .. 1 h, 3 significant figures); `Stages` turns one frame's
//! monotonic stamps (socket read → decode → book applied → callback) into one sample per stage plus
//! the end-to-end total. Recording never allocates: all memory is taken at construction.

mod hist;
mod stages;

pub use hist::{Hist, Summary, HIGHEST_NS, SIGFIG};
pub use stages::{StageError, Stages, MAX_STAGES, TOTAL};
