"""A minimal SBE decoder written from a schema's XML alone (field order and types read from the file),
sharing no code with the library's decoder or the simulator's encoder: the independent reader of
Binance's SBE frames (../shared/specs/binance-sbe/stream_1_0.xml) in the tests."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

SBE = "{http://fixprotocol.io/2016/sbe}"
PRIM = {"int64": "q", "int8": "b", "uint8": "B", "uint16": "H", "uint32": "I"}


class SchemaDecoder:
    """Minimal SBE decoder driven by the schema file: root fields, groups, the trailing varString8."""

    def __init__(self, xml_path: Any) -> None:
        root = ET.parse(xml_path).getroot()
        self.schema_id = int(root.get("id", "0"))
        types: dict[str, str] = {}
        for t in root.find("types"):  # type: ignore[union-attr]
            if t.tag == "type":
                types[t.get("name", "")] = PRIM[t.get("primitiveType", "")]
            elif t.tag == "enum":
                types[t.get("name", "")] = PRIM[t.get("encodingType", "")]
        self.groups = {
            c.get("name"): [PRIM[x.get("primitiveType", "")] for x in c]
            for c in root.find("types")
            if c.tag == "composite"  # type: ignore[union-attr]
        }
        self.messages: dict[
            int, tuple[str, list[tuple[str, str]], list[tuple[str, str, list[tuple[str, str]]]]]
        ] = {}
        for m in root.iter(f"{SBE}message"):
            fields = [(f.get("name", ""), types[f.get("type", "")]) for f in m.findall("field")]
            groups = []
            for g in m.findall("group"):
                gf = [
                    (f.get("name", ""), types[f.get("type", "")])
                    for f in g.findall("field")
                    if f.get("presence") != "constant"
                ]
                groups.append((g.get("name", ""), g.get("dimensionType", "groupSizeEncoding"), gf))
            self.messages[int(m.get("id", "0"))] = (m.get("name", ""), fields, groups)

    def decode(self, buf: bytes) -> dict[str, Any]:
        block_len, template, schema, _version = struct.unpack_from("<HHHH", buf, 0)
        assert schema == self.schema_id
        name, fields, groups = self.messages[template]
        fmt = "<" + "".join(t for _, t in fields)
        assert struct.calcsize(fmt) == block_len, (
            f"{name}: blockLength {block_len} != schema {struct.calcsize(fmt)}"
        )
        out: dict[str, Any] = {"_name": name}
        out.update(zip([n for n, _ in fields], struct.unpack_from(fmt, buf, 8), strict=True))
        off = 8 + block_len
        for gname, dim, gfields in groups:
            dfmt = "<" + "".join(self.groups[dim])
            gblock, count = struct.unpack_from(dfmt, buf, off)
            off += struct.calcsize(dfmt)
            efmt = "<" + "".join(t for _, t in gfields)
            assert struct.calcsize(efmt) == gblock
            rows = []
            for _ in range(count):
                rows.append(
                    dict(zip([n for n, _ in gfields], struct.unpack_from(efmt, buf, off), strict=True))
                )
                off += gblock
            out[gname] = rows
        n = buf[off]
        out["symbol"] = buf[off + 1 : off + 1 + n].decode()
        assert off + 1 + n == len(buf)
        return out


def dec(m: int, e: int) -> Decimal:
    return Decimal(m).scaleb(e)
