"""Secret material that must not reach exception messages, logs, pickles or status reports (review
of the secret-handling rule): each test drives one path and searches what it produced."""

from __future__ import annotations

import asyncio
import logging

import pytest
import tickwire
from tickwire.bus.server import free_port
from tickwire.errors import TickwireError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.venues import binance

USDM_KEY, USDM_SECRET = "usdm-leak-key", "usdm-leak-secret"


def test_the_listen_key_is_in_no_error_or_log_when_the_user_data_stream_cannot_connect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``binance-usdm``: the user data stream's URL is ``<private base>/<listenKey>``. When that socket
    cannot be opened, neither the error the session's start raises nor the warnings logged meanwhile
    may spell out the listenKey (it grants read access to the account's private stream)."""
    seen: list[str] = []
    issued: list[str] = []

    async def go() -> None:
        async with Simulator(["binance-usdm"], seed=5, rate=0, depth=5) as sim:
            v = sim.venue("binance-usdm")
            v.add_key(ApiKey(USDM_KEY, secret=USDM_SECRET.encode()))
            eps = [dict(e) for e in sim.urls()["binance-usdm"]]
            ws = dict(eps[0]["ws"])
            # The private socket's host refuses connections; REST (the listenKey's issue) works.
            ws["private"] = f"ws://127.0.0.1:{free_port()}/private/ws"
            eps[0]["ws"] = ws
            tr = tickwire.trade(
                "binance-usdm", credentials=binance.Signer(USDM_KEY, USDM_SECRET), endpoints=eps, timeout=1.0
            )
            try:
                await tr.start()
            except TickwireError as e:
                seen.extend([str(e), repr(e), repr(e.args), str(e.__cause__), str(e.__context__)])
            else:  # pragma: no cover - the stream cannot have started
                await tr.close()
                raise AssertionError("the session started without its user data stream")
            finally:
                with __import__("contextlib").suppress(Exception):
                    await tr.close()
            issued.extend(v.listen_keys.issued)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    seen.extend(r.getMessage() for r in caplog.records)
    text = "\n".join(seen)
    assert issued, "no listenKey was issued"
    assert "connect" in text  # the scan saw the failure's report
    for key in issued:
        assert key not in text, f"listenKey {key!r} leaked: {text[:600]!r}"


def test_tradefence_tokens_cannot_be_pickled() -> None:
    """``Tokens`` holds the OAuth access and refresh tokens: like ``Credentials`` and the signers, it
    must refuse pickling rather than write the tokens into the pickle."""
    import pickle

    from tickwire.venues.tradefence.signer import Tokens

    t = Tokens("ACCESS-tok-never-seen", "REFRESH-tok-never-seen", 3600, "trading:read", 1.0)
    try:
        data = pickle.dumps(t)
    except TypeError:
        return
    assert b"ACCESS-tok-never-seen" not in data and b"REFRESH-tok-never-seen" not in data, data


def test_tradefence_from_env_reads_the_refresh_token_from_the_given_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``environ=`` (a mapping or a vault callable) is where every credential is read: the refresh
    token too, not the process environment behind the caller's back."""
    from tickwire.venues.tradefence.signer import Signer

    monkeypatch.setenv("TRADEFENCE_REFRESH_TOKEN", "PROCESS-env-refresh-token")
    vault = {
        "TRADEFENCE_API_KEY": "client-id",
        "TRADEFENCE_API_SECRET": "client-secret-never-seen",
        "TRADEFENCE_REFRESH_TOKEN": "VAULT-refresh-token",
    }
    s = Signer.from_env(environ=vault.get)
    assert s._refresh_token == "VAULT-refresh-token"


def test_a_pem_put_in_the_private_key_path_variable_is_not_echoed_in_the_error() -> None:
    """The classic mix-up — the PEM itself in ``*_PRIVATE_KEY_PATH`` instead of ``*_PRIVATE_KEY_PEM`` —
    must not put the private key into the ``CredentialsError`` (which is logged and printed)."""
    from tickwire.auth import Credentials
    from tickwire.errors import CredentialsError

    body = "MC4CAQAwBQYDK2VwBCIEIPRIVATEKEYMATERIALneverSEEN0123456789abcd"
    pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    env = {"BINANCE_API_KEY": "k", "BINANCE_PRIVATE_KEY_PATH": pem}
    with pytest.raises(CredentialsError) as e:
        Credentials.from_env("BINANCE", environ=env)
    text = "\n".join([str(e.value), repr(e.value), repr(e.value.args), str(e.value.__cause__)])
    assert body not in text, text
