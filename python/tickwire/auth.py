"""Signing keys, credentials from the environment, and the shape of a signed request.

The key classes live in the Rust core and are re-exported here:

- :class:`HmacKey` — HMAC-SHA256/384/512 with the key schedule computed once; ``hexdigest``,
  ``b64digest``, ``digest`` over ``str`` or any bytes-like object (borrowed, not copied).
- :class:`Ed25519Key`, :class:`RsaKey` (PKCS#1 v1.5 / SHA-256), :class:`EcdsaP256Key` (ES256, raw
  ``r || s``) — ``from_pem`` (and ``Ed25519Key.from_seed``), ``sign``, ``public_key_pem``.

None of them can be pickled or copied, and none shows its secret in ``repr``/``str`` or in an error
message. Per-venue signers are in ``tickwire.venues.<venue>``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

from tickwire._core import EcdsaP256Key, Ed25519Key, HmacKey, RsaKey
from tickwire.errors import CredentialsError, SigningKeyError

__all__ = [
    "Clock",
    "Credentials",
    "EcdsaP256Key",
    "Ed25519Key",
    "HmacKey",
    "RsaKey",
    "SignedRequest",
    "encode_params",
    "http_method",
    "now_ms",
]

Clock = Callable[[], int]
# Where credentials are read: a mapping of names (the environment) or a callable (a vault client).
Source = Mapping[str, str] | Callable[[str], str | None]
"""A time source returning Unix time in milliseconds. Signers take one as ``clock=`` so that a
venue-clock-corrected time can replace the system clock."""


def now_ms() -> int:
    """The system clock in Unix milliseconds (the default ``clock`` of every signer)."""
    return time.time_ns() // 1_000_000


def recv_window_ms(ms: object, most: int, venue: str) -> int:
    """``ms`` if it is a receive window ``venue`` takes: whole milliseconds, 1 to ``most``;
    ``TypeError``/``ValueError`` naming the bounds otherwise (a window the venue would refuse on every
    signed request, or a unit slip)."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise TypeError(f"recv_window must be an int (ms), not {type(ms).__name__}")
    if not 0 < ms <= most:
        raise ValueError(f"recv_window must be 1..{most} ms ({venue}'s default is 5000), got {ms}")
    return ms


def key_text(text: object, what: str = "api key") -> None:
    """A ``SigningKeyError`` (nothing echoed: it may be secret) when ``text`` — an api key, or with
    ``what="passphrase"`` a user-chosen passphrase, that a signer sends as it is in a header or the
    request line — holds what no venue takes: a key anything but visible ASCII, a passphrase anything
    but printable ASCII (spaces allowed). Else a line break is refused only once a request is built
    (after its order was tracked and its rate budget taken), as a bare ``ValueError``. Not a ``str``,
    or empty: the signer's own ``TypeError``/``CredentialsError``."""
    if not isinstance(text, str):
        return
    low = " " if what == "passphrase" else "!"
    if not all(low <= c <= "~" for c in text):
        which = "printable" if low == " " else "visible"
        raise SigningKeyError(f"{what}: only {which} ASCII (no line break or other control)")


@dataclass(frozen=True, repr=False)
class SignedRequest:
    """What a REST request needs after signing: send ``headers``, put ``query`` after ``?`` (it is
    already encoded, and includes any auth parameters the venue wants in the query), send ``body``
    byte for byte as given (it may have been signed). Its ``repr`` masks the credentials as the audit
    file does."""

    headers: dict[str, str]
    query: str = ""
    body: str = ""

    def __repr__(self) -> str:
        # Some headers are the credential itself, not a signature over it: OKX's passphrase, the
        # bearer JWT (Coinbase) or access token (Tradefence), each valid until it expires.
        from tickwire.audit import Redactor

        r = Redactor()
        return (
            f"SignedRequest(headers={r.mapping(self.headers.items())!r}, "
            f"query={r.scrub(self.query)!r}, body={r.scrub(self.body)!r})"
        )

    __str__ = __repr__

    def url(self, base: str, path: str) -> str:
        """``base + path`` plus ``?query`` when there is a query."""
        return f"{base}{path}?{self.query}" if self.query else f"{base}{path}"


def http_method(method: object) -> str:
    """``method`` if it names an HTTP method ("GET", "post"), else a ``TypeError`` (not a ``str``) or a
    ``ValueError``. Every ``sign_request`` checks it first, including venues that do not sign the
    method, so a wrong call fails the same way on every venue instead of signing a request that
    cannot be sent."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a str such as 'GET', not {type(method).__name__}")
    if not (method.isascii() and method.isalpha()):
        raise ValueError(f"method must be an HTTP method such as 'GET', got {method!r}")
    return method


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*\Z").match


def _render(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


def _q(text: str) -> str:
    # Most values (symbols, numbers, ids) need no escaping: skip ``quote`` for them, the hot path.
    return text if _UNRESERVED(text) else quote(text, safe="")


def encode_params(params: Mapping[str, object] | str | None) -> str:
    """``k=v&…`` in the given order, percent-encoded (RFC 3986 unreserved characters kept), ``bool`` as
    ``true``/``false``. A ``str`` is taken as an already-encoded query and returned unchanged."""
    if params is None:
        return ""
    if isinstance(params, str):
        return params.removeprefix("?")
    return "&".join(f"{_q(k)}={_q(_render(v))}" for k, v in params.items())


def _mask(v: str | None) -> str:
    return "<unset>" if v is None else "<set>"


@dataclass(frozen=True, repr=False)
class Credentials:
    """API credentials read from the environment; never shown by ``repr``.

    ``from_env("BINANCE")`` reads ``BINANCE_API_KEY``, ``BINANCE_API_SECRET`` and the optional
    ``BINANCE_PASSPHRASE``, ``BINANCE_PRIVATE_KEY_PEM`` or ``BINANCE_PRIVATE_KEY_PATH`` (a file
    holding the PEM).
    """

    prefix: str
    api_key: str
    secret: str | None = field(default=None)
    passphrase: str | None = field(default=None)
    private_key_pem: str | None = field(default=None)

    def __repr__(self) -> str:
        return (
            f"Credentials(prefix={self.prefix!r}, api_key=<set>, secret={_mask(self.secret)}, "
            f"passphrase={_mask(self.passphrase)}, private_key_pem={_mask(self.private_key_pem)})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled (they hold secrets)")

    def require_secret(self) -> str:
        """The secret, or :class:`CredentialsError` naming ``{PREFIX}_API_SECRET``."""
        if self.secret is None:
            raise CredentialsError(f"environment variable {self.prefix}_API_SECRET is not set")
        return self.secret

    def require_passphrase(self) -> str:
        """The passphrase, or :class:`CredentialsError` naming ``{PREFIX}_PASSPHRASE``."""
        if self.passphrase is None:
            raise CredentialsError(f"environment variable {self.prefix}_PASSPHRASE is not set")
        return self.passphrase

    def require_private_key(self) -> str:
        """The private key PEM, or :class:`CredentialsError` naming the variables."""
        if self.private_key_pem is None:
            raise CredentialsError(
                f"environment variable {self.prefix}_PRIVATE_KEY_PEM "
                f"(or {self.prefix}_PRIVATE_KEY_PATH) is not set"
            )
        return self.private_key_pem

    @classmethod
    def from_env(
        cls,
        prefix: str,
        *,
        environ: Source | None = None,
    ) -> Credentials:
        """Reads ``{PREFIX}_API_KEY`` (required) and the optional ``_API_SECRET``, ``_PASSPHRASE``,
        ``_PRIVATE_KEY_PEM`` / ``_PRIVATE_KEY_PATH``. Raises :class:`CredentialsError` naming the missing
        variable; what a venue needs beyond the key is checked with ``require_secret()`` etc.

        ``environ``: where the names are looked up — the process environment by default, a mapping, or
        a callable (a vault client: ``environ=lambda name: vault.read("trading/" + name)``) returning the
        value or None. Nothing read is logged or kept beyond the signer built from it."""
        env = os.environ if environ is None else environ
        p = prefix.upper().rstrip("_")

        def get(name: str) -> str | None:
            v = env(f"{p}_{name}") if callable(env) else env.get(f"{p}_{name}")
            return v if v else None

        api_key = get("API_KEY")
        if api_key is None:
            raise CredentialsError(f"environment variable {p}_API_KEY is not set")
        pem = get("PRIVATE_KEY_PEM")
        path = get("PRIVATE_KEY_PATH")
        if pem is None and path is not None:
            # The key itself put in the _PATH variable by mistake: not echoed, and not opened either —
            # the failed open's OSError would name the "file" (the whole PEM) in its text and
            # ``filename``, and stay on the error as its ``__context__`` (``from None`` only hides it).
            if "-----BEGIN" in path or "\n" in path:
                raise CredentialsError(
                    f"{p}_PRIVATE_KEY_PATH holds what looks like key material, not a path: "
                    f"put the PEM in {p}_PRIVATE_KEY_PEM"
                )
            try:
                pem = Path(path).expanduser().read_text()
            except OSError as e:
                raise CredentialsError(
                    f"{p}_PRIVATE_KEY_PATH names a file that cannot be read: {path} ({e.strerror})"
                ) from None
        return cls(p, api_key, get("API_SECRET"), get("PASSPHRASE"), pem)
