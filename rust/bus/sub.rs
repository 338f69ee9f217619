//! `Subscriber`: the consumer's market-data subscription on async-nats, on its own thread.
//!
//! One async-nats client on a current-thread tokio runtime (thread `tw-bus-sub`) subscribes the
//! given subjects. Every message it receives goes, with its receive time (CLOCK_MONOTONIC ns, the
//! clock Python's `time.monotonic_ns()` reads), into a queue; the eventfd is written when the queue
//! goes from empty to non-empty, so the consumer's event loop watches one fd and takes everything
//! that came in one `drain`. The queue is a `Backlog` bounded at `max_pending` messages: a loop that
//! stops draining costs the oldest market data (reported by `drain`, so the books resync), not the
//! process's memory (`backlog.rs` says why the oldest). Nothing here takes the GIL or knows Python
//! (benches/bench_nats_engine.py measured this hand-off against `call_soon_threadsafe`, which
//! stalls the reader on GIL waits).
//!
//! Reconnection is async-nats's own: every server given is in its pool (and the nodes the cluster
//! announces), it reconnects forever, at once to the next node after a loss and then every 200 ms
//! (nats-py's `reconnect_time_wait` in `tickwire.bus.client`), and sends the subscriptions again to
//! the node it reconnects to. The first connect is not retried: `start` fails when no server
//! answers, as `tickwire.bus.client.connect` does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};

use super::backlog::{Backlog, Lost, Payload};
use crate::clock::monotonic_ns;

/// One received message. `subject` and `payload` share the client's read buffer (no copy).
#[derive(Debug, Clone)]
pub struct Msg {
    pub subject: async_nats::Subject,
    pub payload: bytes::Bytes,
    /// When the tokio thread had it: CLOCK_MONOTONIC ns.
    pub recv_ns: i64,
}

impl Payload for Msg {
    fn payload(&self) -> &[u8] {
        &self.payload
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubError {
    #[error("no NATS server given")]
    NoServer,
    #[error("bad NATS server address {0:?}: {1}")]
    Address(String, String),
    #[error("eventfd: {0}")]
    EventFd(std::io::Error),
    #[error("subscriber thread: {0}")]
    Thread(String),
    #[error("nats connect/subscribe failed: {0}")]
    Connect(String),
}

/// `url` fit for an error message: a password in its user part replaced by `***` (a token alone in
/// the user part too: NATS takes `nats://<token>@host`), as `tickwire.bus.client.shown_url` does.
pub(crate) fn shown_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else {
        return url.to_owned();
    };
    let user = &rest[..at];
    let masked = match user.find(':') {
        Some(c) => format!("{}:***", &user[..c]),
        None => "***".to_owned(),
    };
    format!("{scheme}{masked}{}", &rest[at..])
}

/// The connection's state, as the tokio thread last saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub connected: bool,
    /// Connections made after the first (a reconnect to the same node or another).
    pub reconnects: u64,
    /// Messages received (queued for `drain`).
    pub messages: u64,
    /// Messages async-nats dropped because its subscription channel was full (slow-consumer
    /// events; the tokio thread empties that channel into the backlog, so this stays 0 unless the
    /// thread is starved).
    pub dropped: u64,
    /// Received messages the backlog dropped at its bound (the oldest) before `drain` took them.
    pub overflowed: u64,
    /// Messages waiting for `drain`, and the bound.
    pub pending: usize,
    pub max_pending: usize,
    /// The last error async-nats reported (server or client), if any.
    pub last_error: Option<String>,
    /// The node connected to (or last connected to): `host:port` from its INFO. Right after a
    /// reconnect async-nats counts the connect and reports `connected` before the new node's INFO
    /// is in, so for a moment this can still name the node before.
    pub server: Option<String>,
}

struct Shared {
    queue: Mutex<Backlog<Msg>>,
    efd: i32,
    messages: AtomicU64,
    dropped: AtomicU64,
    last_error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn push(&self, batch: &mut Vec<Msg>) {
        let n = batch.len() as u64;
        let was_empty = {
            let mut q = lock(&self.queue);
            let was_empty = q.is_empty();
            for m in batch.drain(..) {
                q.push(m);
            }
            was_empty
        };
        self.messages.fetch_add(n, Ordering::Relaxed);
        if was_empty {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a live buffer to our eventfd (non-blocking; the counter
            // cannot overflow with one write per empty→non-empty transition).
            unsafe { libc::write(self.efd, one.as_ptr().cast(), 8) };
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the eventfd is ours and closed once, when the last user is gone.
        unsafe { libc::close(self.efd) };
    }
}

/// Messages taken from the subscriptions per queue push (what is ready after the first).
const MAX_BATCH: usize = 1024;

pub struct Subscriber {
    shared: Arc<Shared>,
    /// A handle on the client (its connection task runs on the thread): state and statistics.
    client: async_nats::Client,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Subscriber {
    /// Connects to one of `servers`, subscribes `subjects` and starts receiving; returns once the
    /// server has the subscriptions (or with the error that prevented it). At most `max_pending`
    /// messages wait for `drain` (`super::backlog::DEFAULT_MAX_PENDING` is the binding's default).
    pub fn start(
        servers: &[String],
        subjects: &[String],
        max_pending: usize,
    ) -> Result<Subscriber, SubError> {
        if servers.is_empty() {
            return Err(SubError::NoServer);
        }
        let addrs = servers
            .iter()
            .map(|s| {
                s.parse::<async_nats::ServerAddr>()
                    .map_err(|e| SubError::Address(shown_url(s), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: plain syscall; the fd is checked below.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(SubError::EventFd(std::io::Error::last_os_error()));
        }
        let shared = Arc::new(Shared {
            queue: Mutex::new(Backlog::new(max_pending)),
            efd,
            messages: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let sh = shared.clone();
        let subjects = subjects.to_vec();
        let thread = std::thread::Builder::new()
            .name("tw-bus-sub".into())
            .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run(addrs, subjects, sh, ready_tx, stop_rx)),
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            })
            .map_err(|e| SubError::Thread(e.to_string()))?;
        let stop = Mutex::new(Some(stop_tx));
        let thread = Mutex::new(Some(thread));
        let fail = |e: SubError| {
            end(&stop, &thread);
            Err(e)
        };
        match ready_rx.recv() {
            Ok(Ok(client)) => Ok(Subscriber { shared, client, stop, thread }),
            Ok(Err(e)) => fail(SubError::Connect(e)),
            Err(_) => fail(SubError::Thread("ended before it was ready".into())),
        }
    }

    /// The eventfd: readable when `drain` has messages.
    pub fn fd(&self) -> i32 {
        self.shared.efd
    }

    /// Moves every queued message to `out` (appended, in arrival order) and resets the eventfd;
    /// returns what the bound dropped before them since the last drain (the caller must resync the
    /// books it names: they have a hole).
    pub fn drain(&self, out: &mut Vec<Msg>) -> Lost {
        let mut q = lock(&self.shared.queue);
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live buffer; EAGAIN when already reset. Under the
        // queue's lock: a push after this sees an empty queue and writes again.
        unsafe { libc::read(self.shared.efd, buf.as_mut_ptr().cast(), 8) };
        q.drain_into(out)
    }

    pub fn state(&self) -> State {
        let s = &self.shared;
        let connected = self.running()
            && matches!(self.client.connection_state(), async_nats::connection::State::Connected);
        let info = self.client.server_info();
        let (overflowed, pending, max_pending) = {
            let q = lock(&s.queue);
            (q.dropped(), q.len(), q.max())
        };
        State {
            connected,
            reconnects: self.client.statistics().connects.load(Ordering::Relaxed).saturating_sub(1),
            messages: s.messages.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            overflowed,
            pending,
            max_pending,
            last_error: lock(&s.last_error).clone(),
            server: (info.port != 0).then(|| format!("{}:{}", info.host, info.port)),
        }
    }

    /// Whether the thread is still running.
    pub fn running(&self) -> bool {
        lock(&self.thread).as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Ends the subscription and joins the thread (idempotent).
    pub fn stop(&self) {
        end(&self.stop, &self.thread)
    }
}

fn end(stop: &Mutex<Option<tokio::sync::oneshot::Sender<()>>>, thread: &Mutex<Option<JoinHandle<()>>>) {
    if let Some(tx) = lock(stop).take() {
        let _ = tx.send(());
    }
    let th = lock(thread).take();
    if let Some(th) = th {
        let _ = th.join();
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn run(
    addrs: Vec<async_nats::ServerAddr>,
    subjects: Vec<String>,
    shared: Arc<Shared>,
    ready: mpsc::Sender<Result<async_nats::Client, String>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let ev = shared.clone();
    let opts = async_nats::ConnectOptions::new()
        .name("tickwire-bus-sub")
        .no_echo()
        .max_reconnects(None)
        .reconnect_delay_callback(
            |attempts| {
                if attempts <= 1 {
                    Duration::ZERO
                } else {
                    Duration::from_millis(200)
                }
            },
        )
        .connection_timeout(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(5))
        .event_callback(move |event| {
            let s = ev.clone();
            async move {
                match event {
                    async_nats::Event::SlowConsumer(_) => {
                        s.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    async_nats::Event::ServerError(e) => *lock(&s.last_error) = Some(e.to_string()),
                    async_nats::Event::ClientError(e) => *lock(&s.last_error) = Some(e.to_string()),
                    _ => {}
                }
            }
        });
    let started = async {
        let client = opts.connect(addrs).await?;
        let mut subs = Vec::with_capacity(subjects.len());
        for s in subjects {
            subs.push(client.subscribe(s).await?);
        }
        client.flush().await?;
        Ok::<_, async_nats::Error>((client, subs))
    };
    let (client, subs) = match started.await {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(client.clone()));
    let mut all = futures_util::stream::select_all(subs);
    let mut batch: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            m = all.next() => m,
            _ = &mut stop => None,
        };
        let Some(first) = first else { break };
        let t = monotonic_ns();
        batch.push(Msg { subject: first.subject, payload: first.payload, recv_ns: t });
        while batch.len() < MAX_BATCH {
            match all.next().now_or_never() {
                Some(Some(m)) => batch.push(Msg { subject: m.subject, payload: m.payload, recv_ns: t }),
                _ => break,
            }
        }
        shared.push(&mut batch);
    }
    // Dropping the runtime (when this returns) ends the connection task and closes the socket.
    drop(all);
    drop(client);
}
