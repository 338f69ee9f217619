//! `nats_engine_rs`: an async-nats subscriber on its own thread (a current-thread tokio runtime)
//! handing what it receives to Python on the asyncio loop, two ways:
//!
//! - `Subscriber(url, subject, loop, callback)`: per batch of ready messages, take the GIL and
//!   `loop.call_soon_threadsafe(callback, [payload, ...], t_recv_ns)` (the loop's self-pipe wakes it);
//! - `Subscriber(url, subject)`: no GIL on the tokio thread: payloads go to a queue and an eventfd
//!   is written when the queue was empty; the loop watches `fd` (`loop.add_reader`) and calls
//!   `drain() -> ([payload, ...], t_recv_ns)`.
//!
//! `Publisher(url)`: an async-nats client whose connection task runs on its own tokio thread;
//! `publish(subject, payload)` from the loop thread only queues the message on the client's channel
//! (the tokio thread wakes and writes), as a gateway built on the extension would publish.
//!
//! A batch is what is ready when the first message arrives (one message when one is in flight).
//! `t_recv_ns` is the CLOCK_MONOTONIC time the tokio thread had the batch's first message.

#[path = "common.rs"]
mod common;

use common::monotonic_ns;
use futures::{FutureExt, StreamExt};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

struct Shared {
    queue: Mutex<VecDeque<(bytes::Bytes, u64)>>,
    efd: i32,
}

impl Shared {
    fn push(&self, batch: Vec<bytes::Bytes>, t: u64) {
        let was_empty = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = q.is_empty();
            q.extend(batch.into_iter().map(|b| (b, t)));
            was_empty
        };
        if was_empty {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a live buffer to our eventfd.
            unsafe { libc::write(self.efd, one.as_ptr().cast(), 8) };
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the eventfd is ours and closed once.
        unsafe { libc::close(self.efd) };
    }
}

enum Handoff {
    CallSoon { event_loop: Py<PyAny>, callback: Py<PyAny> },
    EventFd,
}

/// The tokio thread behind a Subscriber or a Publisher, and the signal that ends it.
struct Worker {
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    fn new(stop: tokio::sync::oneshot::Sender<()>, thread: JoinHandle<()>) -> Self {
        Self { stop: Mutex::new(Some(stop)), thread: Mutex::new(Some(thread)) }
    }

    fn close(&self, py: Python<'_>) {
        if let Some(tx) = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(());
        }
        let th = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(th) = th {
            py.detach(|| {
                let _ = th.join();
            });
        }
    }
}

#[pyclass(module = "nats_engine_rs")]
struct Subscriber {
    shared: Arc<Shared>,
    worker: Worker,
}

async fn run(
    url: String,
    subject: String,
    handoff: Handoff,
    shared: Arc<Shared>,
    max_batch: usize,
    ready: mpsc::Sender<Result<(), String>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let started = async {
        let client = async_nats::ConnectOptions::new().no_echo().connect(url).await?;
        let sub = client.subscribe(subject).await?;
        client.flush().await?;
        Ok::<_, async_nats::Error>((client, sub))
    };
    let (_client, mut sub) = match started.await {
        Ok(x) => {
            let _ = ready.send(Ok(()));
            x
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    loop {
        let first = tokio::select! {
            m = sub.next() => m,
            _ = &mut stop => None,
        };
        let Some(first) = first else { break };
        let t = monotonic_ns();
        let mut batch = vec![first.payload];
        while batch.len() < max_batch {
            match sub.next().now_or_never() {
                Some(Some(m)) => batch.push(m.payload),
                _ => break,
            }
        }
        match &handoff {
            Handoff::CallSoon { event_loop, callback } => {
                let sent = Python::attach(|py| -> PyResult<()> {
                    let list = PyList::new(py, batch.iter().map(|b| PyBytes::new(py, b)))?;
                    event_loop.call_method1(py, "call_soon_threadsafe", (callback.clone_ref(py), list, t))?;
                    Ok(())
                });
                if sent.is_err() {
                    break; // the loop is closed
                }
            }
            Handoff::EventFd => shared.push(batch, t),
        }
    }
}

#[pymethods]
impl Subscriber {
    #[new]
    #[pyo3(signature = (url, subject, event_loop=None, callback=None, max_batch=256))]
    fn new(
        py: Python<'_>,
        url: String,
        subject: String,
        event_loop: Option<Py<PyAny>>,
        callback: Option<Py<PyAny>>,
        max_batch: usize,
    ) -> PyResult<Self> {
        let handoff = match (event_loop, callback) {
            (Some(event_loop), Some(callback)) => Handoff::CallSoon { event_loop, callback },
            (None, None) => Handoff::EventFd,
            _ => return Err(PyRuntimeError::new_err("give both event_loop and callback, or neither")),
        };
        // SAFETY: plain syscall; the fd is checked below.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(PyRuntimeError::new_err("eventfd failed"));
        }
        let shared = Arc::new(Shared { queue: Mutex::new(VecDeque::new()), efd });
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let sh = shared.clone();
        let max_batch = max_batch.max(1);
        let thread = std::thread::Builder::new().name("nats-engine".into()).spawn(move || {
            // One Python thread state for the thread's life (call_soon mode), so each message's
            // Python::attach only takes the GIL instead of creating and deleting a thread state.
            let keep = matches!(handoff, Handoff::CallSoon { .. }).then(|| {
                // SAFETY: the interpreter is running (we were called from it); the state is
                // released below, on this thread, before it ends.
                unsafe {
                    let g = pyo3::ffi::PyGILState_Ensure();
                    (g, pyo3::ffi::PyEval_SaveThread())
                }
            });
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
            match rt {
                Ok(rt) => rt.block_on(run(url, subject, handoff, sh, max_batch, ready_tx, stop_rx)),
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
            if let Some((g, ts)) = keep {
                // SAFETY: pairs the Ensure/SaveThread above, on the same thread.
                unsafe {
                    pyo3::ffi::PyEval_RestoreThread(ts);
                    pyo3::ffi::PyGILState_Release(g);
                }
            }
        })?;
        let started = py.detach(move || ready_rx.recv());
        let this = Self { shared, worker: Worker::new(stop_tx, thread) };
        match started {
            Ok(Ok(())) => Ok(this),
            Ok(Err(e)) => {
                this.close(py);
                Err(PyRuntimeError::new_err(format!("nats connect/subscribe failed: {e}")))
            }
            Err(_) => {
                this.close(py);
                Err(PyRuntimeError::new_err("subscriber thread ended before it was ready"))
            }
        }
    }

    /// The eventfd to watch (eventfd mode): readable when `drain()` has messages.
    #[getter]
    fn fd(&self) -> i32 {
        self.shared.efd
    }

    /// Every queued payload and the receive time of the first (eventfd mode).
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, u64)> {
        let items: Vec<(bytes::Bytes, u64)> = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            let mut buf = [0u8; 8];
            // SAFETY: reads at most 8 bytes into a live buffer; EAGAIN when already reset.
            unsafe { libc::read(self.shared.efd, buf.as_mut_ptr().cast(), 8) };
            q.drain(..).collect()
        };
        let t = items.first().map_or(0, |(_, t)| *t);
        let list = PyList::new(py, items.iter().map(|(b, _)| PyBytes::new(py, b)))?;
        Ok((list, t))
    }

    /// Stops the tokio thread and waits for it (without the GIL, which it may be waiting for).
    fn close(&self, py: Python<'_>) {
        self.worker.close(py)
    }
}

#[pyclass(module = "nats_engine_rs")]
struct Publisher {
    client: async_nats::Client,
    worker: Worker,
}

fn err(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

#[pymethods]
impl Publisher {
    #[new]
    fn new(py: Python<'_>, url: String) -> PyResult<Self> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<async_nats::Client, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("nats-engine-pub".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                match async_nats::ConnectOptions::new().no_echo().connect(url).await {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(c));
                        let _ = stop_rx.await; // the connection task runs on this runtime meanwhile
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                    }
                }
            });
        })?;
        let client = py.detach(move || ready_rx.recv()).map_err(err)?.map_err(err)?;
        Ok(Self { client, worker: Worker::new(stop_tx, thread) })
    }

    /// Queues one message (the tokio thread writes it); waits, without the GIL, only when the
    /// client's channel is full.
    fn publish(&self, py: Python<'_>, subject: &str, payload: &[u8]) -> PyResult<()> {
        let fut = self.client.publish(subject.to_string(), bytes::Bytes::copy_from_slice(payload));
        match fut.now_or_never() {
            Some(r) => r.map_err(err),
            None => {
                let c = self.client.clone();
                let (s, p) = (subject.to_string(), bytes::Bytes::copy_from_slice(payload));
                py.detach(move || futures::executor::block_on(c.publish(s, p))).map_err(err)
            }
        }
    }

    /// Until the server has everything published so far (PING/PONG), without the GIL.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.client.clone();
        py.detach(move || futures::executor::block_on(c.flush())).map_err(err)
    }

    fn close(&self, py: Python<'_>) {
        self.worker.close(py)
    }
}

#[pymodule]
fn nats_engine_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Subscriber>()?;
    m.add_class::<Publisher>()?;
    Ok(())
}
