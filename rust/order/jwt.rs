//! A request's JWT written per fill (Coinbase Advanced Trade's `Authorization: Bearer <jwt>`): the
//! header and claims are the signer's own, cut once around the per-request values (the header's
//! `nonce`, the claims' `nbf` and `exp`), so the template cannot drift from `jwt::sign`'s text.
//!
//! Per fill: the header JSON with the nonce and the claims JSON with the time are assembled on the
//! stack, base64url-encoded straight into the request buffer and signed there (the signing input is
//! the JWT's own first two segments). ES256 signs with RFC 6979 nonces (`p256`, no added entropy) and
//! EdDSA is deterministic by construction: the same key, time and nonce give the same bytes, which is
//! what lets the build-time proof compare a template's request with the slow path's byte for byte.

use std::sync::Arc;

use super::{decimal_text, refuse, OrderError, MAX_ID};
use crate::sign::encode::{b64_decode, b64_into, b64_len};
use crate::sign::jwt::JwtKey;
use crate::sign::venues::coinbase::CoinbaseSigner;

/// Room for one token's header or claims JSON.
const JSON_MAX: usize = 1024;

// Values no real token carries, in the sample token the pieces are cut from.
const SAMPLE_NONCE: &str = "zq9TemplateNonceSentinel9qz";
const SAMPLE_NBF: u64 = 9_876_543_210;

/// One request's JWT: the signer's key and its header and claims around the per-request values.
pub struct JwtSlot {
    key: Arc<JwtKey>,
    /// The header's JSON before and after the nonce.
    header: [Box<[u8]>; 2],
    /// The claims' JSON before `nbf`'s digits, between them and `exp`'s, after `exp`'s.
    claims: [Box<[u8]>; 3],
    /// `exp - nbf` in the signer's tokens.
    lifetime_s: u64,
    /// Room `write` needs: the padded base64 of the longest header and claims, two dots, the signature.
    max_len: usize,
}

/// `text` split around each field's value, found in order right after its key (`"nbf":`): a JSON
/// string cannot hold `"nbf":` unescaped, so the value found is the field's own.
fn split(text: &[u8], fields: &[(&[u8], &[u8])]) -> Result<Vec<Box<[u8]>>, OrderError> {
    let mut out = Vec::new();
    let mut rest = text;
    for (key, value) in fields {
        let mut pat = key.to_vec();
        pat.extend_from_slice(value);
        let at = rest
            .windows(pat.len())
            .position(|w| w == pat.as_slice())
            .ok_or_else(|| refuse("layout", "the signer's token has no field the template fills".into()))?;
        let end = at + key.len();
        out.push(rest[..end].into());
        rest = &rest[end + value.len()..];
    }
    out.push(rest.into());
    Ok(out)
}

fn segment(token: &str, i: usize) -> Result<Vec<u8>, OrderError> {
    let part = token.split('.').nth(i).ok_or_else(|| refuse("layout", "not a compact JWT".into()))?;
    b64_decode(part.as_bytes()).map_err(|_| refuse("layout", "not a compact JWT".into()))
}

/// Unpadded base64url (JWS's) of `src` into `out` (room for the padded form); the bytes written.
fn b64url(src: &[u8], out: &mut [u8]) -> usize {
    let mut n = b64_into(src, out);
    while n > 0 && out[n - 1] == b'=' {
        n -= 1;
    }
    for b in &mut out[..n] {
        match *b {
            b'+' => *b = b'-',
            b'/' => *b = b'_',
            _ => {}
        }
    }
    n
}

impl JwtSlot {
    /// The pieces of the tokens `sample(now_s, nonce)` makes (a signer's, for its key), checked: the
    /// slot's token for the sample's time and nonce must be the sample itself.
    pub fn cut(key: Arc<JwtKey>, sample: impl Fn(u64, &str) -> String) -> Result<Self, OrderError> {
        let token = sample(SAMPLE_NBF, SAMPLE_NONCE);
        let header = segment(&token, 0)?;
        let claims = segment(&token, 1)?;
        let nbf = SAMPLE_NBF.to_string();
        let h = split(&header, &[(b"\"nonce\":\"", SAMPLE_NONCE.as_bytes())])?;
        // `exp` read from the sample: its digits up to the next non-digit.
        let exp_at = claims
            .windows(6)
            .position(|w| w == b"\"exp\":")
            .ok_or_else(|| refuse("layout", "the signer's token has no exp".into()))?;
        let digits: Vec<u8> = claims[exp_at + 6..].iter().copied().take_while(u8::is_ascii_digit).collect();
        let exp: u64 = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .filter(|e| *e >= SAMPLE_NBF)
            .ok_or_else(|| refuse("layout", "the signer's token's exp is not after its nbf".into()))?;
        let c = split(&claims, &[(b"\"nbf\":", nbf.as_bytes()), (b"\"exp\":", &digits)])?;
        let lits = |parts: &[Box<[u8]>]| parts.iter().map(|p| p.len()).sum::<usize>();
        if lits(&h) + MAX_ID > JSON_MAX || lits(&c) + 40 > JSON_MAX {
            return Err(refuse(
                "layout",
                "the key name or the request's path is too long for a template".into(),
            ));
        }
        let max_len = b64_len(lits(&h) + MAX_ID) + 1 + b64_len(lits(&c) + 40) + 1 + b64_len(64);
        let [h0, h1]: [Box<[u8]>; 2] = h.try_into().map_err(|_| refuse("layout", "header".into()))?;
        let [c0, c1, c2]: [Box<[u8]>; 3] = c.try_into().map_err(|_| refuse("layout", "claims".into()))?;
        let lifetime_s = exp - SAMPLE_NBF;
        let slot = Self { key, header: [h0, h1], claims: [c0, c1, c2], lifetime_s, max_len };
        let mut buf = vec![0u8; max_len];
        let n = slot.write(SAMPLE_NBF, SAMPLE_NONCE.as_bytes(), &mut buf);
        if buf[..n] != *token.as_bytes() {
            return Err(refuse("layout", "the template's token is not the signer's".into()));
        }
        Ok(slot)
    }

    /// Coinbase Advanced Trade's token for `method host path` (its `uri` claim), as
    /// `CoinbaseSigner::rest_jwt` makes it.
    pub fn coinbase(
        signer: &CoinbaseSigner,
        method: &str,
        host: &str,
        path: &str,
    ) -> Result<Self, OrderError> {
        Self::cut(signer.key.clone(), |now_s, nonce| signer.rest_jwt(method, host, path, now_s, Some(nonce)))
    }

    /// The room `write` needs.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The token for `now_s` and `nonce` (at most `MAX_ID` JSON-safe characters: the caller checks)
    /// into `out` (at least `max_len` long); the bytes written.
    pub fn write(&self, now_s: u64, nonce: &[u8], out: &mut [u8]) -> usize {
        fn put(json: &mut [u8; JSON_MAX], n: &mut usize, b: &[u8]) {
            json[*n..*n + b.len()].copy_from_slice(b);
            *n += b.len();
        }
        let mut json = [0u8; JSON_MAX];
        let mut n = 0;
        put(&mut json, &mut n, &self.header[0]);
        put(&mut json, &mut n, nonce);
        put(&mut json, &mut n, &self.header[1]);
        let mut o = b64url(&json[..n], out);
        out[o] = b'.';
        o += 1;
        let mut digits = [0u8; 48];
        n = 0;
        put(&mut json, &mut n, &self.claims[0]);
        let d = decimal_text(now_s, 0, &mut digits);
        put(&mut json, &mut n, &digits[..d]);
        put(&mut json, &mut n, &self.claims[1]);
        let d = decimal_text(now_s.saturating_add(self.lifetime_s), 0, &mut digits);
        put(&mut json, &mut n, &digits[..d]);
        put(&mut json, &mut n, &self.claims[2]);
        o += b64url(&json[..n], &mut out[o..]);
        let sig = self.key.sign(&out[..o]);
        out[o] = b'.';
        o += 1;
        o + b64url(&sig, &mut out[o..])
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, OrderTemplate, Part, Rules, Slot};
    use super::*;
    use crate::sign::venues::coinbase::LIFETIME_S;

    const NAME: &str = "organizations/org-tw/apiKeys/trade-key";
    const PATH: &str = "/api/v3/brokerage/orders";
    const TS: u64 = 1_700_000_000_123;

    fn es256() -> CoinbaseSigner {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let scalar = [7u8; 32];
        let pem = p256::SecretKey::from_slice(&scalar).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
        CoinbaseSigner::new(NAME, &pem).unwrap()
    }

    fn eddsa() -> CoinbaseSigner {
        // A raw base64 32-byte seed, as the CDP portal issues Ed25519 keys.
        CoinbaseSigner::new(NAME, "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap()
    }

    fn layout() -> Layout {
        let mut l = Layout::default();
        Layout::lit(&mut l.out, b"POST /api/v3/brokerage/orders HTTP/1.1\r\nHost: api.coinbase.com\r\n");
        Layout::lit(&mut l.out, b"Authorization: Bearer ");
        l.out.push(Part::Slot(Slot::Jwt));
        Layout::lit(&mut l.out, b"\r\nContent-Length: ");
        l.out.push(Part::Slot(Slot::BodyLen));
        Layout::lit(&mut l.out, b"\r\n\r\n");
        l.start_body();
        Layout::lit(&mut l.out, b"{\"client_order_id\":\"");
        l.out.push(Part::Slot(Slot::ClientId));
        Layout::lit(&mut l.out, b"\",\"limit_price\":\"");
        l.out.push(Part::Slot(Slot::Price));
        Layout::lit(&mut l.out, b"\"}");
        l
    }

    fn template(s: &CoinbaseSigner) -> OrderTemplate {
        let slot = JwtSlot::coinbase(s, "POST", "api.coinbase.com", PATH).unwrap();
        let rules = Rules { price_scale: 2, qty_scale: 8, tick: 1, lot: 1, ..Rules::default() };
        OrderTemplate::with_jwt(layout(), slot, rules).unwrap()
    }

    fn bearer(req: &[u8]) -> String {
        let req = std::str::from_utf8(req).unwrap();
        let at = req.find("Bearer ").unwrap() + 7;
        req[at..at + req[at..].find("\r\n").unwrap()].to_owned()
    }

    /// The token's header and claims as JSON text, its signature checked with the public key alone.
    fn verified(s: &CoinbaseSigner, token: &str) -> (String, String) {
        use p256::pkcs8::DecodePublicKey;
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = b64_decode(sig.as_bytes()).unwrap();
        let pem = s.key.public_key_pem();
        match &*s.key {
            JwtKey::Es256(_) => {
                use p256::ecdsa::signature::Verifier;
                let vk = p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).unwrap();
                let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
                vk.verify(input.as_bytes(), &sig).unwrap();
            }
            JwtKey::EdDsa(_) => {
                let vk = ed25519_dalek::VerifyingKey::from_public_key_pem(&pem).unwrap();
                vk.verify_strict(input.as_bytes(), &ed25519_dalek::Signature::from_slice(&sig).unwrap())
                    .unwrap();
            }
        }
        let text = |i| String::from_utf8(segment(token, i).unwrap()).unwrap();
        (text(0), text(1))
    }

    #[test]
    fn the_token_is_the_signers_for_the_same_time_and_nonce() {
        for s in [es256(), eddsa()] {
            let t = template(&s);
            let nonce = "0123456789abcdef".repeat(4);
            let mut buf = Vec::new();
            t.fill_with_nonce(4_325_012, 1, "tw-cid", TS, "", Some(&nonce), &mut buf).unwrap();
            let jwt = s.rest_jwt("POST", "api.coinbase.com", PATH, TS / 1000, Some(&nonce));
            let body = "{\"client_order_id\":\"tw-cid\",\"limit_price\":\"43250.12\"}";
            let want = format!(
                "POST {PATH} HTTP/1.1\r\nHost: api.coinbase.com\r\nAuthorization: Bearer {jwt}\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            assert_eq!(std::str::from_utf8(&buf).unwrap(), want, "{}", s.key.alg());
            verified(&s, &jwt);
        }
    }

    #[test]
    fn every_fill_signs_a_fresh_nonce_and_the_documented_claims() {
        for s in [es256(), eddsa()] {
            let t = template(&s);
            let mut buf = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for i in 0..20u64 {
                let ts = TS + i * 1000;
                t.fill(4_325_012, 1, "c", ts, "", &mut buf).unwrap();
                let (header, claims) = verified(&s, &bearer(&buf));
                let nonce =
                    header.split("\"nonce\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
                assert_eq!(nonce.len(), 64);
                assert!(nonce.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{nonce}");
                assert_eq!(
                    header,
                    format!(
                        "{{\"alg\":\"{}\",\"kid\":\"{NAME}\",\"nonce\":\"{nonce}\",\"typ\":\"JWT\"}}",
                        s.key.alg()
                    )
                );
                let nbf = ts / 1000;
                assert_eq!(
                    claims,
                    format!(
                        "{{\"sub\":\"{NAME}\",\"iss\":\"cdp\",\"nbf\":{nbf},\"exp\":{},\"uri\":\"POST api.coinbase.com{PATH}\"}}",
                        nbf + LIFETIME_S
                    )
                );
                assert!(seen.insert(nonce));
            }
        }
    }

    #[test]
    fn off_tick_writes_nothing_and_layouts_are_checked() {
        let s = es256();
        let t = template(&s);
        let mut buf = b"stale".to_vec();
        let rules = Rules { price_scale: 2, qty_scale: 8, tick: 5, lot: 1, ..Rules::default() };
        let slot = || JwtSlot::coinbase(&s, "POST", "api.coinbase.com", PATH).unwrap();
        let ticked = OrderTemplate::with_jwt(layout(), slot(), rules).unwrap();
        assert_eq!(ticked.fill(4_325_012, 1, "c", TS, "", &mut buf).unwrap_err().rule, "tick_size");
        assert!(buf.is_empty());
        assert!(t.stamped());
        // No token slot, or the token in the body: refused; a token slot without a key: refused.
        let mut bare = layout();
        bare.out.retain(|p| *p != Part::Slot(Slot::Jwt));
        assert!(OrderTemplate::with_jwt(bare, slot(), rules).is_err());
        let mut in_body = layout();
        in_body.out.push(Part::Slot(Slot::Jwt));
        assert!(OrderTemplate::with_jwt(in_body, slot(), rules).is_err());
        assert!(OrderTemplate::unsigned(layout(), rules).is_err());
    }
}
