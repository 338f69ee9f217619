//! Request signing: HMAC with a precomputed key schedule, Ed25519 / RSA / ECDSA P-256 keys, JWTs, and
//! one module per venue that composes them into that venue's exact scheme.
//!
//! Pure Rust: the Python bindings live in `rust/py/auth.rs`. No error message here ever contains a
//! secret or key material; callers may show them to users and logs.

pub mod asym;
mod compress;
pub mod encode;
pub mod hmac;
pub mod jwt;
pub mod venues;

/// Why a key or secret could not be used, or a signing input was invalid.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the secret is empty")]
    EmptySecret,
    #[error("the secret is not valid base64 ({0})")]
    BadBase64(&'static str),
    #[error("unknown digest {0}: expected sha256, sha384 or sha512")]
    UnknownDigest(String),
    #[error("could not read the private key PEM: {0}")]
    BadPem(String),
    #[error("wrong key type: expected {expected}, got {found}")]
    WrongKeyType { expected: &'static str, found: String },
    #[error("an Ed25519 seed is 32 bytes, got {0}")]
    BadSeedLength(usize),
    #[error("invalid key: {0}")]
    BadKey(String),
    #[error("{0}")]
    Invalid(String),
}
