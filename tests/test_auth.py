"""tickwire.auth: HmacKey against Python's hmac, the asymmetric keys against `cryptography`, published
vectors, bad input, and the secret-handling guarantees (no leaks in repr/errors, no pickling)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import pickle
import re
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_files import shared_path
from tickwire import auth
from tickwire.auth import Credentials, EcdsaP256Key, Ed25519Key, HmacKey, RsaKey, SignedRequest, encode_params
from tickwire.errors import CredentialsError, SigningKeyError

BINANCE_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
# RFC 8032 §7.1 TEST 1 (also ../shared/specs/venues.md §8).
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_SIG = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b"
)

utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
DIGESTS = ["sha256", "sha384", "sha512"]


def _pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    return str(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


# --- HmacKey ------------------------------------------------------------------------------------


def test_binance_published_vectors_via_hmac_key() -> None:
    k = HmacKey(BINANCE_SECRET)
    assert (
        k.hexdigest(
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
            "&timestamp=1499827319559"
        )
        == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    assert k.hexdigest("timestamp=1578963600000") == (
        "d84e6641b1e328e7b418fff030caed655c266299c9355e36ce801ed14631eed4"
    )


def _spec_vectors() -> list[tuple[str, list[str], str]]:
    """Rows of the venues.md §8 table: (what, backticked inputs, expected)."""
    text = shared_path("specs", "venues.md").read_text()
    section = text.split("## 8. Published test vectors", 1)[1]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| venue") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[0], re.findall(r"`([^`]*)`", cells[1]), cells[2].strip("`").split("`")[0]))
    return rows


def test_vectors_read_from_the_shared_spec() -> None:
    """The §8 vectors as the spec states them today (guards against a stale copy in our tests)."""
    checked = 0
    for what, inputs, expected in _spec_vectors():
        if what.startswith("Binance REST"):
            secret, payload = inputs
            assert HmacKey(secret).hexdigest(payload) == expected
        elif what.startswith("Binance HMAC"):
            assert HmacKey(BINANCE_SECRET).hexdigest(inputs[0]) == expected
        elif what.startswith("Kraken"):
            from tickwire.venues import kraken

            secret, nonce, body, path = inputs
            assert kraken.Signer("k", secret).rest_signature(path, nonce, body) == expected
        elif what.startswith("Ed25519"):
            assert Ed25519Key.from_seed(bytes.fromhex(inputs[0])).sign(b"").hex() == expected
        else:
            continue  # OKX/Bitfinex checksums belong to the book module
        checked += 1
    assert checked == 4


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=300),
    msg=st.binary(max_size=700),
    digest=st.sampled_from(DIGESTS),
    kind=st.sampled_from(["bytes", "bytearray", "memoryview"]),
)
def test_hmac_key_equals_python_hmac_on_bytes_like(key: bytes, msg: bytes, digest: str, kind: str) -> None:
    want = hmac.new(key, msg, getattr(hashlib, digest))
    m: Any = {"bytes": msg, "bytearray": bytearray(msg), "memoryview": memoryview(msg)}[kind]
    k = HmacKey(key, digest)
    assert k.hexdigest(m) == want.hexdigest()
    assert k.digest(m) == want.digest()
    assert k.b64digest(m) == base64.b64encode(want.digest()).decode()
    assert k.digest_size == want.digest_size


@settings(max_examples=200, deadline=None)
@given(key=utf8_text.filter(bool), msg=utf8_text, digest=st.sampled_from(DIGESTS))
def test_hmac_key_equals_python_hmac_on_str(key: str, msg: str, digest: str) -> None:
    want = hmac.new(key.encode(), msg.encode(), getattr(hashlib, digest)).hexdigest()
    assert HmacKey(key, digest).hexdigest(msg) == want


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(min_size=1, max_size=200), msg=st.binary(max_size=300), urlsafe=st.booleans())
def test_base64_secret_is_decoded(raw: bytes, msg: bytes, urlsafe: bool) -> None:
    enc = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    assert (
        HmacKey(enc, secret_is_base64=True).hexdigest(msg) == hmac.new(raw, msg, hashlib.sha256).hexdigest()
    )


def test_non_contiguous_and_non_bytes_messages_are_type_errors() -> None:
    k = HmacKey("s")
    with pytest.raises(TypeError):
        k.hexdigest(memoryview(b"abcdef")[::2])
    with pytest.raises(TypeError):
        k.hexdigest(12345)  # type: ignore[arg-type]


def test_digest_names() -> None:
    assert HmacKey("s", "SHA-512").digest_name == "sha512"
    with pytest.raises(SigningKeyError, match='unknown digest "md5"'):
        HmacKey("s", "md5")


# --- asymmetric keys ----------------------------------------------------------------------------


def test_ed25519_rfc8032_test_1() -> None:
    k = Ed25519Key.from_seed(RFC8032_SEED)
    assert k.sign(b"").hex() == RFC8032_SIG
    assert k.public_key_bytes().hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


# RFC 8032 §7.1 TEST 2 and TEST 3: (seed, public key, message, signature).
RFC8032_MORE = [
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("seed", "public", "msg", "sig"), RFC8032_MORE)
def test_ed25519_rfc8032_tests_2_and_3(seed: str, public: str, msg: str, sig: str) -> None:
    ours = Ed25519Key.from_seed(bytes.fromhex(seed))
    assert ours.public_key_bytes().hex() == public
    assert ours.sign(bytes.fromhex(msg)).hex() == sig
    # The same seed through a PKCS#8 PEM written by `cryptography` gives the same key.
    theirs = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    assert Ed25519Key.from_pem(_pem(theirs)).sign(bytes.fromhex(msg)).hex() == sig


# RFC 6979 §A.2.5: P-256 key, SHA-256, deterministic k. Messages "sample" and "test"; raw r || s.
RFC6979_P256_X = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC6979_P256_U = (
    0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6,
    0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299,
)


@pytest.mark.parametrize(
    ("msg", "r", "s"),
    [
        (
            b"sample",
            "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
            "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
        ),
        (
            b"test",
            "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
            "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
        ),
    ],
)
def test_ecdsa_p256_rfc6979_vectors(msg: bytes, r: str, s: str) -> None:
    key = ec.derive_private_key(RFC6979_P256_X, ec.SECP256R1())
    nums = key.public_key().public_numbers()
    assert (nums.x, nums.y) == RFC6979_P256_U
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        assert EcdsaP256Key.from_pem(_pem(key, fmt)).sign(msg).hex() == (r + s).lower()


@settings(max_examples=50, deadline=None)
@given(msg=st.binary(max_size=500))
def test_ed25519_signatures_verify_with_cryptography(ed_key: ed25519.Ed25519PrivateKey, msg: bytes) -> None:
    ours = Ed25519Key.from_pem(_pem(ed_key))
    sig = ours.sign(msg)
    ed_key.public_key().verify(sig, msg)
    assert sig == ed_key.sign(msg)  # Ed25519 is deterministic: the very same bytes
    pub = serialization.load_pem_public_key(ours.public_key_pem().encode())
    assert (
        pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        == ours.public_key_bytes()
    )


@settings(max_examples=10, deadline=None)
@given(msg=st.binary(max_size=300))
def test_rsa_signatures_equal_cryptography_pkcs1v15(rsa_key: rsa.RSAPrivateKey, msg: bytes) -> None:
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        sig = RsaKey.from_pem(_pem(rsa_key, fmt)).sign(msg)
        # PKCS#1 v1.5 is deterministic, so the independent implementation must give the same bytes.
        assert sig == rsa_key.sign(msg, padding.PKCS1v15(), hashes.SHA256())


@settings(max_examples=30, deadline=None)
@given(msg=st.binary(max_size=300))
def test_ecdsa_signatures_verify_with_cryptography(ec_key: ec.EllipticCurvePrivateKey, msg: bytes) -> None:
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        ours = EcdsaP256Key.from_pem(_pem(ec_key, fmt))
        sig = ours.sign(msg)
        assert len(sig) == 64
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        ec_key.public_key().verify(der, msg, ec.ECDSA(hashes.SHA256()))
        pub = serialization.load_pem_public_key(ours.public_key_pem().encode())
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        with pytest.raises(InvalidSignature):
            pub.verify(der, msg + b"x", ec.ECDSA(hashes.SHA256()))


# --- bad input ----------------------------------------------------------------------------------


def test_wrong_key_types_name_both_types(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    with pytest.raises(SigningKeyError, match="expected an Ed25519 key, got an RSA key"):
        Ed25519Key.from_pem(_pem(rsa_key))
    with pytest.raises(SigningKeyError, match="expected an RSA key, got an EC P-256 key"):
        RsaKey.from_pem(_pem(ec_key))
    with pytest.raises(SigningKeyError, match="expected an EC P-256 key, got an Ed25519 key"):
        EcdsaP256Key.from_pem(_pem(ed_key))
    other_curve = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(SigningKeyError, match="curve other than P-256"):
        EcdsaP256Key.from_pem(_pem(other_curve))


def test_public_key_pem_is_refused_as_private(ed_key: ed25519.Ed25519PrivateKey) -> None:
    pub = ed_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(SigningKeyError, match="public key"):
        Ed25519Key.from_pem(pub)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Ed25519Key.from_pem("not a pem at all"), "no '-----BEGIN"),
        (lambda: RsaKey.from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "PEM"),
        (lambda: Ed25519Key.from_seed(b"\x01" * 31), "32 bytes, got 31"),
        (lambda: HmacKey(""), "the secret is empty"),
        (lambda: HmacKey(b""), "the secret is empty"),
        (lambda: HmacKey("***", secret_is_base64=True), "not valid base64"),
        (lambda: HmacKey("abcde", secret_is_base64=True), "not valid base64"),
        (lambda: HmacKey("s", "sha1"), "unknown digest"),
    ],
)
def test_bad_keys_raise_signing_key_error(make: Any, message: str) -> None:
    with pytest.raises(SigningKeyError, match=re.escape(message)):
        make()


def test_signing_key_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        HmacKey("")


# --- secrets stay secret ------------------------------------------------------------------------

SECRET = "s3cr3t-DO-NOT-LEAK-9f8e7d"


def test_repr_and_str_never_show_the_secret(ed_key: ed25519.Ed25519PrivateKey) -> None:
    pem = _pem(ed_key)
    body = pem.splitlines()[1]
    for obj in (HmacKey(SECRET), Ed25519Key.from_pem(pem), Ed25519Key.from_seed(RFC8032_SEED)):
        for text in (repr(obj), str(obj)):
            assert SECRET not in text
            assert body not in text
            assert RFC8032_SEED.hex() not in text


def test_a_signed_requests_repr_shows_no_credential_its_headers_carry(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    """``sign_request``'s answer, printed: OKX sends its passphrase as a header, Coinbase a bearer JWT
    and Tradefence its access token (each a credential for as long as it lives), and signatures ride
    in headers or the query. The repr keeps the rest (the timestamp, the parameters)."""
    from tickwire.venues import binance, coinbase, okx, tradefence

    phrase, token = "PASS-phrase-never-seen", "tf-ACCESS-token-never-seen"
    signed = [
        (
            okx.Signer("okx-key", SECRET, phrase).sign_request("GET", "/api/v5/account/balance"),
            "OK-ACCESS-TIMESTAMP",
        ),
        (coinbase.Signer("organizations/o/apiKeys/k", _pem(ec_key)).sign_request("GET", "/api/v3/x"), ""),
        (
            tradefence.Signer("cid", SECRET, access_token=token).sign_request("GET", "/v1/orders", {"a": 1}),
            "a=1",
        ),
        (
            binance.Signer("binance-key", BINANCE_SECRET).sign_request(
                "GET", "/api/v3/account", {"symbol": "BTCUSDT"}
            ),
            "symbol=BTCUSDT",
        ),
    ]
    for req, kept in signed:
        # The credentials first, then the signatures (over a timestamp: they reveal less).
        creds = [v for k, v in req.headers.items() if re.search("(?i)passphrase|authorization", k)]
        creds += [v for k, v in req.headers.items() if re.search("(?i)sign", k)]
        creds += re.findall(r"signature=([0-9a-f]+)", req.query)
        assert creds, req.headers  # the test holds what it searches for
        for text in (repr(req), str(req)):
            for cred in creds:
                for part in cred.removeprefix("Bearer ").split("."):  # a JWT's signature alone too
                    assert part not in text, f"{part[:16]!r}… in {text!r}"
            assert kept in text and text.startswith("SignedRequest(")
    assert req.query.startswith("symbol=BTCUSDT&timestamp=")


def test_error_messages_never_echo_a_bad_secret() -> None:
    bad_b64 = SECRET + "!!"
    with pytest.raises(SigningKeyError) as e:
        HmacKey(bad_b64, secret_is_base64=True)
    assert SECRET not in str(e.value) and SECRET not in repr(e.value)
    bad_pem = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"
    for cls in (Ed25519Key, RsaKey, EcdsaP256Key):
        with pytest.raises(SigningKeyError) as e2:
            cls.from_pem(bad_pem)
        assert SECRET not in str(e2.value)
    with pytest.raises(SigningKeyError) as e3:
        HmacKey("x", SECRET)
    assert SECRET not in str(e3.value)


@pytest.mark.parametrize(
    "make",
    [lambda: HmacKey(SECRET), lambda: Ed25519Key.from_seed(RFC8032_SEED)],
)
def test_keys_cannot_be_pickled_or_copied(make: Any) -> None:
    k = make()
    with pytest.raises(TypeError, match="cannot be pickled or copied"):
        pickle.dumps(k)
    with pytest.raises(TypeError):
        copy.copy(k)
    with pytest.raises(TypeError):
        copy.deepcopy(k)


def test_keys_have_no_public_constructor_bypass() -> None:
    with pytest.raises(TypeError):
        Ed25519Key()  # type: ignore[call-arg]


# --- Credentials and helpers --------------------------------------------------------------------


def test_credentials_from_env(tmp_path: Any) -> None:
    env = {"BINANCE_API_KEY": "key", "BINANCE_API_SECRET": SECRET, "BINANCE_PASSPHRASE": "pp"}
    c = Credentials.from_env("BINANCE", environ=env)
    assert (c.api_key, c.secret, c.passphrase, c.private_key_pem) == ("key", SECRET, "pp", None)
    assert SECRET not in repr(c) and SECRET not in str(c)
    with pytest.raises(TypeError):
        pickle.dumps(c)
    pem_file = tmp_path / "k.pem"
    pem_file.write_text("PEMTEXT")
    c2 = Credentials.from_env("x", environ={"X_API_KEY": "k", "X_PRIVATE_KEY_PATH": str(pem_file)})
    assert c2.private_key_pem == "PEMTEXT"


@pytest.mark.parametrize(
    ("env", "call", "missing"),
    [
        ({}, None, "OKX_API_KEY"),
        ({"OKX_API_KEY": "k"}, "require_secret", "OKX_API_SECRET"),
        ({"OKX_API_KEY": "k", "OKX_API_SECRET": "s"}, "require_passphrase", "OKX_PASSPHRASE"),
        ({"OKX_API_KEY": "k"}, "require_private_key", "OKX_PRIVATE_KEY_PEM"),
        ({"OKX_API_KEY": "k", "OKX_PRIVATE_KEY_PATH": "/nonexistent/k.pem"}, None, "OKX_PRIVATE_KEY_PATH"),
    ],
)
def test_credentials_errors_name_the_variable(env: dict[str, str], call: str | None, missing: str) -> None:
    with pytest.raises(CredentialsError, match=missing):
        c = Credentials.from_env("OKX", environ=env)
        if call:
            getattr(c, call)()


def test_credentials_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        Credentials.from_env("NOPE", environ={})


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=5))
def test_encode_params_escapes_exactly_as_quote_does(params: dict[str, str]) -> None:
    """The fast path that skips ``quote`` for unreserved text against ``quote`` itself."""
    from urllib.parse import quote

    assert encode_params(params) == "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items()
    )


def test_encode_params_matches_urlencode_with_quote() -> None:
    from urllib.parse import quote, urlencode

    params = {"symbol": "BTC USDT", "price": 0.1, "reduceOnly": True, "note": "é&="}
    want = urlencode(
        {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}, quote_via=quote
    )
    assert encode_params(params) == want
    assert encode_params("?a=1") == "a=1"
    assert encode_params(None) == ""
    assert SignedRequest({}, "a=1").url("https://x", "/p") == "https://x/p?a=1"
    assert auth.now_ms() > 1_600_000_000_000


def test_credentials_come_from_a_vault_callable_and_sign_as_the_secret_does() -> None:
    """``from_env(environ=callable)``: a vault client returning each name's value (None when absent)."""
    from tickwire.venues import binance, bybit, okx

    vault = {
        "BINANCE_API_KEY": "k1", "BINANCE_API_SECRET": BINANCE_SECRET, "OKX_API_KEY": "k2",
        "OKX_API_SECRET": "s2", "OKX_PASSPHRASE": "p2", "BYBIT_API_KEY": "k3", "BYBIT_API_SECRET": "s3",
    }  # fmt: skip
    asked: list[str] = []

    def read(name: str) -> str | None:
        asked.append(name)
        return vault.get(name)

    b = binance.Signer.from_env(environ=read)
    payload = "symbol=BTCUSDT&timestamp=1"
    assert (
        b.api_key == "k1"
        and b.rest_signature(payload)
        == hmac.new(BINANCE_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    )
    assert "BINANCE_API_SECRET" in asked
    o = okx.Signer.from_env(environ=read)
    want = base64.b64encode(hmac.new(b"s2", b"1GET/x", hashlib.sha256).digest()).decode()
    assert o.rest_signature("1", "GET", "/x") == want
    assert bybit.Signer.from_env(environ=read).api_key == "k3"
    with pytest.raises(CredentialsError, match="KRAKEN_API_KEY"):
        Credentials.from_env("KRAKEN", environ=read)
    assert "s2" not in repr(Credentials.from_env("OKX", environ=read))


def test_a_pem_put_in_the_private_key_path_variable_is_in_no_exception_of_the_errors_chain() -> None:
    """The PEM itself in ``*_PRIVATE_KEY_PATH``: the ``CredentialsError`` says so without the key, and
    carries no exception that holds it either — the failed open's ``OSError`` names the "file", the
    whole PEM, in its text and ``filename``; kept as the error's ``__context__`` (``from None`` only
    hides it from tracebacks), it goes wherever the error goes (a handler walking the chain, a
    reporter, ``repr(e.__context__)``)."""
    body = "MC4CAQAwBQYDK2VwBCIEIPRIVATEKEYMATERIALneverSEEN0123456789abcd"
    pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    with pytest.raises(CredentialsError) as e:
        Credentials.from_env("BINANCE", environ={"BINANCE_API_KEY": "k", "BINANCE_PRIVATE_KEY_PATH": pem})
    chain: list[str] = []
    x: BaseException | None = e.value
    while x is not None:
        chain += [str(x), repr(x), repr(x.args), repr(vars(x)), str(getattr(x, "filename", ""))]
        x = x.__cause__ or x.__context__
    text = "\n".join(chain)
    assert "looks like key material" in text
    assert body not in text, text
