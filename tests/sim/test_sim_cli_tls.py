"""``tickwire sim --tls`` / ``--profile``: a separate simulator process serving Clarofinlore over mutual
TLS with certificates the test makes, and a profile setting taking effect."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from certs import Ca


def test_cli_serves_mutual_tls_and_profiles(tmp_path: Path) -> None:
    ca = Ca(tmp_path, "ca")
    cert, key = ca.issue("server", server=True)
    client = ca.issue("client", server=False)
    cmd = [sys.executable, "-m", "tickwire.cli", "sim", "--venue", "clarofinlore"]
    cmd += ["--rate", "0", "--depth", "5", "--tls", f"clarofinlore={cert},{key},{ca.certfile}"]
    cmd += ["--profile", 'clarofinlore={"rate_limit": 1}']
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = orjson.loads(proc.stdout.readline())
        rest = urls["clarofinlore"][0]["rest"]
        assert rest.startswith("https://")
        good = ssl.create_default_context(cafile=ca.certfile)
        good.load_cert_chain(*client)
        with pytest.raises(urllib.error.HTTPError) as e:  # through TLS; refused for want of a signature
            urllib.request.urlopen(rest + "/v1/account", context=good, timeout=5)
        assert e.value.code == 401 and orjson.loads(e.value.read())["code"] == 4011
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            urllib.request.urlopen(
                rest + "/v1/account", context=ssl.create_default_context(cafile=ca.certfile)
            )
        # The profile's rate limit (1 per second): the next request in the window gets 429.
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(rest + "/v1/account", context=good, timeout=5)
        assert e.value.code == 429 and int(e.value.headers["Retry-After"]) >= 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
