"""No NATS password in the error of a server address the Rust subscriber cannot parse (review of the
secret-handling rule: ``bus.client.shown_url`` masks it on the nats-py side)."""

from __future__ import annotations

import pytest
from tickwire import _core

pytestmark = pytest.mark.skipif(not hasattr(_core, "BusSubscriber"), reason="no Rust subscriber")


@pytest.mark.parametrize(
    "url", ["nats://alice:NATS-pw-never-seen@127.0.0.1:99999", "nats://NATS-pw-never-seen@bad host:4222"]
)
def test_a_bad_server_address_error_does_not_show_its_password(url: str) -> None:
    with pytest.raises(Exception) as e:
        _core.BusSubscriber([url], ["tw.x"])
    text = "\n".join([str(e.value), repr(e.value), repr(e.value.args)])
    assert "NATS-pw-never-seen" not in text, text
