//! `Window` and `BudgetTaker`: bindings of `crate::limits` (thin). `tickwire.limits.budget` builds
//! budgets of windows; an order template's budget check runs inside its one call (`OrderTemplate.fire`).

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::clock::monotonic_ns;
use crate::limits::window::{self, RING};
use crate::py::errors::guard;
use crate::py::lock::BudgetLock;

/// One venue limit as the client counts it (`tickwire.limits.window`).
#[pyclass(module = "tickwire._core", name = "Window")]
#[derive(Clone)]
pub struct Window {
    w: window::Window,
}

impl Window {
    /// `now` if the window can count at it, else a `ValueError` (nothing counted or changed).
    fn at(&self, now: f64) -> PyResult<f64> {
        if self.w.counts_at(now) {
            Ok(now)
        } else {
            Err(bad_now(now))
        }
    }
}

#[cold]
fn bad_now(now: f64) -> PyErr {
    PyValueError::new_err(format!("now={now} is not seconds on a clock (time.monotonic(), time.time())"))
}

#[pymethods]
impl Window {
    #[new]
    fn new(limit: i64, window_s: f64) -> PyResult<Self> {
        window::Window::new(limit, window_s)
            .map(|w| Self { w })
            .ok_or_else(|| PyValueError::new_err("a limit needs a positive weight and window"))
    }

    #[getter]
    fn limit(&self) -> i64 {
        self.w.limit
    }

    #[getter]
    fn window_s(&self) -> f64 {
        self.w.window_s
    }

    /// `(total, start, blocked_until, floor, floor_until, slots)`: the count as it stands (`total`
    /// is `slots`' sum; `start` the oldest slot counted; `floor` what the venue reported used, until
    /// `floor_until`; nothing before `blocked_until`).
    #[allow(clippy::type_complexity)]
    fn state(&self) -> (i64, i64, f64, i64, f64, Vec<i64>) {
        let w = &self.w;
        (w.total, w.start, w.blocked_until, w.floor, w.floor_until, w.slots.to_vec())
    }

    /// What `older` (the window this one replaces: the limit declared again) counted and blocked:
    /// its block, and its usage as a floor for one of its windows.
    fn inherit(&mut self, mut older: PyRefMut<'_, Window>, now: f64) -> PyResult<()> {
        let now = older.at(self.at(now)?)?;
        let used = older.w.used(now).max(older.w.floor);
        self.w.blocked_until = older.w.blocked_until;
        self.w.floor = used;
        self.w.floor_until = now + older.w.window_s;
        Ok(())
    }

    fn used(&mut self, now: f64) -> PyResult<i64> {
        Ok(self.w.used(self.at(now)?))
    }

    /// Seconds until `weight` fits under `cap`: 0.0 now, `inf` never.
    fn wait(&mut self, weight: i64, cap: i64, now: f64) -> PyResult<f64> {
        Ok(self.w.wait(weight, cap, self.at(now)?))
    }

    fn take(&mut self, weight: i64, now: f64) -> PyResult<()> {
        if weight < 0 {
            // It would hand back room the venue still counts.
            return Err(PyValueError::new_err(format!("weight must be >= 0, not {weight}")));
        }
        self.w.take(weight, self.at(now)?);
        Ok(())
    }

    #[pyo3(signature = (used, now, until = None, since = None))]
    fn observe(&mut self, used: i64, now: f64, until: Option<f64>, since: Option<f64>) -> PyResult<()> {
        let now = self.at(now)?;
        if until.is_some_and(f64::is_nan) || since.is_some_and(f64::is_nan) {
            return Err(PyValueError::new_err("until and since must be times, not NaN"));
        }
        self.w.observe(used, now, until, since);
        Ok(())
    }

    /// Whether a take at `then` is still counted at `now`.
    fn counted(&mut self, then: f64, now: f64) -> PyResult<bool> {
        let now = self.at(now)?;
        Ok(self.w.counted(self.at(then)?, now))
    }

    /// A take of `weight` made at `then` counted from `now` instead (its request written only now).
    fn restamp(&mut self, weight: i64, then: f64, now: f64) -> PyResult<()> {
        if weight < 0 {
            return Err(PyValueError::new_err(format!("weight must be >= 0, not {weight}")));
        }
        let now = self.at(now)?;
        self.w.restamp(weight, self.at(then)?, now);
        Ok(())
    }

    fn block(&mut self, seconds: f64, now: f64) -> PyResult<()> {
        let now = self.at(now)?;
        if seconds.is_nan() {
            return Err(PyValueError::new_err("seconds must be a number, not NaN"));
        }
        self.w.block(seconds, now);
        Ok(())
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Window(limit={}, window_s={}, used={})",
            self.w.limit,
            self.w.window_s,
            self.w.total.max(self.w.floor)
        )
    }
}

/// `RateBudget.try_take(cost, lane)` for one cost taken over and over (an order template's): the plan
/// looked up in the budget's plans by a key made once, each window checked and counted in place
/// under the budget's lock; anything that needs more (a slot to expire, a reported floor to lapse,
/// something that does not fit, no plan yet) goes to `try_take` itself.
/// A plan's entries: each window the cost charges, its weight and its cap.
type Plan = Vec<(Py<Window>, i64, i64)>;

#[pyclass(module = "tickwire._core", name = "BudgetTaker")]
pub struct BudgetTaker {
    plans: Py<PyDict>,
    key: Py<PyAny>,
    /// None: `time.monotonic`, read here.
    clock: Option<Py<PyAny>>,
    slow: Py<PyAny>,
    cost: Py<PyAny>,
    lane: Py<PyAny>,
    lock: Py<BudgetLock>,
    /// The plan last read, held (so its address is never reused) with its entries unpacked: a plan
    /// is a new list whenever the budget works it out again.
    cached: Option<(Py<PyList>, Plan)>,
}

impl BudgetTaker {
    /// 0.0 when taken, else the seconds to wait (nothing taken).
    pub(crate) fn take(this: &Bound<'_, Self>) -> PyResult<f64> {
        let py = this.py();
        if let Some(fast) = this.borrow_mut().fast(py)? {
            return Ok(fast);
        }
        // Not borrowed while Python runs: another thread may use this taker meanwhile.
        let (slow, cost, lane) = {
            let me = this.borrow();
            (me.slow.clone_ref(py), me.cost.clone_ref(py), me.lane.clone_ref(py))
        };
        slow.call1(py, (cost, lane))?.extract(py)
    }

    /// `try_take`'s answer (0.0: taken; else the seconds to wait, nothing taken); `None` when its
    /// plan is not made yet or another thread holds the lock: `try_take` decides then.
    fn fast(&mut self, py: Python<'_>) -> PyResult<Option<f64>> {
        let Some(plan) = self.plans.bind(py).get_item(&self.key)? else { return Ok(None) };
        let plan = plan.cast_into::<PyList>()?;
        if !matches!(&self.cached, Some((p, _)) if p.as_ptr() == plan.as_ptr()) {
            let entries = plan
                .iter()
                .map(|item| entry(&item).map(|(w, weight, cap)| (w.unbind(), weight, cap)))
                .collect::<PyResult<Vec<_>>>()?;
            self.cached = Some((plan.unbind(), entries));
        }
        let Some((_, entries)) = &self.cached else { return Ok(None) };
        let lock = self.lock.get();
        if !lock.try_take() {
            return Ok(None); // another thread counts: wait for it the slow way
        }
        // A panic in here is an error like any other: the lock is given back either way.
        let got = guard(|| -> PyResult<Option<f64>> {
            let now: f64 = match &self.clock {
                None => monotonic_ns() as f64 / 1e9,
                Some(c) => c.call0(py)?.extract(py)?,
            };
            // Checked against each window before any is changed: the lock is given back below.
            for (w, ..) in entries {
                w.bind(py).borrow().at(now)?;
            }
            // `Budget.try_take` step for step: every window's wait (expiring the slots that left it,
            // lapsing a reported floor), then, when all fit now, the cost counted in each. Here too
            // when the order comes after a quiet spell, the usual case for a strategy's first order.
            let mut wait = 0.0f64; // never below: a window's wait is 0.0 or a moment still to come
            for (w, weight, cap) in entries {
                wait = wait.max(w.bind(py).borrow_mut().w.wait(*weight, *cap, now));
            }
            if wait <= 0.0 {
                for (w, weight, _) in entries {
                    if *weight != 0 {
                        w.bind(py).borrow_mut().w.take(*weight, now);
                    }
                }
            }
            Ok(Some(wait))
        });
        lock.give()?;
        got
    }
}

fn entry<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, Window>, i64, i64)> {
    let t = item.cast::<PyTuple>()?;
    Ok((t.get_item(0)?.cast_into::<Window>()?, t.get_item(1)?.extract()?, t.get_item(2)?.extract()?))
}

#[pymethods]
impl BudgetTaker {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        plans: Py<PyDict>,
        key: Py<PyAny>,
        clock: Py<PyAny>,
        slow: Py<PyAny>,
        cost: Py<PyAny>,
        lane: Py<PyAny>,
        lock: Py<BudgetLock>,
    ) -> PyResult<Self> {
        let monotonic = py.import(intern!(py, "time"))?.getattr(intern!(py, "monotonic"))?;
        let clock = (!clock.bind(py).is(&monotonic)).then_some(clock);
        Ok(Self { plans, key, clock, slow, cost, lane, lock, cached: None })
    }

    fn __call__(this: &Bound<'_, Self>) -> PyResult<f64> {
        Self::take(this)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("WINDOW_SLOTS", window::SLOTS)?;
    m.add("WINDOW_RING", RING)?;
    m.add_class::<Window>()?;
    m.add_class::<BudgetTaker>()
}
