"""One module per venue. Each defines ``Signer`` (built once per credential) with the venue's signature
methods (direct calls into the Rust core) and builders of the complete auth headers/params.

Common to every signer: ``Signer.from_env()`` reads the credentials from ``<VENUE>_API_KEY`` etc.
(see :class:`tickwire.auth.Credentials`); ``clock=`` injects the time source (Unix ms); REST signers
have ``sign_request(method, path, params, body, *, timestamp=None) -> SignedRequest``.
"""
