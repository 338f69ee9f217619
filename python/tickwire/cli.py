"""The ``tickwire`` command line. Each command lives in its own module under ``tickwire.cmd``."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# Module names under tickwire.cmd; each exposes add_parser(subparsers) that sets `func` on its parser.
COMMANDS = ("audit", "bench", "demo", "gateway", "info", "record", "replay", "sim")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tickwire", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tickwire.cmd.{name}").add_parser(sub)
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
