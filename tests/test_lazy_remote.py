"""``tickwire.remote`` is reached from ``import tickwire`` alone (loaded on first use): the README's
one-line move from ``tickwire.connect`` to ``tickwire.remote.connect`` needs no other import."""

from __future__ import annotations

import subprocess
import sys


def test_tickwire_remote_is_reached_from_import_tickwire_alone() -> None:
    code = (
        "import sys, tickwire\n"
        "assert 'tickwire.remote' not in sys.modules\n"  # not loaded until used: nats stays optional
        "print(tickwire.remote.connect.__name__, tickwire.remote.trade.__name__)\n"
        "try:\n    tickwire.nothing_here\nexcept AttributeError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["connect trade", "module 'tickwire' has no attribute 'nothing_here'"]
