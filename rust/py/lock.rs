//! `ReaderLock`: what a thread-backed session's readers and its frame route share, so several reads
//! from another thread see the books between two frames, never in the middle of one.
//!
//! The route takes it in Rust (one compare-and-swap per frame, no Python call: a `threading.Lock`
//! taken from Python cost ~1.5 µs per frame on a cold cache). Whoever waits releases the GIL while it
//! does, so a reader holding the lock can always get the GIL back to finish and release it.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

/// Spins, then yields, until `take()` succeeds — without the GIL, so a holder waiting for it can
/// finish and release.
fn wait_until(py: Python<'_>, take: impl Fn() -> bool + Sync) {
    py.detach(|| {
        let mut spins = 0u32;
        while !take() {
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    });
}

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
        wait_until(py, || self.try_take());
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

/// `BudgetLock`: a re-entrant lock for the rate budgets (`tickwire.limits.budget`), which Python takes
/// with `with` and an order template's one call takes in Rust without a Python call. Whoever waits
/// releases the GIL while it does, so the holder can always get the GIL back to finish and release.
#[pyclass(module = "tickwire._core", name = "BudgetLock", frozen)]
#[derive(Default)]
pub struct BudgetLock {
    /// The holder's thread (0: free), as `BudgetLock::me` numbers threads.
    owner: std::sync::atomic::AtomicU64,
    /// How many times the holder took it (only the holder touches it).
    depth: std::sync::atomic::AtomicU64,
}

impl BudgetLock {
    fn me() -> u64 {
        thread_local! {
            static ID: u64 = {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT.fetch_add(1, Ordering::Relaxed)
            };
        }
        ID.with(|id| *id)
    }

    /// Takes it if it is free or already this thread's; false otherwise (nothing waited for).
    #[inline]
    pub(crate) fn try_take(&self) -> bool {
        let me = Self::me();
        if self.owner.load(Ordering::Relaxed) == me
            || self.owner.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            self.depth.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn take(&self, py: Python<'_>) {
        if self.try_take() {
            return;
        }
        wait_until(py, || self.try_take());
    }

    #[inline]
    pub(crate) fn give(&self) -> PyResult<()> {
        if self.owner.load(Ordering::Relaxed) != Self::me() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "release of a BudgetLock this thread does not hold",
            ));
        }
        if self.depth.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.owner.store(0, Ordering::Release);
        }
        Ok(())
    }
}

#[pymethods]
impl BudgetLock {
    #[new]
    fn new() -> Self {
        BudgetLock::default()
    }

    /// `threading.RLock.acquire`'s first argument: with `blocking=False`, False when another thread
    /// holds it.
    #[pyo3(signature = (blocking = true))]
    fn acquire(&self, py: Python<'_>, blocking: bool) -> bool {
        if blocking {
            self.take(py);
            true
        } else {
            self.try_take()
        }
    }

    fn release(&self) -> PyResult<()> {
        self.give()
    }

    fn __enter__(&self, py: Python<'_>) -> bool {
        self.take(py);
        true
    }

    #[pyo3(signature = (_t = None, _v = None, _tb = None))]
    fn __exit__(
        &self,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.give()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ReaderLock>()?;
    m.add_class::<BudgetLock>()
}
