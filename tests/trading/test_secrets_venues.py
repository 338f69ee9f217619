"""``test_secrets``' scan on every venue with order entry and every kind of credential: Binance spot
(HMAC and Ed25519) and USDⓈ-M, OKX (secret and passphrase), Bybit, Kraken (base64 secret; its WebSocket
token), Coinbase (EC P-256 PEM, Ed25519 PEM and raw key: JWTs), HTX, Clarofinlore (access and refresh
tokens, over mutual TLS: the client key) and Tradefence (OAuth client secret, access and refresh
tokens). Cloud9Trader has no order entry (``test_session_cloud9trader``)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from certs import Ca
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from test_secrets import Case, run_case
from test_session_tradefence import follow
from tickwire.bus.server import free_port
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.sim.tls import server_context
from tickwire.transport.ws import tls_context
from tickwire.venues import binance, bybit, clarofinlore, coinbase, htx, kraken, okx, tradefence


def _pem_body(pem: str) -> list[str]:
    """A PEM's base64 body, whole and line by line (a log could hold either)."""
    lines = [ln for ln in pem.strip().splitlines() if ln and not ln.startswith("-----")]
    return ["".join(lines), *(ln for ln in lines if len(ln) >= 16)]


def _ec_key() -> tuple[str, str, list[tuple[str, str]]]:
    """An EC P-256 key: private PEM, public PEM, and what of it must never show (body, scalar)."""
    k = ec.generate_private_key(ec.SECP256R1())
    pem = k.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    pub = (
        k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    d = k.private_numbers().private_value
    scalar = d.to_bytes(32, "big")
    marks = [("PEM body", b) for b in _pem_body(pem)]
    marks += [("private scalar", f"{d:064x}"), ("private scalar", str(d))]
    marks += [("private scalar", base64.b64encode(scalar).decode()), ("private scalar", _b64url(scalar))]
    return pem, pub, marks


def _ed_key() -> tuple[str, str, str, list[tuple[str, str]]]:
    """An Ed25519 key: PKCS#8 PEM, public PEM, the raw base64 seed (Coinbase's portal form), marks."""
    k = ed25519.Ed25519PrivateKey.generate()
    pem = k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pub = (
        k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    seed = k.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_b64 = base64.b64encode(seed).decode()
    marks = [("PEM body", b) for b in _pem_body(pem)]
    marks += [("seed", seed.hex()), ("seed", raw_b64), ("seed", _b64url(seed))]
    return pem, pub, raw_b64, marks


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _hmac_secrets(*values: str) -> list[tuple[str, str]]:
    return [("secret", v) for v in values]


WRONG = "wrong-secret-never-seen"


def _binance() -> list[Case]:
    key, secret = "sec-b-key", "s3cr3t-binance-never-seen"
    ed_pem, ed_pub, _, ed_marks = _ed_key()
    stranger_pem, _, _, stranger_marks = _ed_key()
    hmac_case = Case(
        id="binance-hmac", venue="binance", symbol="BTCUSDT", key=key,
        register=lambda v: v.add_key(ApiKey(key, secret=secret.encode())),
        make_signer=lambda sim: binance.Signer(key, secret),
        make_wrong=lambda sim: [(binance.Signer(key, WRONG), {}),
                                (binance.Signer(key, private_key_pem=stranger_pem), {})],
        lose=("POST /api/v3/order", "order.place"), too_much="11", unknown_symbol="NOPEUSDT",
        secrets=_hmac_secrets(secret, WRONG) + stranger_marks,
    )  # fmt: skip
    ed_key = "sec-b-ed-key"
    ed_case = Case(
        id="binance-ed25519", venue="binance", symbol="BTCUSDT", key=ed_key,
        register=lambda v: v.add_key(ApiKey(ed_key, public_key=ed_pub.encode())),
        make_signer=lambda sim: binance.Signer(ed_key, private_key_pem=ed_pem),
        make_wrong=lambda sim: [],
        lose=("POST /api/v3/order", "order.place"), too_much="11", unknown_symbol="NOPEUSDT",
        secrets=ed_marks,
    )  # fmt: skip
    ukey, usecret = "sec-usdm-key", "s3cr3t-usdm-never-seen"
    usdm = Case(
        id="binance-usdm", venue="binance-usdm", symbol="BTCUSDT", key=ukey,
        register=lambda v: v.add_key(ApiKey(ukey, secret=usecret.encode())),
        make_signer=lambda sim: binance.Signer(ukey, usecret),
        make_wrong=lambda sim: [(binance.Signer(ukey, WRONG), {})],
        lose=("POST /fapi/v1/order", "order.place"), too_much="110", unknown_symbol="NOPEUSDT",
        secrets=_hmac_secrets(usecret, WRONG), funds={"USDT": "100000", "BTC": "100"},
    )  # fmt: skip
    return [hmac_case, ed_case, usdm]


def _okx() -> Case:
    key, secret, phrase = "sec-o-key", "s3cr3t-okx-never-seen", "pass-PHRASE-never-seen"
    return Case(
        id="okx", venue="okx", symbol="BTC-USDT", key=key,
        register=lambda v: v.add_key(key, secret, phrase),
        make_signer=lambda sim: okx.Signer(key, secret, phrase),
        make_wrong=lambda sim: [(okx.Signer(key, WRONG, phrase), {}),
                                (okx.Signer(key, secret, "wrong-phrase-never-seen"), {})],
        lose=("POST /api/v5/trade/order", "order"), too_much="11", unknown_symbol="NOPE-USDT",
        secrets=[("secret", secret), ("passphrase", phrase), ("secret", WRONG),
                 ("passphrase", "wrong-phrase-never-seen")],
    )  # fmt: skip


def _bybit() -> Case:
    key, secret = "sec-y-key", "s3cr3t-bybit-never-seen"
    return Case(
        id="bybit", venue="bybit", symbol="BTCUSDT", key=key,
        register=lambda v: v.add_key(key, secret),
        make_signer=lambda sim: bybit.Signer(key, secret),
        make_wrong=lambda sim: [(bybit.Signer(key, WRONG), {})],
        lose=("POST /v5/order/create", "order.create"), too_much="11", unknown_symbol="NOPEUSDT",
        secrets=_hmac_secrets(secret, WRONG),
    )  # fmt: skip


def _kraken() -> Case:
    key = "sec-k-key"
    raw = hashlib.sha512(b"kraken secret never seen").digest()
    secret = base64.b64encode(raw).decode()
    wrong_raw = hashlib.sha512(b"kraken wrong secret").digest()
    wrong = base64.b64encode(wrong_raw).decode()
    marks = [
        ("secret", secret),
        ("secret", wrong),
        ("decoded secret", raw.hex()),
        ("decoded secret", wrong_raw.hex()),
    ]
    marks += [("decoded secret", repr(raw)[2:40]), ("decoded secret", _b64url(raw))]
    return Case(
        id="kraken", venue="kraken", symbol="BTC/USDT", key=key,
        register=lambda v: v.add_key(key, secret),
        make_signer=lambda sim: kraken.Signer(key, secret),
        make_wrong=lambda sim: [(kraken.Signer(key, wrong), {})],
        lose=("POST /0/private/AddOrder", "add_order"), too_much="11", unknown_symbol="NOPE/USDT",
        secrets=marks, raw=[raw, raw[:16], wrong_raw[:16]],
    )  # fmt: skip


def _coinbase() -> Case:
    name = "organizations/org-sec/apiKeys/sec-key"
    pem, pub, marks = _ec_key()
    stranger_pem, _, stranger_marks = _ec_key()
    _, _, raw_ed, ed_marks = _ed_key()
    host: dict[str, str] = {}

    def register(v: Any) -> None:
        v.add_key(name, pub)
        host["netloc"] = urlsplit(v.endpoints[0].rest_base).netloc  # the JWT's uri names it

    def signed(key_name: str, key: str) -> coinbase.Signer:
        return coinbase.Signer(key_name, key, host=host["netloc"])

    return Case(
        id="coinbase", venue="coinbase", symbol="BTC-USDT", key=name, register=register,
        make_signer=lambda sim: signed(name, pem),
        make_wrong=lambda sim: [(signed(name, stranger_pem), {}),
                                (signed("organizations/org-sec/apiKeys/ed", raw_ed), {})],
        lose=("POST /api/v3/brokerage/orders",), too_much="11", unknown_symbol="NOPE-USDT",
        secrets=marks + stranger_marks + ed_marks, trade_kw={},
    )  # fmt: skip


def _htx() -> Case:
    key, secret = "sec-h-key", "s3cr3t-htx-never-seen"
    return Case(
        id="htx", venue="htx", symbol="btcusdt", key=key,
        register=lambda v: v.add_key(key, secret),
        make_signer=lambda sim: htx.Signer(key, secret),
        make_wrong=lambda sim: [(htx.Signer(key, WRONG), {})],
        lose=("POST /v1/order/batch-orders",), too_much="11", unknown_symbol="nopeusdt",
        secrets=_hmac_secrets(secret, WRONG), trade_kw={},
    )  # fmt: skip


def _clarofinlore() -> Case:
    """Over the documented mutual TLS 1.3 (set up by ``sim_kw``, in the test's directory): the client
    key is a secret too; a session without the client certificate is refused like a wrong key."""
    key, secret = "sec-c-key", "s3cr3t-claro-never-seen"
    anonymous: dict[str, Any] = {}

    def mutual_tls(case: Case, tmp: Path) -> dict[str, Any]:
        ca = Ca(tmp, "sec-claro-ca")
        server = server_context(*ca.issue("server", server=True), client_ca=ca.certfile, tls13_only=True)
        cert, client_key = ca.issue("client", server=False)
        case.trade_kw["ssl_context"] = tls_context(
            cafile=ca.certfile, client_cert=cert, client_key=client_key, tls13_only=True
        )
        anonymous["ssl_context"] = tls_context(cafile=ca.certfile, tls13_only=True)
        case.secrets += [("TLS client key", b) for b in _pem_body(Path(client_key).read_text())]
        return {"tls": {"clarofinlore": server}}

    return Case(
        id="clarofinlore", venue="clarofinlore", symbol="btc-usdt", key=key,
        register=lambda v: v.add_key(key, secret),
        make_signer=lambda sim: clarofinlore.Signer(key, secret),
        make_wrong=lambda sim: [(clarofinlore.Signer(key, WRONG), {}),
                                (clarofinlore.Signer(key, secret), anonymous)],
        lose=("POST /v1/orders",), too_much="110", unknown_symbol="nope-usdt",
        secrets=_hmac_secrets(secret, WRONG), funds={"USDT": "100000", "BTC": "100"},
        trade_kw={}, tls=mutual_tls,
    )  # fmt: skip


def _tradefence() -> Case:
    cid, secret = "sec-tf-client", "s3cr3t-tradefence-never-seen"
    redirect = f"http://127.0.0.1:{free_port()}/callback"

    def signer(sim: Simulator, **kw: Any) -> tradefence.Signer:
        url = sim.urls()["tradefence"][0]["rest"]
        return tradefence.Signer(
            cid, kw.pop("client_secret", secret), redirect_uri=redirect, auth_url=url, **kw
        )

    async def authorize(s: tradefence.Signer) -> None:
        await s.authorize(follow)

    return Case(
        id="tradefence", venue="tradefence", symbol="AAPL", key=cid,
        register=lambda v: v.add_client(cid, secret, redirect),
        make_signer=signer, authorize=authorize,
        make_wrong=lambda sim: [
            (signer(sim, access_token="wrong-access-token-never-seen"), {}),
            (signer(sim, client_secret=WRONG, refresh_token="wrong-refresh-never-seen"), {}),
        ],
        lose=("POST /v1/orders",), too_much="200", unknown_symbol="NOPE",
        secrets=[("client secret", secret), ("client secret", WRONG),
                 ("token", "wrong-access-token-never-seen"), ("token", "wrong-refresh-never-seen")],
        funds={"USD": "1000000", "AAPL": "100"}, trade_kw={},
    )  # fmt: skip


CASES = [*_binance(), _okx(), _bybit(), _kraken(), _coinbase(), _htx(), _clarofinlore(), _tradefence()]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_secret_reaches_logs_exceptions_reprs_or_the_audit_file(
    case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_case(case, tmp_path, caplog)
