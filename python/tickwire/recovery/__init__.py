"""Recovery policies: reconnect back-off and connection-rate limits (``backoff``), endpoint ranking and
failover (``failover``). Arbitration of redundant A/B lines is in the Rust feed
(``rust/venue/arbiter.rs``)."""
