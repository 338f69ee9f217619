"""Reading capture files (the JSON Lines format of ../shared/fixtures/real, also what ``tickwire
record`` writes) and the reference checks applied to them, independent of the library."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

# Every line of a capture has exactly one of these key sets.
LINE_KEYS = ({"t", "kind", "url"}, {"t", "kind", "url", "text"}, {"t", "kind", "url", "b64"})
KINDS = {"open", "send", "recv", "http"}


def decoded(path: Path) -> Iterator[tuple[str, str, Any]]:
    """(kind, url, decoded JSON) for every text or gzip frame / REST body of a capture file."""
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if "b64" in e:
                yield e["kind"], e["url"], json.loads(gzip.decompress(base64.b64decode(e["b64"])))
            elif "text" in e:
                try:
                    yield e["kind"], e["url"], json.loads(e["text"])
                except ValueError:
                    yield e["kind"], e["url"], e["text"]


def okx_crc(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX's checksum as its doc writes it: alternate bid/ask price:size over the top 25 (best first),
    CRC32 as a signed int32."""
    parts = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    v = zlib.crc32(":".join(parts).encode())
    return v - 2**32 if v & 0x80000000 else v


def okx_checksum(bids: dict[str, list[str]], asks: dict[str, list[str]]) -> int:
    """:func:`okx_crc` of books kept as {price string: level as received}."""
    b = sorted(bids.values(), key=lambda lv: -Decimal(lv[0]))[:25]
    a = sorted(asks.values(), key=lambda lv: Decimal(lv[0]))[:25]
    return okx_crc(b, a)
