"""TLS for simulated venues: a server context from PEM files, optionally demanding client certificates.

Venues serve plain ``ws://``/``http://`` unless given a context; then every socket of the venue's
endpoints (WebSocket and REST) is TLS. Clarofinlore documents TLS 1.3 with mutual authentication, so
its simulator refuses a context that does not require a client certificate.
"""

from __future__ import annotations

import ssl


def server_context(
    certfile: str, keyfile: str, client_ca: str | None = None, *, tls13_only: bool = False
) -> ssl.SSLContext:
    """A server context presenting ``certfile``; with ``client_ca``, clients must present a
    certificate that CA signed (mutual TLS), else the handshake fails."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    if client_ca is not None:
        ctx.load_verify_locations(cafile=client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    if tls13_only:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def is_mutual_tls13(ctx: ssl.SSLContext) -> bool:
    return ctx.verify_mode == ssl.CERT_REQUIRED and ctx.minimum_version >= ssl.TLSVersion.TLSv1_3
