//! HMAC (RFC 2104) over SHA-256/384/512 with the key schedule computed once.
//!
//! `HmacKey::new` hashes `key ^ ipad` and `key ^ opad` one block each and keeps only the two
//! resulting chaining states. Every MAC then copies those states and runs the compression function
//! (`sha2::compress256/512`, SHA-NI when the CPU has it) over the message and the padding — two
//! fewer compressions than keying a fresh `hmac::Hmac` per call, and no heap allocation.
//! `tests::equals_the_hmac_crate` proves the result equal to the `hmac` crate on random inputs.

use sha2::Digest as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::compress::{Family, IV_256, IV_384, IV_512, S256, S512};
use super::encode;
use super::SignError;

/// The hash under the HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    /// Accepts `sha256`, `SHA-256`, `sha_256` and the like.
    pub fn from_name(name: &str) -> Result<Self, SignError> {
        let norm: String =
            name.chars().filter(|c| !matches!(c, '-' | '_')).flat_map(char::to_lowercase).collect();
        match norm.as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            // Echo only a short name: a long one may be a secret passed in the wrong argument.
            _ if name.chars().count() <= 10 => Err(SignError::UnknownDigest(format!("{name:?}"))),
            _ => Err(SignError::UnknownDigest("name".into())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Digest (and MAC) length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A running hash: the chaining state plus at most one partial block.
///
/// Not zeroized on drop: once a single message block has been compressed into it, the state no longer
/// equals the precomputed key state, and the message itself is not secret. Zeroizing ~200 bytes per
/// signature would cost more than it protects.
#[derive(Clone)]
struct Running<S: Family> {
    state: S,
    buf: [u8; 128],
    buf_len: usize,
    /// Bytes hashed so far, including the key block the precomputed state already covers.
    total: u64,
}

impl<S: Family> Running<S> {
    #[inline(always)]
    fn from_state(state: S) -> Self {
        Self { state, buf: [0u8; 128], buf_len: 0, total: S::BLOCK as u64 }
    }

    #[inline(always)]
    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buf_len > 0 {
            let take = (S::BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < S::BLOCK {
                return;
            }
            self.state.compress(&self.buf[..S::BLOCK]);
            self.buf_len = 0;
        }
        let whole = data.len() - data.len() % S::BLOCK;
        if whole > 0 {
            self.state.compress(&data[..whole]);
        }
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Pads and compresses the last block(s); returns the final chaining state.
    #[inline(always)]
    fn finish_state(mut self) -> S {
        let bits = u128::from(self.total) * 8;
        let mut last = [0u8; 256];
        last[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        last[self.buf_len] = 0x80;
        let blocks = if self.buf_len + 1 + S::LEN_FIELD <= S::BLOCK { 1 } else { 2 };
        let end = blocks * S::BLOCK;
        let len_be = bits.to_be_bytes();
        last[end - S::LEN_FIELD..end].copy_from_slice(&len_be[16 - S::LEN_FIELD..]);
        self.state.compress(&last[..end]);
        self.state
    }
}

/// Messages shorter than this are hashed from one stack copy (see `Keyed::oneshot`).
const SHORT: usize = 256;

#[derive(Clone, Zeroize)]
struct Keyed<S: Family> {
    inner: S,
    outer: S,
}

impl<S: Family> Keyed<S> {
    /// `key` is already at most one block long (longer keys are hashed first, RFC 2104 §2).
    fn new(iv: S, key: &[u8]) -> Self {
        let mut block = [0u8; 128];
        block[..key.len()].copy_from_slice(key);
        let mut pad = [0u8; 128];
        for (p, k) in pad.iter_mut().zip(block.iter()).take(S::BLOCK) {
            *p = k ^ 0x36;
        }
        let mut inner = iv;
        inner.compress(&pad[..S::BLOCK]);
        for (p, k) in pad.iter_mut().zip(block.iter()).take(S::BLOCK) {
            *p = k ^ 0x5c;
        }
        let mut outer = iv;
        outer.compress(&pad[..S::BLOCK]);
        block.zeroize();
        pad.zeroize();
        Self { inner, outer }
    }

    /// The outer hash: one block holding the inner digest, its padding and the length.
    #[inline(always)]
    fn outer(&self, inner_state: &S, out_len: usize, out: &mut [u8; 64]) {
        let mut ih = [0u8; 64];
        inner_state.write_be(&mut ih);
        let mut block = [0u8; 128];
        block[..out_len].copy_from_slice(&ih[..out_len]);
        block[out_len] = 0x80;
        let bits = ((S::BLOCK + out_len) as u128 * 8).to_be_bytes();
        block[S::BLOCK - S::LEN_FIELD..S::BLOCK].copy_from_slice(&bits[16 - S::LEN_FIELD..]);
        let mut o = self.outer;
        o.compress(&block[..S::BLOCK]);
        o.write_be(out);
    }

    #[inline(always)]
    fn finish(&self, inner: Running<S>, out_len: usize, out: &mut [u8; 64]) {
        let st = inner.finish_state();
        self.outer(&st, out_len, out);
    }

    /// Single-message MAC without the streaming buffer: whole blocks are compressed straight from
    /// `msg`, only the tail is copied into the padding block.
    #[inline(always)]
    fn oneshot(&self, msg: &[u8], out_len: usize, out: &mut [u8; 64]) {
        let mut st = self.inner;
        // Short messages (a typical signed query) are copied whole next to their padding so that a
        // single call to the block function covers them: one SHA-NI setup instead of two.
        let whole = if msg.len() < SHORT { 0 } else { msg.len() - msg.len() % S::BLOCK };
        if whole > 0 {
            st.compress(&msg[..whole]);
        }
        let rest = &msg[whole..];
        let mut last = [0u8; SHORT + 2 * 128];
        last[..rest.len()].copy_from_slice(rest);
        last[rest.len()] = 0x80;
        let min = rest.len() + 1 + S::LEN_FIELD;
        let end = min.div_ceil(S::BLOCK) * S::BLOCK;
        let bits = ((S::BLOCK + msg.len()) as u128 * 8).to_be_bytes();
        last[end - S::LEN_FIELD..end].copy_from_slice(&bits[16 - S::LEN_FIELD..]);
        st.compress(&last[..end]);
        self.outer(&st, out_len, out);
    }
}

#[derive(Clone, Zeroize)]
enum KeyState {
    K256(Keyed<S256>),
    K512(Keyed<S512>),
}

/// An HMAC key with its inner and outer hash states precomputed. Cloning copies ~128 bytes.
#[derive(Clone)]
pub struct HmacKey {
    digest: Digest,
    state: KeyState,
}

impl Zeroize for HmacKey {
    fn zeroize(&mut self) {
        self.state.zeroize();
    }
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for HmacKey {}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKey({})", self.digest.name())
    }
}

impl HmacKey {
    /// Precomputes the key schedule. An empty secret is refused: it is always a configuration error.
    pub fn new(secret: &[u8], digest: Digest) -> Result<Self, SignError> {
        if secret.is_empty() {
            return Err(SignError::EmptySecret);
        }
        let state = match digest {
            Digest::Sha256 => {
                let mut hashed: [u8; 32] = sha2::Sha256::digest(secret).into();
                let key: &[u8] = if secret.len() > 64 { &hashed } else { secret };
                let k = KeyState::K256(Keyed::new(S256(IV_256), key));
                hashed.zeroize();
                k
            }
            Digest::Sha384 | Digest::Sha512 => {
                let iv = if digest == Digest::Sha384 { IV_384 } else { IV_512 };
                let mut hashed = [0u8; 64];
                let n = if secret.len() > 128 {
                    if digest == Digest::Sha384 {
                        hashed[..48].copy_from_slice(&sha2::Sha384::digest(secret));
                        48
                    } else {
                        hashed.copy_from_slice(&sha2::Sha512::digest(secret));
                        64
                    }
                } else {
                    0
                };
                let key: &[u8] = if n > 0 { &hashed[..n] } else { secret };
                let k = KeyState::K512(Keyed::new(S512(iv), key));
                hashed.zeroize();
                k
            }
        };
        Ok(Self { digest, state })
    }

    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Starts a MAC over a message given in parts (no concatenation buffer needed).
    #[inline(always)]
    pub fn start(&self) -> Mac<'_> {
        match &self.state {
            KeyState::K256(k) => Mac { key: self, run: Run::R256(Running::from_state(k.inner)) },
            KeyState::K512(k) => Mac { key: self, run: Run::R512(Running::from_state(k.inner)) },
        }
    }

    /// The MAC of `msg`.
    #[inline(always)]
    pub fn mac(&self, msg: &[u8]) -> Tag {
        let mut tag = Tag { bytes: [0u8; 64], len: self.digest.output_len() };
        match &self.state {
            KeyState::K256(k) => k.oneshot(msg, 32, &mut tag.bytes),
            KeyState::K512(k) => k.oneshot(msg, tag.len, &mut tag.bytes),
        }
        tag
    }

    /// The MAC of the concatenation of `parts`.
    #[inline(always)]
    pub fn mac_parts(&self, parts: &[&[u8]]) -> Tag {
        let mut m = self.start();
        for p in parts {
            m.update(p);
        }
        m.finish()
    }
}

#[derive(Clone)]
enum Run {
    R256(Running<S256>),
    R512(Running<S512>),
}

/// A MAC in progress; feed it with `update`, then `finish`.
#[derive(Clone)]
pub struct Mac<'k> {
    key: &'k HmacKey,
    run: Run,
}

impl Mac<'_> {
    #[inline(always)]
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        match &mut self.run {
            Run::R256(r) => r.update(data),
            Run::R512(r) => r.update(data),
        }
        self
    }

    #[inline(always)]
    pub fn finish(self) -> Tag {
        let mut tag = Tag { bytes: [0u8; 64], len: self.key.digest.output_len() };
        match (self.run, &self.key.state) {
            (Run::R256(r), KeyState::K256(k)) => k.finish(r, 32, &mut tag.bytes),
            (Run::R512(r), KeyState::K512(k)) => k.finish(r, tag.len, &mut tag.bytes),
            _ => unreachable!("a Mac is always started from its own key's family"),
        }
        tag
    }
}

/// A MAC value (up to 64 bytes) with stack-only text encodings.
#[derive(Clone, Copy)]
pub struct Tag {
    bytes: [u8; 64],
    len: usize,
}

impl Tag {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Lowercase hex.
    #[inline]
    pub fn hex(&self) -> StackStr {
        let mut s = StackStr::new();
        s.len = encode::hex_into(self.as_bytes(), &mut s.buf);
        s
    }

    /// Standard padded base64.
    #[inline]
    pub fn b64(&self) -> StackStr {
        let mut s = StackStr::new();
        s.len = encode::b64_into(self.as_bytes(), &mut s.buf);
        s
    }
}

/// Short ASCII text on the stack: the encoded form of one signature.
#[derive(Clone, Copy)]
pub struct StackStr {
    buf: [u8; 128],
    len: usize,
}

impl StackStr {
    fn new() -> Self {
        Self { buf: [0u8; 128], len: 0 }
    }

    pub fn as_str(&self) -> &str {
        // The encoders write ASCII only.
        std::str::from_utf8(&self.buf[..self.len]).expect("encoders write ASCII")
    }
}

#[cfg(test)]
#[path = "hmac_tests.rs"]
mod tests;
