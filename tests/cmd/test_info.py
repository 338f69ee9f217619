import subprocess
import sys

import tickwire


def test_info_command_reports_the_built_profile() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "info"], check=True, capture_output=True, text=True
    ).stdout
    assert f"profile: {tickwire.build_info()['profile']}" in out
