//! Fresh per-request nonces for templates whose venue signs one: lower-case hex as the slow paths'
//! `secrets.token_hex` writes it: Clarofinlore's `X-Nonce` (32 characters, 128 random bits), the
//! Coinbase JWT header's `nonce` (64 characters, 256 bits, as `crate::sign::jwt::random_nonce`).
//!
//! Drawn from ChaCha20 seeded once per thread from the OS (`OsRng`), not from `OsRng` each time: the
//! `getrandom` system call costs about 310 ns per 16 bytes on the reference VM against about 15 ns for
//! ChaCha20 (measured in one run, release), and a nonce needs to be unique and unguessable, which a
//! seeded ChaCha20 stream is. A forked child would inherit its parent's stream and repeat its nonces:
//! a `pthread_atfork` child handler counts forks, and a thread whose generator was seeded before the
//! last fork seeds a new one.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};

use crate::sign::encode;

/// Clarofinlore's nonce's length in characters.
pub const NONCE_LEN: usize = 32;
/// The Coinbase JWT header's nonce's length in characters.
pub const JWT_NONCE_LEN: usize = 64;

static FORKS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // (the fork count when seeded, the generator)
    static RNG: RefCell<Option<(u64, ChaCha20Rng)>> = const { RefCell::new(None) };
}

#[cfg(unix)]
extern "C" fn forked() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

fn watch_forks() {
    static HOOK: Once = Once::new();
    #[cfg(unix)]
    HOOK.call_once(|| {
        // SAFETY: registers a handler that only bumps an atomic (async-signal-safe), once.
        unsafe {
            libc::pthread_atfork(None, None, Some(forked));
        }
    });
}

/// `out.len()` (even, at most `JWT_NONCE_LEN`) fresh random lower-case hex characters into `out`; an
/// error only when the OS has no entropy to seed this thread's generator with.
pub fn fresh(out: &mut [u8]) -> Result<(), rand_core::Error> {
    RNG.with(|cell| {
        let mut slot = cell.borrow_mut();
        let forks = FORKS.load(Ordering::Relaxed);
        if !matches!(&*slot, Some((seen, _)) if *seen == forks) {
            watch_forks();
            let mut seed = [0u8; 32];
            OsRng.try_fill_bytes(&mut seed)?;
            *slot = Some((forks, ChaCha20Rng::from_seed(seed)));
        }
        let mut raw = [0u8; JWT_NONCE_LEN / 2];
        let raw = &mut raw[..(out.len() / 2).min(JWT_NONCE_LEN / 2)];
        if let Some((_, rng)) = slot.as_mut() {
            rng.fill_bytes(raw);
        }
        encode::hex_into(raw, out);
        Ok(())
    })
}
