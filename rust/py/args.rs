//! Counts and decimals read from Python arguments so that a value out of range is a `ValueError`
//! that says what was expected, not pyo3's bare `OverflowError` ("can't convert negative int to
//! unsigned"): the same bad input, one kind of error, as the rest of the library's arguments.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyInt;

use crate::book::num::MAX_DECIMALS;

/// A count of levels or items: an int >= 0. One past the platform's range asks for everything there
/// is, as a slice would.
pub(crate) fn count(ob: &Bound<'_, PyAny>) -> PyResult<usize> {
    match ob.extract::<usize>() {
        Ok(n) => Ok(n),
        Err(e) if !ob.is_instance_of::<PyInt>() => Err(e),
        Err(_) if ob.lt(0)? => Err(PyValueError::new_err(format!("a count must be >= 0, not {ob}"))),
        Err(_) => Ok(usize::MAX),
    }
}

/// `count`, or None.
pub(crate) fn opt_count(ob: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    if ob.is_none() {
        Ok(None)
    } else {
        count(ob).map(Some)
    }
}

/// Decimals a number is written with: an int within 0..=18.
pub(crate) fn opt_decimals(ob: &Bound<'_, PyAny>) -> PyResult<Option<u8>> {
    if ob.is_none() {
        return Ok(None);
    }
    match ob.extract::<u8>() {
        Ok(d) if d <= MAX_DECIMALS => Ok(Some(d)),
        Err(e) if !ob.is_instance_of::<PyInt>() => Err(e),
        _ => Err(PyValueError::new_err(format!("decimals must be within 0..={MAX_DECIMALS}, not {ob}"))),
    }
}
