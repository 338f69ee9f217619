"""The ``tickwire`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tickwire", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="show how the Rust core was built")
    args = parser.parse_args(argv)
    if args.command == "info":
        from tickwire import build_info

        for k, v in sorted(build_info().items()):
            sys.stdout.write(f"{k}: {v}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
