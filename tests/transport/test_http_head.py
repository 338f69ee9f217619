"""``_core.http_head`` (``rust/py/http.rs``, the REST client's response-head reader) against the
standard library's own HTTP/1.1 response parser (``http.client``) on generated heads."""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickwire._core import http_head
from tickwire.errors import DecodeError

TOKEN = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
# Visible ASCII and latin-1's upper half, spaces and tabs only inside (the parsers differ on whether
# the ones at the ends belong to the value; both drop them here, the Rust tests hold the trimming).
VCHAR = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f")
VALUE = (
    st.builds(
        lambda a, b: a + b,
        st.text(VCHAR, max_size=1),
        st.text(st.sampled_from([*'ab9:;=,"/', " ", "\t", "é"]), max_size=30),
    )
    .map(lambda v: v.strip(" \t"))
    .filter(lambda v: v == "" or v[-1] not in " \t")
)


class _Sock:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, *_: object, **__: object) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))  # type: ignore[arg-type]


def _stdlib(data: bytes) -> tuple[int, int, dict[str, str]]:
    r = http.client.HTTPResponse(_Sock(data))  # type: ignore[arg-type]
    r.begin()
    names = {k.lower() for k in r.msg.keys()}
    return r.status, r.version, {n: ", ".join(r.msg.get_all(n) or []) for n in names}


@given(
    status=st.integers(200, 599),
    minor=st.sampled_from([0, 1]),
    reason=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ abc", max_size=12),
    fields=st.lists(st.tuples(TOKEN, st.sampled_from(["", " ", "  "]), VALUE), max_size=12),
    repeat=st.booleans(),
    body=st.binary(max_size=20),
)
def test_heads_read_like_the_standard_library(
    status: int, minor: int, reason: str, fields: list[tuple[str, str, str]], repeat: bool, body: bytes
) -> None:
    if repeat and fields:
        fields.append((fields[0][0].upper(), " ", "again"))  # a repeated name, another case
    head = (
        f"HTTP/1.{minor} {status} {reason}\r\n" + "".join(f"{n}:{sp}{v}\r\n" for n, sp, v in fields) + "\r\n"
    )
    data = head.encode("latin-1") + body
    got = http_head(data)
    assert got is not None
    st_, mi, end, headers = got
    assert (st_, 10 + mi, headers) == _stdlib(data)
    assert mi == minor and data[end:] == body


def test_a_head_not_all_arrived_is_none_and_bytearrays_and_memoryviews_are_read() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n{}"
    for cut in range(len(data) - 2):
        assert http_head(data[:cut]) is None
        assert http_head(bytearray(data[:cut])) is None
    whole = (200, 1, len(data) - 2, {"content-length": "2", "x-a": "1"})
    assert http_head(bytearray(data)) == whole and http_head(memoryview(data)) == whole


@pytest.mark.parametrize(
    "bad",
    [b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"ICY 200 OK\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nContent-Length: 2\x01\r\n\r\n{}", b"HTTP/1.1 200 OK\r\nX: a\x00\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nBad Name: x\r\nTransfer-Encoding : chun\x7fked\r\n\r\n"],
)  # fmt: skip
def test_what_is_not_an_http1_head_is_a_decode_error(bad: bytes) -> None:
    with pytest.raises(DecodeError) as e:
        http_head(bad)
    assert isinstance(e.value, ValueError)  # Conn.data_received turns it into a TransportError


def test_what_a_line_by_line_reader_took_is_read_and_lines_that_are_not_fields_are_skipped() -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\nno colon\r\nBad Name: x\r\nX/Y: 1\r\n"
        b"Ctl: a\x01b\r\nX-MBX-USED-WEIGHT-1M: 7\r\n\r\n{}"
    )
    assert http_head(head) == (200, 1, len(head) - 2, {"content-length": "2", "x-mbx-used-weight-1m": "7"})


def test_a_head_with_many_fields_is_read_whole() -> None:
    lines = b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(300))
    head = b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 0\r\n\r\n"
    got = http_head(head)
    assert got is not None and len(got[3]) == 301 and got[3]["x-299"] == "299"
