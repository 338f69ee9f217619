//! The clocks, for the binding layer (`crate::clock`, pure Rust).

pub(crate) use crate::clock::monotonic_ns;

use pyo3::prelude::*;

use crate::clock::Linear;

/// The estimate of a `tickwire.clock.ClockSync` (it sets it after each sample), read by an order
/// template's `fire` to stamp a request without a Python call.
#[pyclass(module = "tickwire._core", name = "VenueTime")]
#[derive(Default)]
pub struct VenueTime {
    pub(crate) l: Linear,
}

#[pymethods]
impl VenueTime {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    fn set(&mut self, offset_ms: f64, slope: f64, t_ref_ns: i64) {
        self.l = Linear { offset_ms, slope, t_ref_ns };
    }

    /// The venue's time in ms at local wall time `t_ns`.
    fn at(&self, t_ns: i64) -> i64 {
        self.l.ms_at(t_ns)
    }

    /// `ClockSync.now_ms()` for the default local clock (`time.time_ns`).
    fn now_ms(&self) -> i64 {
        self.l.now_ms()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<VenueTime>()
}
