//! Binance (spot and USDⓈ-M futures): HMAC-SHA256 hex, or Ed25519 / RSA base64 signatures.
//!
//! REST signs the query string plus body exactly as sent, after percent-encoding non-ASCII bytes, and
//! percent-encodes base64 signatures (they travel in a URL). The WebSocket API signs all params but
//! `signature`, sorted by name, as raw UTF-8 `k=v&…`, and sends base64 as-is.

use crate::sign::asym::{detect, Ed25519Key, KeyKind, RsaKey};
use crate::sign::encode::{b64_into, b64_len, pct_b64_in_place, percent_encode_non_ascii};
use crate::sign::hmac::{Digest, HmacKey};
use crate::sign::SignError;

pub enum BinanceKey {
    Hmac(HmacKey),
    Ed25519(Ed25519Key),
    Rsa(RsaKey),
}

pub struct BinanceSigner {
    pub api_key: String,
    pub key: BinanceKey,
}

impl BinanceSigner {
    /// `secret` for HMAC keys, or `private_key_pem` for Ed25519 / RSA keys (the type is read from it).
    pub fn new(
        api_key: &str,
        secret: Option<&str>,
        private_key_pem: Option<&str>,
    ) -> Result<Self, SignError> {
        let api_key = super::api_key(api_key)?;
        let key = match (secret, private_key_pem) {
            (Some(_), Some(_)) => {
                return Err(SignError::Invalid(
                    "give either secret (HMAC) or private_key_pem (Ed25519/RSA), not both".into(),
                ))
            }
            (None, None) => {
                return Err(SignError::Invalid(
                    "a secret (HMAC) or a private_key_pem (Ed25519/RSA) is required".into(),
                ))
            }
            (Some(s), None) => BinanceKey::Hmac(HmacKey::new(s.as_bytes(), Digest::Sha256)?),
            (None, Some(pem)) => match detect(pem)? {
                KeyKind::Ed25519 => BinanceKey::Ed25519(Ed25519Key::from_pem(pem)?),
                KeyKind::Rsa => BinanceKey::Rsa(RsaKey::from_pem(pem)?),
                other => {
                    return Err(SignError::WrongKeyType {
                        expected: "an Ed25519 or RSA key",
                        found: other.name(),
                    })
                }
            },
        };
        Ok(Self { api_key, key })
    }

    pub fn key_type(&self) -> &'static str {
        match self.key {
            BinanceKey::Hmac(_) => "hmac",
            BinanceKey::Ed25519(_) => "ed25519",
            BinanceKey::Rsa(_) => "rsa",
        }
    }

    /// Signs `payload` (query string + body as sent) and hands the signature text to `f`, so the
    /// common HMAC/ASCII case never allocates.
    #[inline]
    pub fn rest_signature<R>(&self, payload: &str, f: impl FnOnce(&str) -> R) -> R {
        if payload.is_ascii() {
            self.rest_sign_ascii(payload.as_bytes(), f)
        } else {
            let mut enc = String::with_capacity(payload.len() * 2);
            percent_encode_non_ascii(payload, &mut enc);
            self.rest_sign_ascii(enc.as_bytes(), f)
        }
    }

    #[inline(always)]
    fn rest_sign_ascii<R>(&self, msg: &[u8], f: impl FnOnce(&str) -> R) -> R {
        match &self.key {
            BinanceKey::Hmac(k) => f(k.mac(msg).hex().as_str()),
            BinanceKey::Ed25519(k) => {
                let sig = k.sign(msg);
                let mut buf = [0u8; 88 * 3];
                let n = b64_into(&sig, &mut buf);
                let n = pct_b64_in_place(&mut buf, n);
                f(std::str::from_utf8(&buf[..n]).expect("ASCII"))
            }
            BinanceKey::Rsa(k) => {
                let sig = k.sign(msg);
                let mut buf = vec![0u8; b64_len(sig.len()) * 3];
                let n = b64_into(&sig, &mut buf);
                let n = pct_b64_in_place(&mut buf, n);
                f(std::str::from_utf8(&buf[..n]).expect("ASCII"))
            }
        }
    }

    /// WebSocket API signature over `params` (name, value), excluding `signature`, sorted by name.
    pub fn ws_signature(&self, params: &mut [(&str, &str)]) -> String {
        params.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let kept = params.iter().filter(|(k, _)| *k != "signature");
        match &self.key {
            BinanceKey::Hmac(key) => {
                let mut m = key.start();
                for (i, (k, v)) in kept.enumerate() {
                    if i > 0 {
                        m.update(b"&");
                    }
                    m.update(k.as_bytes()).update(b"=").update(v.as_bytes());
                }
                m.finish().hex().as_str().to_owned()
            }
            BinanceKey::Ed25519(_) | BinanceKey::Rsa(_) => {
                let mut payload = String::new();
                for (i, (k, v)) in kept.enumerate() {
                    if i > 0 {
                        payload.push('&');
                    }
                    payload.push_str(k);
                    payload.push('=');
                    payload.push_str(v);
                }
                let sig = match &self.key {
                    BinanceKey::Ed25519(k) => k.sign(payload.as_bytes()).to_vec(),
                    BinanceKey::Rsa(k) => k.sign(payload.as_bytes()),
                    BinanceKey::Hmac(_) => unreachable!(),
                };
                let mut buf = vec![0u8; b64_len(sig.len())];
                let n = b64_into(&sig, &mut buf);
                buf.truncate(n);
                String::from_utf8(buf).expect("ASCII")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

    fn rest(s: &BinanceSigner, p: &str) -> String {
        s.rest_signature(p, str::to_owned)
    }

    #[test]
    fn published_hmac_vectors() {
        let s = BinanceSigner::new("k", Some(SECRET), None).unwrap();
        // rest-api.md "SIGNED Endpoint Examples for POST /api/v3/order" (venues.md §8).
        assert_eq!(
            rest(&s, "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
        // binance/binance-signature-examples README (venues.md §8).
        assert_eq!(
            rest(&s, "timestamp=1578963600000"),
            "d84e6641b1e328e7b418fff030caed655c266299c9355e36ce801ed14631eed4"
        );
        // USDⓈ-M futures general-info "SIGNED Endpoint Examples for POST /fapi/v1/order", Example 1.
        let f = BinanceSigner::new(
            "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83",
            Some("2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"),
            None,
        )
        .unwrap();
        assert_eq!(
            rest(&f, "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    #[test]
    fn ws_signature_sorts_and_skips_signature() {
        let s = BinanceSigner::new("k", Some(SECRET), None).unwrap();
        let mut a = [("timestamp", "1"), ("apiKey", "k"), ("signature", "zzz")];
        let mut b = [("apiKey", "k"), ("timestamp", "1")];
        assert_eq!(s.ws_signature(&mut a), s.ws_signature(&mut b));
        assert_eq!(s.ws_signature(&mut b), rest(&s, "apiKey=k&timestamp=1"));
    }

    #[test]
    fn published_ws_api_vector() {
        // web-socket-api.md "SIGNED request example (HMAC)", params in the doc's (unsorted) order.
        let s = BinanceSigner::new("k", Some(SECRET), None).unwrap();
        let mut params = [
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01000000"),
            ("price", "52000.00"),
            ("newOrderRespType", "ACK"),
            ("recvWindow", "100"),
            ("timestamp", "1645423376532"),
            ("apiKey", "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"),
        ];
        assert_eq!(
            s.ws_signature(&mut params),
            "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
        );
    }

    #[test]
    fn non_ascii_is_percent_encoded_before_signing() {
        let s = BinanceSigner::new("k", Some(SECRET), None).unwrap();
        assert_eq!(rest(&s, "symbol=币安"), rest(&s, "symbol=%E5%B8%81%E5%AE%89"));
    }

    #[test]
    fn both_or_neither_key_is_refused() {
        assert!(BinanceSigner::new("k", Some("a"), Some("b")).is_err());
        assert!(BinanceSigner::new("k", None, None).is_err());
        assert!(BinanceSigner::new("", Some("a"), None).is_err());
    }
}
