"""A signer sends its api key (OKX: and passphrase) as it is, in a header or the request line, where
RFC 9110 §5.5 allows no CR, LF or NUL in a field value. Such a key is refused when the signer is made:
``SigningKeyError`` (a ``ValueError``), the key not echoed. Before, the signer took it and the first
order's request raised a bare ``ValueError`` as it was built — after the order was tracked (left
``pending``, counted open by the risk limits) and its rate budget taken."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from tickwire.errors import SigningKeyError
from tickwire.venues import binance, bybit, clarofinlore, cloud9trader, htx, kraken, okx

B64 = base64.b64encode(b"s" * 32).decode()

SIGNERS: dict[str, Callable[[str], Any]] = {
    "binance": lambda k: binance.Signer(k, "secret"),
    "okx": lambda k: okx.Signer(k, "secret", "pass phrase"),
    "okx passphrase": lambda k: okx.Signer("key", "secret", k),
    "bybit": lambda k: bybit.Signer(k, "secret"),
    "kraken": lambda k: kraken.Signer(k, B64),
    "htx": lambda k: htx.Signer(k, "secret"),
    "clarofinlore": lambda k: clarofinlore.Signer(k, "secret"),
    "cloud9trader": lambda k: cloud9trader.Signer(k, B64),
}
BAD = ["key\r\nX-Injected: 1", "key\n", "key\x00", "\x7fkey"]


@pytest.mark.parametrize("bad", BAD, ids=["crlf-header", "lf", "nul", "del"])
@pytest.mark.parametrize("venue", list(SIGNERS))
def test_a_key_with_a_control_character_is_refused_when_the_signer_is_made(venue: str, bad: str) -> None:
    with pytest.raises(SigningKeyError) as e:
        SIGNERS[venue](bad)
    assert isinstance(e.value, ValueError)
    assert bad not in str(e.value) and "key" not in str(e.value).replace("api key", "")


@pytest.mark.parametrize("venue", [v for v in SIGNERS if v != "okx passphrase"])
def test_an_api_key_is_visible_ascii_only(venue: str) -> None:
    for bad in ["my key", "kéy"]:
        with pytest.raises(SigningKeyError):
            SIGNERS[venue](bad)
    assert SIGNERS[venue]("AbC-123_x.y/z+=~") is not None  # what keys are made of


def test_a_passphrase_may_hold_spaces() -> None:
    assert okx.Signer("key", "secret", "okx pass phrase") is not None
