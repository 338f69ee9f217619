"""``tickwire info``: how the Rust core was built (profile, version)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("info", help="show how the Rust core was built")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tickwire import build_info

    for k, v in sorted(build_info().items()):
        sys.stdout.write(f"{k}: {v}\n")
    return 0
