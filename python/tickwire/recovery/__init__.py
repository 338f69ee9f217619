"""Recovery policies: reconnect back-off and connection-rate limits (``backoff``), endpoint ranking and
failover (``failover``), and arbitration of redundant A/B lines (``arbiter``)."""
