//! `ReaderLock`: what a thread-backed session's readers and its frame route share, so several reads
//! from another thread see the books between two frames, never in the middle of one.
//!
//! The route takes it in Rust (a load and a compare-and-swap per frame, no Python call: a
//! `threading.Lock` taken from Python cost ~1.5 µs per frame on a cold cache). Whoever waits releases the GIL while it
//! does, so a reader holding the lock can always get the GIL back to finish and release it.

use std::sync::atomic::{AtomicU64, Ordering};

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

/// A lock its holder may take again (each take given back once): the holder's thread and depth.
#[derive(Default)]
struct Reentrant {
    /// The holder's thread (0: free), as `Reentrant::me` numbers threads.
    owner: AtomicU64,
    /// How many times the holder took it (only the holder touches it).
    depth: AtomicU64,
}

impl Reentrant {
    fn me() -> u64 {
        thread_local! {
            static ID: u64 = {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                NEXT.fetch_add(1, Ordering::Relaxed)
            };
        }
        ID.with(|id| *id)
    }

    /// Takes it if it is free or already this thread's; false otherwise (nothing waited for).
    #[inline]
    fn try_take(&self) -> bool {
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

    /// Gives one take back; false (nothing changed) if this thread does not hold it.
    #[inline]
    fn give(&self) -> bool {
        if self.owner.load(Ordering::Relaxed) != Self::me() {
            return false;
        }
        if self.depth.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.owner.store(0, Ordering::Release);
        }
        true
    }

    fn held(&self) -> bool {
        self.owner.load(Ordering::Relaxed) != 0
    }
}

/// Re-entrant: a callback the route runs while it holds the lock (`on_book` on the session thread)
/// may take it again (`with md.locked():`) instead of waiting for itself for good.
#[pyclass(module = "tickwire._core", name = "ReaderLock", frozen)]
#[derive(Default)]
pub struct ReaderLock {
    lock: Reentrant,
}

impl ReaderLock {
    /// Takes the lock, waiting without the GIL when another thread holds it.
    #[inline]
    pub(crate) fn take(&self, py: Python<'_>) {
        self.lock.take(py);
    }

    #[inline]
    pub(crate) fn give(&self) {
        self.lock.give();
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
        if !self.lock.give() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "release of a ReaderLock this thread does not hold",
            ));
        }
        Ok(())
    }

    #[getter]
    fn locked(&self) -> bool {
        self.lock.held()
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
    lock: Reentrant,
}

impl BudgetLock {
    /// Takes it if it is free or already this thread's; false otherwise (nothing waited for).
    #[inline]
    pub(crate) fn try_take(&self) -> bool {
        self.lock.try_take()
    }

    fn take(&self, py: Python<'_>) {
        self.lock.take(py);
    }

    #[inline]
    pub(crate) fn give(&self) -> PyResult<()> {
        if !self.lock.give() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "release of a BudgetLock this thread does not hold",
            ));
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
