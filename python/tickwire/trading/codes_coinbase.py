"""Coinbase Advanced Trade's order-error reasons, mapped onto the one exception hierarchy: the table
``codes.error_for`` reads for venue ``coinbase`` (apart from ``codes`` for its length alone)."""

from __future__ import annotations

from tickwire.errors import (
    AuthError,
    InsufficientFunds,
    MarketClosed,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    TickwireError,
)

__all__ = ["COINBASE"]

# Coinbase Advanced Trade: REST "Create Order" NewOrderFailureReason and PreviewFailureReason (the
# ``error_response`` of ``{"success": false}``), "Cancel Orders" CancelOrderFailureReason and "Edit
# Order" EditOrderFailureReason enums (official SDK coinbase-advanced-py types, the API reference's
# enums); HTTP errors as ``{"error": <grpc code>, "message"}`` (a 404 "NOT_FOUND" for an order id).
COINBASE: dict[str, type[TickwireError]] = {
    "INSUFFICIENT_FUND": InsufficientFunds,
    "INSUFFICIENT_FUNDS": InsufficientFunds,
    "INVALID_LEDGER_BALANCE": InsufficientFunds,
    "PREVIEW_INSUFFICIENT_FUND": InsufficientFunds,
    "PREVIEW_INSUFFICIENT_LEDGER_BALANCE": InsufficientFunds,
    "PREVIEW_INVALID_LEDGER_BALANCE": InsufficientFunds,
    "UNKNOWN_FAILURE_REASON": OrderRejected,
    "UNSUPPORTED_ORDER_CONFIGURATION": OrderRejected,
    "INVALID_SIDE": OrderRejected,
    "INVALID_PRODUCT_ID": OrderRejected,
    "INVALID_SIZE_PRECISION": OrderRejected,
    "INVALID_PRICE_PRECISION": OrderRejected,
    "INVALID_LIMIT_PRICE_PRECISION": OrderRejected,
    "INVALID_LIMIT_PRICE_POST_ONLY": OrderRejected,
    "INVALID_LIMIT_PRICE": OrderRejected,
    "INVALID_NO_LIQUIDITY": OrderRejected,
    "INVALID_REQUEST": OrderRejected,
    "COMMANDER_REJECTED_NEW_ORDER": OrderRejected,
    "ORDER_ENTRY_DISABLED": OrderRejected,
    "INELIGIBLE_PAIR": OrderRejected,
    # The product takes no new order now (its flags trading_disabled, cancel_only, is_disabled). Which
    # reason such a product answers is not documented; UNTRADABLE_PRODUCT is the one of the Create
    # Order enums that names the product, where ORDER_ENTRY_DISABLED may be the account's.
    "UNTRADABLE_PRODUCT": MarketClosed,
    "PREVIEW_UNTRADABLE_PRODUCT": MarketClosed,
    "INVALID_ARGUMENT": OrderRejected,
    "PREVIEW_INVALID_SIDE": OrderRejected,
    "PREVIEW_INVALID_ORDER_CONFIG": OrderRejected,
    "PREVIEW_INVALID_PRODUCT_ID": OrderRejected,
    "PREVIEW_INVALID_SIZE_PRECISION": OrderRejected,
    "PREVIEW_INVALID_PRICE_PRECISION": OrderRejected,
    "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY": OrderRejected,
    "PREVIEW_INVALID_LIMIT_PRICE": OrderRejected,
    "PREVIEW_INVALID_NO_LIQUIDITY": OrderRejected,
    "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL": OrderRejected,
    "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE": OrderRejected,
    "PREVIEW_INVALID_QUOTE_SIZE_PRECISION": OrderRejected,
    "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL": OrderRejected,
    "PREVIEW_INVALID_QUOTE_SIZE_TOO_LARGE": OrderRejected,
    # Cancel: the order is not open (unknown, filled, already cancelled) is "not found" to the session.
    "UNKNOWN_CANCEL_ORDER": OrderNotFound,
    "ORDER_IS_FULLY_FILLED": OrderNotFound,
    "INVALID_CANCEL_REQUEST": OrderRejected,
    "COMMANDER_REJECTED_CANCEL_ORDER": OrderRejected,
    "DUPLICATE_CANCEL_REQUEST": OrderRejected,
    "INVALID_CANCEL_PRODUCT_ID": OrderRejected,
    "NOT_ALLOWED_TO_CANCEL": OrderRejected,
    "ORDER_IS_BEING_REPLACED": OrderRejected,
    # Edit.
    "ORDER_NOT_FOUND": OrderNotFound,
    "ONLY_OPEN_ORDERS_CAN_BE_EDITED": OrderNotFound,
    "CANNOT_EDIT_TO_BELOW_FILLED_SIZE": OrderRejected,
    "ONLY_LIMIT_ORDER_EDITS_SUPPORTED": OrderRejected,
    "INVALID_EDITED_SIZE": OrderRejected,
    "INVALID_EDITED_PRICE": OrderRejected,
    "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST": OrderRejected,
    "COMMANDER_REJECTED_EDIT_ORDER": OrderRejected,
    "ORDER_IS_ALREADY_BEING_REPLACED": OrderRejected,
    # HTTP errors.
    "NOT_FOUND": OrderNotFound,
    "UNAUTHENTICATED": AuthError,
    "PERMISSION_DENIED": AuthError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
}
