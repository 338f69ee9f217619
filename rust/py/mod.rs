//! The pyo3 binding layer: the only place that knows about Python.

use pyo3::prelude::*;
use pyo3::types::PyDict;

mod args;
pub(crate) mod auth;
mod book;
mod bus;
#[cfg(all(target_os = "linux", feature = "bus-nats"))]
mod bus_sub;
pub(crate) mod clock;
mod dispatch;
pub(crate) mod errors;
mod events;
mod feed;
mod http;
mod latency;
pub(crate) mod limits;
pub(crate) mod lock;
mod names;
mod order;
mod quote;
mod venue_spec;
mod venues;

#[pyfunction]
fn build_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("profile", crate::build::PROFILE)?;
    d.set_item("version", crate::build::VERSION)?;
    d.set_item("lto", !cfg!(debug_assertions))?;
    d.set_item("target", std::env::consts::ARCH)?;
    Ok(d)
}

/// Deliberately panics inside a guarded call: lets the test suite prove that a Rust panic reaches
/// Python as `TickwireError`, never as a crash or a `PanicException`.
#[pyfunction]
fn _panic_for_test(message: &str) -> PyResult<()> {
    errors::guard(|| -> PyResult<()> { panic!("{message}") })
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    feed::register(m)?;
    bus::register(m)?;
    #[cfg(all(target_os = "linux", feature = "bus-nats"))]
    bus_sub::register(m)?;
    venue_spec::register(m)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    auth::register(m)?;
    latency::register(m)?;
    dispatch::register(m)?;
    lock::register(m)?;
    order::register(m)?;
    quote::register(m)?;
    limits::register(m)?;
    clock::register(m)?;
    http::register(m)?;
    Ok(())
}
