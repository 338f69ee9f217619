//! The Python strings a frame's summary and a book's state are spelled with: interned once, so a
//! summary only bumps reference counts.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::book::sync::{OosReason, SyncState};
use crate::book::Outcome;
use crate::venue::FrameKind;

/// Cached Python strings for outcomes: built once, then only a refcount per use.
pub(crate) fn outcome_py<'py>(py: Python<'py>, o: &Outcome) -> &'py Bound<'py, PyString> {
    match o {
        Outcome::Applied => intern!(py, "applied"),
        Outcome::Buffered => intern!(py, "buffered"),
        Outcome::Stale => intern!(py, "stale"),
        Outcome::Ignored => intern!(py, "ignored"),
        Outcome::Gap => intern!(py, "gap"),
        Outcome::ChecksumMismatch { .. } => intern!(py, "checksum_mismatch"),
        Outcome::Crossed => intern!(py, "crossed"),
        Outcome::Duplicate => intern!(py, "duplicate"),
        Outcome::Held => intern!(py, "held"),
    }
}

pub(crate) fn kind_py(py: Python<'_>, k: FrameKind) -> &Bound<'_, PyString> {
    match k {
        FrameKind::Other => intern!(py, "other"),
        FrameKind::Book => intern!(py, "book"),
        FrameKind::Bbo => intern!(py, "bbo"),
        FrameKind::Trade => intern!(py, "trade"),
        FrameKind::Ping(_) => intern!(py, "ping"),
        FrameKind::Heartbeat => intern!(py, "heartbeat"),
        FrameKind::Control => intern!(py, "control"),
    }
}

pub(crate) fn state_name(s: SyncState) -> &'static str {
    match s {
        SyncState::Empty => "empty",
        SyncState::Buffering => "buffering",
        SyncState::Synced => "synced",
        SyncState::OutOfSync(OosReason::Gap) => "out_of_sync:gap",
        SyncState::OutOfSync(OosReason::Checksum) => "out_of_sync:checksum",
        SyncState::OutOfSync(OosReason::Crossed) => "out_of_sync:crossed",
        SyncState::OutOfSync(OosReason::Upstream) => "out_of_sync:upstream",
        SyncState::Resyncing => "resyncing",
    }
}

pub(crate) const OUTCOMES: usize = 9;

pub(crate) fn outcome_index(o: &Outcome) -> usize {
    match o {
        Outcome::Applied => 0,
        Outcome::Buffered => 1,
        Outcome::Stale => 2,
        Outcome::Ignored => 3,
        Outcome::Gap => 4,
        Outcome::ChecksumMismatch { .. } => 5,
        Outcome::Crossed => 6,
        Outcome::Duplicate => 7,
        Outcome::Held => 8,
    }
}
