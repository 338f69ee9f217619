"""Where the shared fixtures are (``../shared`` beside the repo), and a clean skip where they are absent.

A module of its own rather than a name in ``conftest.py``: more than one folder has a ``conftest``,
and ``from conftest import …`` resolved to whichever pytest had imported last."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip with the reason when a user's clone has no ../shared."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs ../shared/{'/'.join(parts)} (present in CI, absent in a user's clone)")
    return p
