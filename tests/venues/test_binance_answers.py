"""How the Binance grammars (spot and USDⓈ-M) read the venue's refusals, against venues.md §1.2/§1.3."""

from __future__ import annotations

import pytest
from tickwire import errors
from tickwire.venues.binance.orders import Orders
from tickwire.venues.binance.usdm import UsdmOrders

# What a WAF block looks like on the wire: an HTML page, no Binance code.
WAF_PAGE = b"<html><head><title>403 Forbidden</title></head><body>Request blocked</body></html>"


@pytest.mark.parametrize("grammar", [Orders(), UsdmOrders()], ids=["spot", "usdm"])
def test_a_waf_403_is_a_rate_limit_refusal_not_a_credentials_error(grammar: object) -> None:
    """venues.md §1.2: "**403:** a WAF rule was violated (a rate limit or a security block)." — a
    venue limit to back off from (the budget pauses), not refused credentials (-2015 / 401 say that)."""
    with pytest.raises(errors.RateLimitError) as info:
        grammar.read_answer(403, WAF_PAGE)  # type: ignore[attr-defined]
    assert not isinstance(info.value, errors.AuthError)
    assert info.value.status == 403  # type: ignore[attr-defined]


@pytest.mark.parametrize("grammar", [Orders(), UsdmOrders()], ids=["spot", "usdm"])
def test_a_waf_403_on_the_ws_api_is_a_rate_limit_refusal(grammar: object) -> None:
    """venues.md §1.3: "Status codes: 400, 403 (WAF), 409 (partial), 418 (banned), 429 (rate limit),
    and 5xx (status unknown; confirm by query)." """
    answer = {"id": "tw1", "status": 403, "error": {"code": -1003, "msg": "WAF"}, "rateLimits": []}
    answer_no_code = {"id": "tw2", "status": 403, "error": {"msg": "Forbidden"}, "rateLimits": []}
    for a in (answer, answer_no_code):
        with pytest.raises(errors.RateLimitError):
            grammar.read_ws_answer(a)  # type: ignore[attr-defined]


def test_refused_credentials_stay_an_auth_error() -> None:
    # -2015 "Invalid API-key, IP, or permissions for action." comes with HTTP 401.
    body = b'{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'
    with pytest.raises(errors.AuthError):
        Orders().read_answer(401, body)
