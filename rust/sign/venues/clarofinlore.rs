//! Clarofinlore: hex HMAC-SHA256 over a configurable concatenation, by default
//! `METHOD + path + query (without '?') + body` with no separator (seed-venues.md).

use crate::sign::hmac::{Digest, HmacKey, StackStr};
use crate::sign::SignError;

/// One component of the signed string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Method,
    Path,
    Query,
    Body,
    Timestamp,
    Nonce,
}

impl Part {
    pub fn from_name(s: &str) -> Result<Self, SignError> {
        Ok(match s {
            "method" => Self::Method,
            "path" => Self::Path,
            "query" => Self::Query,
            "body" => Self::Body,
            "timestamp" => Self::Timestamp,
            "nonce" => Self::Nonce,
            other => {
                return Err(SignError::Invalid(format!(
                    "unknown signature part {other:?}: expected method, path, query, body, timestamp or nonce"
                )))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Method => "method",
            Self::Path => "path",
            Self::Query => "query",
            Self::Body => "body",
            Self::Timestamp => "timestamp",
            Self::Nonce => "nonce",
        }
    }
}

pub const DEFAULT_PARTS: [Part; 4] = [Part::Method, Part::Path, Part::Query, Part::Body];

pub struct ClarofinloreSigner {
    pub api_key: String,
    pub parts: Vec<Part>,
    pub separator: String,
    key: HmacKey,
}

/// The values of one request.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a str,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
}

impl ClarofinloreSigner {
    pub fn new(api_key: &str, secret: &str, parts: Vec<Part>, separator: &str) -> Result<Self, SignError> {
        if parts.is_empty() {
            return Err(SignError::Invalid("the signature composition needs at least one part".into()));
        }
        Ok(Self {
            api_key: super::api_key(api_key)?,
            parts,
            separator: separator.to_owned(),
            key: HmacKey::new(secret.as_bytes(), Digest::Sha256)?,
        })
    }

    /// The pre-keyed HMAC state (never the secret): an order template signs with it
    /// (`crate::order`).
    pub fn hmac_key(&self) -> &HmacKey {
        &self.key
    }

    pub fn needs(&self, p: Part) -> bool {
        self.parts.contains(&p)
    }

    pub fn signature(&self, r: &Request<'_>) -> Result<StackStr, SignError> {
        let mut m = self.key.start();
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                m.update(self.separator.as_bytes());
            }
            match p {
                Part::Method => {
                    m.update(r.method.to_ascii_uppercase().as_bytes());
                }
                Part::Path => {
                    m.update(r.path.as_bytes());
                }
                Part::Query => {
                    m.update(r.query.strip_prefix('?').unwrap_or(r.query).as_bytes());
                }
                Part::Body => {
                    m.update(r.body.as_bytes());
                }
                Part::Timestamp | Part::Nonce => {
                    let v = if *p == Part::Timestamp { r.timestamp } else { r.nonce };
                    let v = v.ok_or_else(|| {
                        SignError::Invalid(format!("this signer's composition includes the {}", p.name()))
                    })?;
                    m.update(v.as_bytes());
                }
            }
        }
        Ok(m.finish().hex())
    }
}
