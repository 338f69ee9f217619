//! Compact JWS (JWT) signing with ES256 or EdDSA, as Coinbase's CDP keys need.
//!
//! The header and claims are written by hand rather than through a JSON library: the shapes are fixed,
//! the only free-form strings are the key name and the URI, and both are escaped per RFC 8259.

use rand_core::RngCore;

use super::asym::{detect, EcdsaP256Key, Ed25519Key, KeyKind};
use super::encode::{b64_decode, b64url_push, hex_into, push_u64};
use super::SignError;

/// A key that can sign JWTs.
pub enum JwtKey {
    Es256(EcdsaP256Key),
    EdDsa(Ed25519Key),
}

impl JwtKey {
    pub fn alg(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::EdDsa(_) => "EdDSA",
        }
    }

    /// The JWS signature of `msg` (the signing input `header.claims`): 64 bytes for both algorithms.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        match self {
            Self::Es256(k) => k.sign(msg),
            Self::EdDsa(k) => k.sign(msg),
        }
    }

    pub fn public_key_pem(&self) -> String {
        match self {
            Self::Es256(k) => k.public_key_pem(),
            Self::EdDsa(k) => k.public_key_pem(),
        }
    }

    /// A CDP secret: an EC P-256 PEM (SEC1 or PKCS#8) for ES256, an Ed25519 PKCS#8 PEM, or the raw
    /// base64 Ed25519 key the CDP portal issues (a 32-byte seed, or 64 bytes seed || public key).
    pub fn from_cdp_secret(secret: &str) -> Result<Self, SignError> {
        let s = secret.trim();
        if s.is_empty() {
            return Err(SignError::EmptySecret);
        }
        if s.contains("-----BEGIN") {
            return match detect(s)? {
                KeyKind::EcP256 => Ok(Self::Es256(EcdsaP256Key::from_pem(s)?)),
                KeyKind::Ed25519 => Ok(Self::EdDsa(Ed25519Key::from_pem(s)?)),
                other => Err(SignError::WrongKeyType {
                    expected: "an EC P-256 or Ed25519 key",
                    found: other.name(),
                }),
            };
        }
        let raw = zeroize::Zeroizing::new(b64_decode(s.as_bytes())?);
        match raw.len() {
            32 => Ok(Self::EdDsa(Ed25519Key::from_seed(&raw)?)),
            64 => {
                let k = Ed25519Key::from_seed(&raw[..32])?;
                // The portal's 64-byte form carries the public key too: a mismatch means a damaged key.
                if k.public_key_bytes()[..] != raw[32..] {
                    return Err(SignError::BadKey(
                        "the 64-byte Ed25519 key's public half does not match its seed".into(),
                    ));
                }
                Ok(Self::EdDsa(k))
            }
            n => Err(SignError::BadKey(format!(
                "a raw base64 Ed25519 key must decode to 32 or 64 bytes, got {n}"
            ))),
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// 32 random bytes as 64 lowercase hex chars (what Python's `secrets.token_hex()` gives).
pub fn random_nonce() -> String {
    let mut b = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut b);
    let mut out = [0u8; 64];
    hex_into(&b, &mut out);
    String::from_utf8(out.to_vec()).expect("hex is ASCII")
}

/// The claims of one token.
pub struct Claims<'a> {
    pub sub: &'a str,
    pub iss: &'a str,
    pub nbf: u64,
    pub exp: u64,
    pub uri: Option<&'a str>,
}

/// `base64url(header).base64url(claims).base64url(signature)`.
pub fn sign(key: &JwtKey, kid: &str, nonce: &str, claims: &Claims<'_>) -> String {
    let mut header = String::with_capacity(160);
    header.push_str("{\"alg\":");
    json_str(key.alg(), &mut header);
    header.push_str(",\"kid\":");
    json_str(kid, &mut header);
    header.push_str(",\"nonce\":");
    json_str(nonce, &mut header);
    header.push_str(",\"typ\":\"JWT\"}");

    let mut body = String::with_capacity(200);
    body.push_str("{\"sub\":");
    json_str(claims.sub, &mut body);
    body.push_str(",\"iss\":");
    json_str(claims.iss, &mut body);
    body.push_str(",\"nbf\":");
    push_u64(claims.nbf, &mut body);
    body.push_str(",\"exp\":");
    push_u64(claims.exp, &mut body);
    if let Some(uri) = claims.uri {
        body.push_str(",\"uri\":");
        json_str(uri, &mut body);
    }
    body.push('}');

    let mut out = String::with_capacity(512);
    b64url_push(header.as_bytes(), &mut out);
    out.push('.');
    b64url_push(body.as_bytes(), &mut out);
    let sig = key.sign(out.as_bytes());
    out.push('.');
    b64url_push(&sig, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        json_str("a\"b\\c\n\u{1}é", &mut s);
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
    }

    #[test]
    fn raw_seed_secret_is_eddsa_and_bad_lengths_are_refused() {
        // base64 of 32 zero bytes.
        let k = JwtKey::from_cdp_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        assert_eq!(k.alg(), "EdDSA");
        assert!(JwtKey::from_cdp_secret("AAAA").is_err());
        assert!(matches!(JwtKey::from_cdp_secret("  "), Err(SignError::EmptySecret)));
    }

    #[test]
    fn nonce_is_64_hex_chars_and_random() {
        let (a, b) = (random_nonce(), random_nonce());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
