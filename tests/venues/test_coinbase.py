"""Coinbase JWTs decoded and verified with PyJWT + `cryptography` (ES256 signatures are randomised in
the SDK and nonces are random, so there is no fixed-output vector)."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from tickwire.errors import SigningKeyError
from tickwire.venues import coinbase

KEY_NAME = "organizations/0a1b2c3d/apiKeys/4e5f6a7b"


def _pem(key: Any, fmt: serialization.PrivateFormat) -> str:
    return str(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode())


def _public_pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _keys() -> list[tuple[str, Any, str]]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    seed = ed_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return [
        (
            "ES256",
            ec_key,
            _pem(ec_key, serialization.PrivateFormat.TraditionalOpenSSL),
        ),  # SEC1, as CDP issues
        ("ES256", ec_key, _pem(ec_key, serialization.PrivateFormat.PKCS8)),
        ("EdDSA", ed_key, _pem(ed_key, serialization.PrivateFormat.PKCS8)),
        ("EdDSA", ed_key, base64.b64encode(seed).decode()),  # raw 32-byte seed
        ("EdDSA", ed_key, base64.b64encode(seed + pub).decode()),  # raw 64-byte seed || public key
    ]


_FORMS = ["ec-sec1", "ec-pkcs8", "ed-pkcs8", "ed-seed32", "ed-seed64"]


# Ids name the key's form, not its (random) value, so every collection names the same tests.
@pytest.mark.parametrize(("alg", "key", "secret"), _keys(), ids=_FORMS)
def test_rest_jwt_verifies_and_has_the_sdk_shape(alg: str, key: Any, secret: str) -> None:
    s = coinbase.Signer(KEY_NAME, secret)
    assert s.alg == alg
    now = int(time.time())
    token = s.rest_jwt("get", "api.coinbase.com", "/api/v3/brokerage/accounts")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg and header["kid"] == KEY_NAME and header["typ"] == "JWT"
    assert len(header["nonce"]) == 64 and int(header["nonce"], 16) >= 0
    claims = jwt.decode(token, _public_pem(key), algorithms=[alg])
    assert claims["sub"] == KEY_NAME and claims["iss"] == "cdp"
    assert abs(claims["nbf"] - now) <= 2 and claims["exp"] == claims["nbf"] + 120
    assert claims["uri"] == "GET api.coinbase.com/api/v3/brokerage/accounts"
    # Also verifiable with the public key the signer reports.
    jwt.decode(token, s.public_key_pem().encode(), algorithms=[alg])


@pytest.mark.parametrize(("alg", "key", "secret"), _keys()[::2], ids=_FORMS[::2])
def test_ws_jwt_has_no_uri_and_fresh_nonces(alg: str, key: Any, secret: str) -> None:
    s = coinbase.Signer(KEY_NAME, secret)
    a, b = s.ws_jwt(), s.ws_jwt()
    claims = jwt.decode(a, _public_pem(key), algorithms=[alg])
    assert "uri" not in claims and claims["sub"] == KEY_NAME
    assert jwt.get_unverified_header(a)["nonce"] != jwt.get_unverified_header(b)["nonce"]


def test_explicit_time_and_nonce_and_sign_request() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    s = coinbase.Signer(
        KEY_NAME, _pem(key, serialization.PrivateFormat.TraditionalOpenSSL), clock=lambda: 1_700_000_000_999
    )
    req = s.sign_request("POST", "/api/v3/brokerage/orders", body='{"a":1}')
    token = req.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, _public_pem(key), algorithms=["ES256"], options={"verify_exp": False})
    assert claims["nbf"] == 1_700_000_000 and claims["uri"] == "POST api.coinbase.com/api/v3/brokerage/orders"
    t = s.ws_jwt(now=5, nonce="ab" * 32)
    assert jwt.get_unverified_header(t)["nonce"] == "ab" * 32
    assert (
        jwt.decode(
            t, _public_pem(key), algorithms=["ES256"], options={"verify_exp": False, "verify_nbf": False}
        )["nbf"]
        == 5
    )


def test_key_name_is_json_escaped() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    name = 'weird "name"\\\n'
    s = coinbase.Signer(name, _pem(key, serialization.PrivateFormat.PKCS8))
    token = s.ws_jwt()
    assert jwt.get_unverified_header(token)["kid"] == name
    assert jwt.decode(token, _public_pem(key), algorithms=["EdDSA"])["sub"] == name


def test_bad_keys() -> None:
    rsa_pem = _pem(
        rsa.generate_private_key(public_exponent=65537, key_size=2048), serialization.PrivateFormat.PKCS8
    )
    with pytest.raises(SigningKeyError, match="expected an EC P-256 or Ed25519 key, got an RSA key"):
        coinbase.Signer(KEY_NAME, rsa_pem)
    with pytest.raises(SigningKeyError, match="32 or 64 bytes, got 3"):
        coinbase.Signer(KEY_NAME, "AAAA")
    ed = ed25519.Ed25519PrivateKey.generate()
    seed = ed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match="public half does not match"):
        coinbase.Signer(KEY_NAME, base64.b64encode(seed + b"\0" * 32).decode())
    with pytest.raises(SigningKeyError) as e:
        coinbase.Signer(KEY_NAME, "@@" + base64.b64encode(seed).decode())
    assert base64.b64encode(seed).decode() not in str(e.value)
