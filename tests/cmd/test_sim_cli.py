"""``tickwire sim`` as a separate process: prints its URLs as JSON, serves them, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request

import orjson
import pytest
from tickwire.sim import Simulator


def test_unknown_symbol_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no symbol"):
        Simulator(["okx"], symbols={"okx": ["BTCUSDT"]}, control=False)


def test_tickwire_sim_prints_urls_and_serves_until_stopped() -> None:
    cmd = [sys.executable, "-m", "tickwire.cli", "sim", "--venue", "binance", "--venue", "okx"]
    cmd += ["--endpoints", "binance=2", "--rate", "0", "--depth", "10", "--symbols", "binance=BTCUSDT"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = orjson.loads(proc.stdout.readline())
        assert set(urls) == {"binance", "okx", "control"}
        assert len(urls["binance"]) == 2
        depth = orjson.loads(
            urllib.request.urlopen(urls["binance"][1]["rest"] + "/api/v3/depth?symbol=BTCUSDT").read()
        )
        assert len(depth["bids"]) == 10
        assert orjson.loads(urllib.request.urlopen(urls["control"] + "/urls").read()) == urls
        with pytest.raises(urllib.error.HTTPError) as e:  # only BTCUSDT is served
            urllib.request.urlopen(urls["binance"][0]["rest"] + "/api/v3/depth?symbol=ETHUSDT")
        assert e.value.code == 400
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
