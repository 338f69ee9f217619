"""What every venue signer shares: secrets never in repr/str/errors, no pickling or copying, the
signature methods are the Rust ones (no Python wrapper frame), and from_env names missing variables."""

from __future__ import annotations

import base64
import copy
import functools
import logging
import pickle
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tickwire import _core
from tickwire.auth import Credentials, HmacKey
from tickwire.errors import CredentialsError, SigningKeyError
from tickwire.venues import binance, bybit, clarofinlore, cloud9trader, coinbase, htx, kraken, okx

SECRET = "s3cr3t-DO-NOT-LEAK-0123456789abcdef"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()
EC_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)

VENUES: dict[str, Any] = {
    "binance": binance,
    "okx": okx,
    "bybit": bybit,
    "kraken": kraken,
    "htx": htx,
    "coinbase": coinbase,
    "cloud9trader": cloud9trader,
    "clarofinlore": clarofinlore,
}


def make(venue: str, api_key: str = "api-key-visible", secret: str | None = None) -> Any:
    """A signer for ``venue`` holding SECRET (base64 where the venue wants it, the EC key for Coinbase)."""
    if secret is None:
        secret = {"kraken": SECRET_B64, "cloud9trader": SECRET_B64, "coinbase": EC_PEM}.get(venue, SECRET)
    if venue == "okx":
        return okx.Signer(api_key, secret, SECRET + "-pass")
    return VENUES[venue].Signer(api_key, secret)


MAKERS: dict[str, Any] = {venue: functools.partial(make, venue) for venue in VENUES}


@pytest.mark.parametrize("venue", sorted(MAKERS))
def test_secrets_stay_out_of_repr_and_str(venue: str) -> None:
    s = MAKERS[venue]()
    pem_line = EC_PEM.splitlines()[1]
    for text in (repr(s), str(s)):
        assert SECRET not in text and SECRET_B64 not in text and pem_line not in text
        assert "api-key-visible" not in text  # the API key is shown masked
        assert "api-" in text


@pytest.mark.parametrize("venue", sorted(MAKERS))
def test_signers_cannot_be_pickled_or_copied(venue: str) -> None:
    s = MAKERS[venue]()
    for attempt in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="cannot be pickled or copied"):
            attempt(s)


@pytest.mark.parametrize(
    ("make", "leak"),
    [
        (lambda: kraken.Signer("k", SECRET + "!"), SECRET),
        (lambda: cloud9trader.Signer("k", SECRET + "!"), SECRET),
        (lambda: coinbase.Signer("k", SECRET), SECRET),
        (lambda: binance.Signer("k", private_key_pem=SECRET), SECRET),
        (lambda: coinbase.Signer("k", EC_PEM.replace("A", "*")), EC_PEM.splitlines()[1][:20]),
    ],
)
def test_construction_errors_do_not_echo_the_secret(make: Any, leak: str) -> None:
    with pytest.raises(SigningKeyError) as e:
        make()
    assert leak not in str(e.value) and leak not in repr(e.value)


@pytest.mark.parametrize("venue", sorted(MAKERS))
def test_empty_secret_or_api_key_is_a_typed_error(venue: str) -> None:
    with pytest.raises(SigningKeyError, match="the secret is empty"):
        make(venue, secret="")
    # An empty API key would only fail later at the venue with an opaque 401: refused up front.
    with pytest.raises(SigningKeyError, match="the API key is empty"):
        make(venue, api_key="")


@pytest.mark.parametrize(
    ("cls", "method"),
    [
        (binance.Signer, "rest_signature"),
        (okx.Signer, "rest_signature"),
        (bybit.Signer, "rest_signature"),
        (kraken.Signer, "rest_signature"),
        (htx.Signer, "rest_signature"),
        (coinbase.Signer, "rest_jwt"),
        (cloud9trader.Signer, "signature"),
        (clarofinlore.Signer, "signature"),
    ],
)
def test_hot_methods_are_the_rust_methods(cls: type, method: str) -> None:
    assert method not in vars(cls)  # not overridden in Python
    assert any(getattr(base, method, None) is getattr(cls, method) for base in vars(_core).values())


@pytest.mark.parametrize(
    ("signer", "prefix"),
    [
        (binance.Signer, "BINANCE"),
        (okx.Signer, "OKX"),
        (bybit.Signer, "BYBIT"),
        (kraken.Signer, "KRAKEN"),
        (htx.Signer, "HTX"),
        (coinbase.Signer, "COINBASE"),
        (cloud9trader.Signer, "CLOUD9TRADER"),
        (clarofinlore.Signer, "CLAROFINLORE"),
    ],
)
def test_from_env_names_the_missing_variable(
    signer: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for suffix in ("API_KEY", "API_SECRET", "PASSPHRASE", "PRIVATE_KEY_PEM", "PRIVATE_KEY_PATH"):
        monkeypatch.delenv(f"{prefix}_{suffix}", raising=False)
    with pytest.raises(CredentialsError, match=f"{prefix}_API_KEY"):
        signer.from_env()
    monkeypatch.setenv(f"{prefix}_API_KEY", "k")
    with pytest.raises(CredentialsError, match=f"{prefix}_API_SECRET"):
        signer.from_env()


BAD_PEM = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"
# A construction that fails on input holding the secret (venues whose secret is any non-empty text
# cannot fail on it, so they get a secret-bearing bad base64 secret for the generic HMAC key).
BAD_SECRET_MAKERS: dict[str, Any] = {
    "binance": lambda: binance.Signer("k", private_key_pem=BAD_PEM),
    "coinbase": lambda: coinbase.Signer("k", BAD_PEM),
    "kraken": lambda: kraken.Signer("k", SECRET + "!"),
    "cloud9trader": lambda: cloud9trader.Signer("k", SECRET + "!"),
    **dict.fromkeys(
        ["okx", "bybit", "htx", "clarofinlore"], lambda: HmacKey(SECRET + "!", secret_is_base64=True)
    ),
}


def _exercise(venue: str, s: Any) -> None:
    if venue == "cloud9trader":
        s.upgrade_headers("/")
    else:
        s.sign_request("POST", "/p", {"a": "1"}, body='{"b":2}')


@pytest.mark.parametrize("venue", sorted(MAKERS))
def test_secrets_stay_out_of_logs(venue: str, caplog: pytest.LogCaptureFixture) -> None:
    """Everything tickwire (or a caller formatting our objects and errors) logs while signing, loading
    credentials and failing on a bad key, at DEBUG on every logger, tracebacks included."""
    log = logging.getLogger("tickwire.test")
    prefix = venue.upper()
    env = {f"{prefix}_API_KEY": "api-key-visible", f"{prefix}_API_SECRET": SECRET}
    env[f"{prefix}_PASSPHRASE"] = SECRET + "-pass"
    env[f"{prefix}_PRIVATE_KEY_PEM"] = EC_PEM
    with caplog.at_level(logging.DEBUG):
        s = MAKERS[venue]()
        _exercise(venue, s)
        log.debug("signer %s %r", s, s)
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            log.debug("credentials %s", Credentials.from_env(prefix))
        try:
            BAD_SECRET_MAKERS[venue]()
        except SigningKeyError:
            log.exception("construction failed")
    text = caplog.text
    assert "construction failed" in text and "api-" in text  # the log really was captured
    for leak in (SECRET, SECRET_B64, EC_PEM.splitlines()[1]):
        assert leak not in text


SIGNS_REQUESTS = sorted(v for v in VENUES if hasattr(VENUES[v].Signer, "sign_request"))


@pytest.mark.parametrize("venue", SIGNS_REQUESTS)
@pytest.mark.parametrize("method", [None, 5, b"GET"])
def test_sign_request_refuses_a_method_that_is_not_a_str(venue: str, method: object) -> None:
    s = MAKERS[venue]()
    with pytest.raises(TypeError, match="method must be a str"):
        s.sign_request(method, "/api/v1/order", {"symbol": "X"})


@pytest.mark.parametrize("venue", SIGNS_REQUESTS)
@pytest.mark.parametrize("method", ["", "GET /x", "G3T", "GÉT"])
def test_sign_request_refuses_text_that_is_no_http_method(venue: str, method: str) -> None:
    s = MAKERS[venue]()
    with pytest.raises(ValueError, match="method must be an HTTP method"):
        s.sign_request(method, "/api/v1/order", {"symbol": "X"})
    # The same call with a real method signs (auth in the headers, or in the query for Binance and HTX).
    signed = s.sign_request("GET", "/api/v1/order", {"symbol": "X"}, timestamp=1_700_000_000_000)
    assert signed.headers or "ignature" in signed.query
