//! `venue_spec(name)` / `venue_names()`: the core's venue specs, read-only, so the Python session
//! takes its resync, reconnect and symbol rules from the table the feed runs on.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::book::checksum::ChecksumKind;
use crate::book::sync::SeqRule;
use crate::venue::{Resync, SymbolCase, UnknownVenue, Venue, VenueSpec as Spec};

pub(crate) fn unknown(e: UnknownVenue) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// One venue's book-feed rules (`tickwire._core.venue_spec(name)`), the Rust enums as strings.
#[pyclass(module = "tickwire._core", name = "VenueSpec", frozen)]
pub struct VenueSpec {
    #[pyo3(get)]
    name: &'static str,
    #[pyo3(get)]
    aliases: Py<PyTuple>,
    #[pyo3(get)]
    sequence: &'static str,
    #[pyo3(get)]
    checksum: Option<&'static str>,
    #[pyo3(get)]
    resync: &'static str,
    #[pyo3(get)]
    symbol_case: &'static str,
    /// None: unbounded.
    #[pyo3(get)]
    max_depth: Option<usize>,
    #[pyo3(get)]
    depth_from_frames: bool,
    #[pyo3(get)]
    round_qty_decimals: Option<u8>,
    #[pyo3(get)]
    check_crossed: bool,
    #[pyo3(get)]
    snapshot_first: bool,
    #[pyo3(get)]
    rest_fallback: bool,
    #[pyo3(get)]
    redundant_lines: bool,
    #[pyo3(get)]
    consecutive_trade_ids: bool,
    #[pyo3(get)]
    connection_numbered: bool,
    #[pyo3(get)]
    binary_compressed: bool,
    case: SymbolCase,
}

impl VenueSpec {
    fn new(py: Python<'_>, s: &'static Spec) -> PyResult<Self> {
        Ok(VenueSpec {
            name: s.name,
            aliases: PyTuple::new(py, s.aliases)?.unbind(),
            sequence: match s.seq {
                SeqRule::None => "none",
                SeqRule::BinanceSpot => "binance_spot",
                SeqRule::BinanceFutures => "binance_futures",
                SeqRule::PrevLinked => "prev_linked",
                SeqRule::Increasing => "increasing",
                SeqRule::Covering => "covering",
            },
            checksum: match s.checksum {
                ChecksumKind::None => None,
                ChecksumKind::Okx => Some("okx"),
                ChecksumKind::Kraken => Some("kraken"),
                ChecksumKind::Bitfinex => Some("bitfinex"),
            },
            resync: match s.resync {
                Resync::Snapshot => "snapshot",
                Resync::Request => "request",
                Resync::Resubscribe => "resubscribe",
            },
            symbol_case: match s.symbol_case {
                SymbolCase::AsSent => "as_sent",
                SymbolCase::Upper => "upper",
                SymbolCase::Lower => "lower",
            },
            max_depth: (s.max_depth > 0).then_some(s.max_depth),
            depth_from_frames: s.depth_from_frames,
            round_qty_decimals: s.round_qty_decimals,
            check_crossed: s.check_crossed,
            snapshot_first: s.snapshot_first,
            rest_fallback: s.rest_fallback,
            redundant_lines: s.redundant_lines,
            consecutive_trade_ids: s.consecutive_trade_ids,
            connection_numbered: s.connection_numbered,
            binary_compressed: s.binary_compressed,
            case: s.symbol_case,
        })
    }
}

#[pymethods]
impl VenueSpec {
    /// The key of `symbol`'s book in a `BookFeed` of this venue (its symbol case applied).
    fn book_key(&self, symbol: &str) -> String {
        self.case.key(symbol).into_owned()
    }

    fn __repr__(&self) -> String {
        format!("VenueSpec({:?})", self.name)
    }
}

/// The spec of the venue `name` (or alias) names; ValueError listing the names otherwise.
#[pyfunction]
fn venue_spec(py: Python<'_>, name: &str) -> PyResult<VenueSpec> {
    VenueSpec::new(py, Venue::from_name(name).map_err(unknown)?.spec())
}

/// Every canonical venue name the core decodes.
#[pyfunction]
fn venue_names() -> Vec<&'static str> {
    Venue::names().collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<VenueSpec>()?;
    m.add_function(wrap_pyfunction!(venue_spec, m)?)?;
    m.add_function(wrap_pyfunction!(venue_names, m)?)?;
    Ok(())
}
