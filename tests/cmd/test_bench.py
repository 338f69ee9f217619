import subprocess
import sys


def test_bench_signs_the_vector_and_every_venue() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "bench", "--duration", "0.05"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "vector matched: yes" in out
    assert "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71" in out
    for venue in ("binance", "okx", "bybit", "kraken", "htx", "coinbase", "cloud9trader", "clarofinlore"):
        assert f"  {venue} " in out
    assert "stdlib hmac.new" in out and "ratio" in out
