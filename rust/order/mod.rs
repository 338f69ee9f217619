//! Order templates: the request bytes of one (venue, symbol, side, type, time in force, transport)
//! laid out once, with slots for price, quantity, client id, timestamp, request id and signature.
//!
//! `OrderTemplate::fill` checks the numbers against the instrument's tick and lot as integer
//! arithmetic, writes them as exact decimal text (integer mantissas at the instrument's scale, never a
//! float), MACs the signed part with the precomputed HMAC key state (`crate::sign::hmac`) streamed from
//! the same pieces (no concatenation buffer), and writes the signature into its slot. The only memory
//! touched is the caller's output buffer, reserved once to the exact length.
//!
//! A layout is generic (`Layout`: literal bytes and slots, for the request and for the signed text,
//! the signature's text form, where a body starts for its `Content-Length`); `tickwire.trading.template`
//! cuts most layouts out of the slow path's own request rendered with sentinel values. `binance` lays out Binance spot's `POST /api/v3/order` (REST: the whole HTTP/1.1 request, query
//! signed) and WS API `order.place` (JSON, params signed sorted by name); `okx` the `order` op on
//! OKX's logged-in private socket (unsigned: the connection is authenticated). `jwt` writes a request's
//! JWT per fill (Coinbase's bearer token: signed ES256 or EdDSA over its own header and claims).

pub mod binance;
pub mod ids;
pub mod jwt;
pub mod nonce;
pub mod quote;
mod rules;
mod text;

pub(crate) use rules::{check_id, refuse, MAX_SCALE};
pub use rules::{OrderError, Rules, MAX_ID};
pub use text::{decimal_text, iso_text};

use zeroize::Zeroize;

use crate::sign::encode;
use crate::sign::hmac::HmacKey;

/// 9999-12-31T23:59:59.999Z: the last stamp an ISO text slot (four year digits) can write.
const LAST_ISO_MS: u64 = 253_402_300_799_999;

/// A value written at fill time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Price,
    Qty,
    ClientId,
    Timestamp,
    RequestId,
    /// Only in the request: the MAC of the signed pieces, as `Layout::sig` says.
    Signature,
    /// The timestamp as `YYYY-MM-DDThh:mm:ss.sssZ` (UTC): OKX's `OK-ACCESS-TIMESTAMP`.
    IsoMillis,
    /// The timestamp as `YYYY-MM-DDThh%3Amm%3Ass` (UTC, form-encoded in a query): HTX's `Timestamp`.
    IsoSecondsForm,
    /// The timestamp plus `Layout::expiry_ms`, in ms: OKX's `expTime` (dropped by the venue later).
    Expiry,
    /// The request id's digits after its prefix (`tw17` → `17`): Kraken v2's integer `req_id`.
    RequestNum,
    /// Decimal byte length of the body (the request's parts from `Layout::body` on): `Content-Length`,
    /// which changes with the numbers' and ids' lengths.
    BodyLen,
    /// 32 fresh random lower-case hex characters per fill (`nonce::fresh`), the same in the request
    /// and the signed text: Clarofinlore's `X-Nonce`.
    Nonce,
    /// Only in the request, outside the body: the template's JWT (`jwt::JwtSlot`) for the timestamp's
    /// seconds and a fresh 64-character nonce: Coinbase's `Authorization: Bearer` token.
    Jwt,
}

/// How the signature is written: lower-case hex (Binance, Bybit), padded base64 (OKX), padded base64
/// form-encoded for a query string (HTX: `+ / =` as `%2B %2F %3D`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigText {
    #[default]
    Hex,
    Base64,
    Base64Form,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit(Box<[u8]>),
    Slot(Slot),
}

/// The request's pieces and the signed text's pieces.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub out: Vec<Part>,
    pub signed: Vec<Part>,
    pub sig: SigText,
    /// Index in `out` where the body starts (what `Slot::BodyLen` measures).
    pub body: Option<usize>,
    /// Added to the timestamp for `Slot::Expiry`.
    pub expiry_ms: u64,
}

impl Layout {
    /// Overwrites every literal with zeros: they may hold a credential (OKX's passphrase header, a
    /// venue's bearer or WebSocket token), wiped when the template goes as the signer's key is.
    pub fn wipe(&mut self) {
        for p in self.out.iter_mut().chain(self.signed.iter_mut()) {
            if let Part::Lit(b) = p {
                b.zeroize();
            }
        }
    }

    /// Marks where the body starts: what comes next in `out` is the body. The marker is a part of its
    /// own, so `lit` does not merge the body's first bytes into the headers' literal.
    pub fn start_body(&mut self) {
        self.body = Some(self.out.len());
        self.out.push(Part::Lit(Box::default()));
    }

    /// Appends literal bytes to `parts`, merged with a literal before them.
    pub fn lit(parts: &mut Vec<Part>, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(Part::Lit(prev)) = parts.last_mut() {
            let mut v = prev.to_vec();
            v.extend_from_slice(bytes);
            prev.zeroize();
            *prev = v.into_boxed_slice();
        } else {
            parts.push(Part::Lit(bytes.into()));
        }
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        self.wipe();
    }
}

/// A template: its layout, the pre-keyed HMAC (none for a request the venue does not sign, as on a
/// logged-in socket) and the instrument's integer rules.
pub struct OrderTemplate {
    layout: Layout,
    key: Option<HmacKey>,
    rules: Rules,
    fixed_len: usize,
    /// Whether the request has a price at all (a market order has none).
    priced: bool,
    /// Whether any part is a derived timestamp form: `fill` writes only the forms the layout uses.
    iso_ms: bool,
    iso_s: bool,
    expiry: bool,
    /// The hex characters of the nonce `fill` draws (0: none; a nonce slot's 32, a JWT's 64).
    nonce: usize,
    /// The JWT a `Slot::Jwt` carries.
    jwt: Option<jwt::JwtSlot>,
    /// `Layout::body`'s literal bytes, summed once.
    body_fixed: usize,
}

/// The slot values of one fill, as text.
struct Values<'a> {
    price: &'a [u8],
    qty: &'a [u8],
    cid: &'a [u8],
    ts: &'a [u8],
    rid: &'a [u8],
    sig: &'a [u8],
    iso_ms: &'a [u8],
    iso_s: &'a [u8],
    exp: &'a [u8],
    body_len: &'a [u8],
    nonce: &'a [u8],
}

impl Values<'_> {
    #[inline(always)]
    fn get(&self, s: Slot) -> &[u8] {
        match s {
            Slot::Price => self.price,
            Slot::Qty => self.qty,
            Slot::ClientId => self.cid,
            Slot::Timestamp => self.ts,
            Slot::RequestId => self.rid,
            Slot::RequestNum => {
                let digits = self.rid.iter().take_while(|b| !b.is_ascii_digit()).count();
                &self.rid[digits..]
            }
            Slot::Signature => self.sig,
            Slot::IsoMillis => self.iso_ms,
            Slot::IsoSecondsForm => self.iso_s,
            Slot::Expiry => self.exp,
            Slot::BodyLen => self.body_len,
            Slot::Nonce => self.nonce,
            // Written straight into the request by `fill` (its length known only then).
            Slot::Jwt => &[],
        }
    }

    #[inline(always)]
    fn len(&self, parts: &[Part]) -> usize {
        parts.iter().map(|p| if let Part::Slot(s) = p { self.get(*s).len() } else { 0 }).sum()
    }
}

impl OrderTemplate {
    pub fn new(layout: Layout, key: HmacKey, rules: Rules) -> Result<Self, OrderError> {
        Self::build(layout, Some(key), None, rules)
    }

    /// A template whose request carries a JWT (`Slot::Jwt`, in the headers) and no other signature.
    pub fn with_jwt(layout: Layout, jwt: jwt::JwtSlot, rules: Rules) -> Result<Self, OrderError> {
        let out = &layout.out;
        if !layout.signed.is_empty() || out.contains(&Part::Slot(Slot::Signature)) {
            return Err(refuse("layout", "a JWT template has no other signed text or signature".into()));
        }
        let mut at = out.iter().enumerate().filter(|(_, p)| **p == Part::Slot(Slot::Jwt)).map(|(i, _)| i);
        let body = layout.body.unwrap_or(out.len());
        if !at.clone().any(|_| true) || !at.all(|i| i < body) {
            return Err(refuse("layout", "a JWT template carries its token outside the body".into()));
        }
        Self::build(layout, None, Some(jwt), rules)
    }

    /// A template whose request carries no signature (`layout.signed` empty, no signature slot).
    pub fn unsigned(layout: Layout, rules: Rules) -> Result<Self, OrderError> {
        if !layout.signed.is_empty() || layout.out.contains(&Part::Slot(Slot::Signature)) {
            return Err(refuse("layout", "an unsigned template has no signed text or signature".into()));
        }
        Self::build(layout, None, None, rules)
    }

    fn build(
        layout: Layout,
        key: Option<HmacKey>,
        jwt: Option<jwt::JwtSlot>,
        rules: Rules,
    ) -> Result<Self, OrderError> {
        if rules.price_scale > MAX_SCALE || rules.qty_scale > MAX_SCALE {
            return Err(refuse("scale", format!("scales above {MAX_SCALE} decimals are not supported")));
        }
        if layout.signed.contains(&Part::Slot(Slot::Signature)) {
            return Err(refuse("layout", "the signed text cannot contain the signature".into()));
        }
        let lits = |parts: &[Part]| -> usize {
            parts.iter().map(|p| if let Part::Lit(b) = p { b.len() } else { 0 }).sum()
        };
        let has = |s: Slot| layout.out.contains(&Part::Slot(s)) || layout.signed.contains(&Part::Slot(s));
        let body_fixed = match layout.body {
            Some(at) if at <= layout.out.len() => lits(&layout.out[at..]),
            Some(_) => return Err(refuse("layout", "the body starts past the request's end".into())),
            None if has(Slot::BodyLen) => {
                return Err(refuse("layout", "a body length slot needs the body's start".into()))
            }
            None => 0,
        };
        if layout.body.is_some_and(|at| layout.out[at..].contains(&Part::Slot(Slot::BodyLen))) {
            return Err(refuse("layout", "the body cannot contain its own length".into()));
        }
        if jwt.is_none() && has(Slot::Jwt) {
            return Err(refuse(
                "layout",
                "a JWT slot needs the template's token (OrderTemplate::with_jwt)".into(),
            ));
        }
        Ok(Self {
            fixed_len: lits(&layout.out),
            priced: layout.out.contains(&Part::Slot(Slot::Price)),
            iso_ms: has(Slot::IsoMillis),
            iso_s: has(Slot::IsoSecondsForm),
            expiry: has(Slot::Expiry),
            nonce: match (&jwt, has(Slot::Nonce)) {
                (Some(_), _) => nonce::JWT_NONCE_LEN,
                (None, true) => nonce::NONCE_LEN,
                (None, false) => 0,
            },
            jwt,
            body_fixed,
            layout,
            key,
            rules,
        })
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The instrument's rules applied to a price and quantity mantissa, as integers.
    #[inline]
    pub fn check(&self, price: u64, qty: u64) -> Result<(), OrderError> {
        self.rules.check(price, qty, self.priced)
    }

    /// Whether the request (or the signed text) carries the time in any form.
    pub fn stamped(&self) -> bool {
        let stamps = [Slot::Timestamp, Slot::IsoMillis, Slot::IsoSecondsForm, Slot::Expiry, Slot::Jwt];
        self.layout
            .out
            .iter()
            .chain(&self.layout.signed)
            .any(|p| matches!(p, Part::Slot(s) if stamps.contains(s)))
    }

    /// Whether the request carries a price (`false`: a market order; `fill` ignores its `price`).
    pub fn priced(&self) -> bool {
        self.priced
    }

    /// Checks, fills, signs: the whole request in `out` (cleared first). On an error `out` is left
    /// empty. `request_id` is used only by layouts with a request id slot, `price` only by priced ones;
    /// a nonce slot or a JWT gets a fresh random nonce.
    #[inline]
    pub fn fill(
        &self,
        price: u64,
        qty: u64,
        client_id: &str,
        timestamp_ms: u64,
        request_id: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), OrderError> {
        self.fill_with_nonce(price, qty, client_id, timestamp_ms, request_id, None, out)
    }

    /// `fill` with the nonce given (`Some`: the build-time proof's fixed one, so its bytes can equal
    /// the slow path's) instead of a fresh one.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn fill_with_nonce(
        &self,
        price: u64,
        qty: u64,
        client_id: &str,
        timestamp_ms: u64,
        request_id: &str,
        nonce: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<(), OrderError> {
        out.clear();
        self.check(price, qty)?;
        check_id("client id", client_id)?;
        check_id("request id", request_id)?;
        if (self.iso_ms || self.iso_s) && timestamp_ms > LAST_ISO_MS {
            // Four year digits, as the venues' format has them; a stamp past them is not in ms.
            return Err(refuse("timestamp", format!("{timestamp_ms} is past year 9999: the stamp is in ms")));
        }
        let mut nb = [0u8; nonce::JWT_NONCE_LEN];
        let nonce: &[u8] = match nonce {
            _ if self.nonce == 0 => &[],
            Some(n) => {
                check_id("nonce", n)?;
                n.as_bytes()
            }
            None => {
                let nb = &mut nb[..self.nonce];
                nonce::fresh(nb).map_err(|e| refuse("nonce", format!("no entropy for a nonce: {e}")))?;
                nb
            }
        };
        let (mut pb, mut qb, mut tb) = ([0u8; 48], [0u8; 48], [0u8; 48]);
        let (mut ib, mut sb, mut eb, mut lb) = ([0u8; 48], [0u8; 48], [0u8; 48], [0u8; 48]);
        let pn = if self.priced { decimal_text(price, self.rules.price_scale, &mut pb) } else { 0 };
        let qn = decimal_text(qty, self.rules.qty_scale, &mut qb);
        let tn = decimal_text(timestamp_ms, 0, &mut tb);
        let iso_n = if self.iso_ms { iso_text(timestamp_ms, true, &mut ib) } else { 0 };
        let iso_s_n = if self.iso_s { iso_text(timestamp_ms, false, &mut sb) } else { 0 };
        let en = if self.expiry {
            decimal_text(timestamp_ms.saturating_add(self.layout.expiry_ms), 0, &mut eb)
        } else {
            0
        };
        let mut vals = Values {
            price: &pb[..pn],
            qty: &qb[..qn],
            cid: client_id.as_bytes(),
            ts: &tb[..tn],
            rid: request_id.as_bytes(),
            sig: &[],
            iso_ms: &ib[..iso_n],
            iso_s: &sb[..iso_s_n],
            exp: &eb[..en],
            body_len: &[],
            nonce,
        };
        // Room for the longest form: a 64-byte MAC as base64 (88) with every character form-encoded.
        let mut sig = [0u8; 3 * 88];
        if let Some(key) = &self.key {
            let mut mac = key.start();
            for p in &self.layout.signed {
                match p {
                    Part::Lit(b) => mac.update(b),
                    Part::Slot(s) => mac.update(vals.get(*s)),
                };
            }
            let tag = mac.finish();
            let n = match self.layout.sig {
                SigText::Hex => encode::hex_into(tag.as_bytes(), &mut sig),
                SigText::Base64 => encode::b64_into(tag.as_bytes(), &mut sig),
                SigText::Base64Form => {
                    let n = encode::b64_into(tag.as_bytes(), &mut sig);
                    encode::pct_b64_in_place(&mut sig, n)
                }
            };
            vals.sig = &sig[..n];
        }
        let bn = match self.layout.body {
            Some(at) => decimal_text((self.body_fixed + vals.len(&self.layout.out[at..])) as u64, 0, &mut lb),
            None => 0,
        };
        vals.body_len = &lb[..bn];
        let jwt_room = self.jwt.as_ref().map_or(0, jwt::JwtSlot::max_len);
        out.reserve_exact(self.fixed_len + vals.len(&self.layout.out) + jwt_room);
        for p in &self.layout.out {
            match p {
                Part::Lit(b) => out.extend_from_slice(b),
                Part::Slot(Slot::Jwt) => {
                    if let Some(j) = &self.jwt {
                        let at = out.len();
                        out.resize(at + jwt_room, 0);
                        let n = j.write(timestamp_ms / 1000, nonce, &mut out[at..]);
                        out.truncate(at + n);
                    }
                }
                Part::Slot(s) => out.extend_from_slice(vals.get(*s)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
