"""``tickwire.trade("cloud9trader")``: the venue's document covers only the authenticated socket
(private channels need it), not order entry, so the session refuses with ``NotSupported`` naming what
is missing — before asking for credentials, before any connection."""

from __future__ import annotations

import pytest
import tickwire
from tickwire.errors import NotSupported
from tickwire.venues import cloud9trader


@pytest.mark.parametrize("credentials", [cloud9trader.Signer("key", "c2VjcmV0"), None])
def test_order_entry_is_not_supported_and_the_error_names_what_the_document_lacks(
    credentials: cloud9trader.Signer | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUD9TRADER_API_KEY", raising=False)  # no credentials is not the reason
    with pytest.raises(NotSupported) as e:
        tickwire.trade("cloud9trader", credentials=credentials)
    text = str(e.value)
    assert text.startswith("cloud9trader: order entry is not documented")
    for missing in ("private channel", "place, cancel, status", "REST API"):
        assert missing in text
    assert e.value.venue == "cloud9trader" and e.value.operation == "order entry"
    assert "c2VjcmV0" not in text
