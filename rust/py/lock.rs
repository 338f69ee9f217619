//! `ReaderLock`: what a thread-backed session's readers and its frame route share, so several reads
//! from another thread see the books between two frames, never in the middle of one.
//!
//! The route takes it in Rust (one compare-and-swap per frame, no Python call: a `threading.Lock`
//! taken from Python cost ~1.5 µs per frame on a cold cache). Whoever waits releases the GIL while it
//! does, so a reader holding the lock can always get the GIL back to finish and release it.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

#[pyclass(module = "tickwire._core", name = "ReaderLock", frozen)]
#[derive(Default)]
pub struct ReaderLock {
    held: AtomicBool,
}

impl ReaderLock {
    #[inline]
    fn try_take(&self) -> bool {
        self.held.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock, waiting without the GIL when someone else holds it.
    pub(crate) fn take(&self, py: Python<'_>) {
        if self.try_take() {
            return;
        }
        py.detach(|| {
            let mut spins = 0u32;
            while !self.try_take() {
                if spins < 64 {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        });
    }

    #[inline]
    pub(crate) fn give(&self) {
        self.held.store(false, Ordering::Release);
    }
}

#[pymethods]
impl ReaderLock {
    #[new]
    fn new() -> Self {
        ReaderLock::default()
    }

    fn acquire(&self, py: Python<'_>) {
        self.take(py);
    }

    fn release(&self) -> PyResult<()> {
        if !self.held.swap(false, Ordering::Release) {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("release of an unlocked ReaderLock"));
        }
        Ok(())
    }

    #[getter]
    fn locked(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    fn __enter__(&self, py: Python<'_>) {
        self.take(py);
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) {
        self.give();
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ReaderLock>()
}
