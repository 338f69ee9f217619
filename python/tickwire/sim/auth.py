"""Signature checks done the way the venues' servers do them, independently of tickwire's Rust signers.

Only the standard library (hmac, hashlib, base64) and the ``cryptography`` package are used, so a bug
in tickwire's signers cannot hide itself by being mirrored here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils


@dataclass
class ApiKey:
    """A key the simulated venue knows. Exactly one of ``secret`` (HMAC) or ``public_key`` (PEM)."""

    key: str
    secret: bytes | None = field(default=None, repr=False)
    public_key: bytes | None = None
    # The account the key trades for, when it is not the key's own: a second key of one account (the
    # new key of a rotation). Orders, balances and private streams are the account's.
    account: str | None = None

    @property
    def owner(self) -> str:
        return self.account or self.key

    @property
    def kind(self) -> str:
        if self.secret is not None:
            return "hmac"
        pk = self._public()
        return "ed25519" if isinstance(pk, ed25519.Ed25519PublicKey) else "rsa"

    def _public(self) -> object:
        assert self.public_key is not None
        return serialization.load_pem_public_key(self.public_key)


def split_signature(params: str) -> tuple[str, str | None]:
    """Remove ``signature=…`` from a query/body string, keeping every other byte as sent."""
    kept: list[str] = []
    sig: str | None = None
    for part in params.split("&") if params else []:
        if part.startswith("signature="):
            sig = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), sig


def binance_rest_payload(raw_query: str, body: bytes) -> tuple[bytes, str | None]:
    """Binance REST: the query string concatenated with the body, without the signature parameter."""
    q, sig_q = split_signature(raw_query)
    b, sig_b = split_signature(body.decode("latin-1"))
    return (q + b).encode("latin-1"), sig_q or sig_b


def verify_binance(key: ApiKey, payload: bytes, signature: str) -> bool:
    """HMAC-SHA256 hex (case-insensitive), or Ed25519 / RSA PKCS#1 v1.5 SHA-256 in percent-encoded base64."""
    if key.secret is not None:
        want = hmac.new(key.secret, payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want.encode(), signature.lower().encode("utf-8", "replace"))
    try:
        raw = base64.b64decode(unquote(signature), validate=True)
    except (binascii.Error, ValueError):
        return False
    pk = key._public()
    try:
        if isinstance(pk, ed25519.Ed25519PublicKey):
            pk.verify(raw, payload)
        elif isinstance(pk, rsa.RSAPublicKey):
            pk.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def cloud9_signature(secret_b64: str, path: str, nonce: str) -> str:
    """Cloud9Trader upgrade header: hex HMAC-SHA256 keyed with the base64-decoded secret over path+nonce."""
    key = base64.b64decode(secret_b64)
    return hmac.new(key, (path + nonce).encode(), hashlib.sha256).hexdigest()


def kraken_api_sign(secret_b64: str, path: str, nonce: str, body: bytes) -> str:
    """Kraken REST API-Sign: base64(HMAC-SHA512(b64decode(secret), path + SHA256(nonce + body)))."""
    digest = hashlib.sha256(nonce.encode() + body).digest()
    mac = hmac.new(base64.b64decode(secret_b64), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def okx_sign(secret: str, prehash: str) -> str:
    """OKX: base64(HMAC-SHA256(secret as UTF-8, timestamp + METHOD + requestPath + body))."""
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison that tolerates non-ASCII input (it is then simply unequal)."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def hmac_hex(secret: str, payload: str) -> str:
    """Lowercase hex HMAC-SHA256 keyed with the secret's UTF-8 bytes (Bybit, Clarofinlore)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def htx_presign(method: str, host: str, path: str, params: list[tuple[str, str]]) -> str:
    """HTX Signature V2/V2.1 text: METHOD, lowercase host, path, then the parameters sorted by name,
    URL-encoded and joined with '&' (each on its own line)."""
    q = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(params))
    return f"{method.upper()}\n{host.lower()}\n{path}\n{q}"


def hmac_b64(secret: str, payload: str) -> str:
    """base64 HMAC-SHA256 keyed with the secret's UTF-8 bytes (HTX)."""
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(token: str, public_keys: dict[str, bytes], now_s: float) -> dict[str, Any] | None:
    """Verify a Coinbase CDP JWT (ES256 or EdDSA) against the PEM public key named by ``kid``.

    Returns the claims when the signature, ``kid``/``sub`` match, ``iss`` is ``cdp`` and the time
    window (``nbf`` .. ``exp``) holds; None otherwise.
    """
    try:
        h64, p64, s64 = token.split(".")
        header, claims = json.loads(_b64url(h64)), json.loads(_b64url(p64))
        sig = _b64url(s64)
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    pem = public_keys.get(str(header.get("kid")))
    if pem is None or claims.get("sub") != header.get("kid") or claims.get("iss") != "cdp":
        return None
    signed = f"{h64}.{p64}".encode()
    pk = serialization.load_pem_public_key(pem)
    try:
        if header.get("alg") == "ES256" and isinstance(pk, ec.EllipticCurvePublicKey) and len(sig) == 64:
            der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            pk.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        elif header.get("alg") == "EdDSA" and isinstance(pk, ed25519.Ed25519PublicKey):
            pk.verify(sig, signed)
        else:
            return None
    except InvalidSignature:
        return None
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if not isinstance(nbf, int | float) or not isinstance(exp, int | float) or not nbf - 1 <= now_s < exp:
        return None
    return claims
