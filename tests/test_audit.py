"""Audit log: ordering, rotation bounds, redaction of every secret byte, non-blocking under a slow disk."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tickwire.audit import NULL_AUDIT, AuditLog, AuditSink, NullAudit
from tickwire.cmd.audit import order_life


def all_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + "*"))


def read_events(path: Path, backups: int = 0) -> list[dict[str, Any]]:
    """Every event, oldest file first (path.N … path.1, path)."""
    files = [path.with_name(f"{path.name}.{i}") for i in range(backups, 0, -1)] + [path]
    out = []
    for f in files:
        if f.exists():
            out += [orjson.loads(line) for line in f.read_bytes().splitlines()]
    return out


def test_events_land_in_order_with_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "audit.log"
    before = time.time_ns()
    with AuditLog(p) as audit:
        for i in range(500):
            audit.event("ws.subscribe", venue="okx", channel="books", seq=i)
        audit.flush()
        assert len(read_events(p)) == 500  # flush alone makes them readable
        audit.event("ws.disconnect", venue="okx", reason="eof")
    after = time.time_ns()
    events = read_events(p)
    assert [e["seq"] for e in events[:500]] == list(range(500))
    last = {"ts_ns": events[-1]["ts_ns"], "mono_ns": events[-1]["mono_ns"], "kind": "ws.disconnect",
            "venue": "okx", "reason": "eof"}  # fmt: skip
    assert events[-1] == last
    stamps = [e["ts_ns"] for e in events]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    monos = [e["mono_ns"] for e in events]  # the monotonic clock, for ordering across wall-clock steps
    assert monos == sorted(monos) and monos[-1] <= time.monotonic_ns()
    assert list(events[0])[:3] == ["ts_ns", "mono_ns", "kind"]


def test_field_named_like_the_envelope_does_not_overwrite_it(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    with AuditLog(p) as audit:
        audit.event("rest.response", kind="snapshot", ts_ns=1)
    (e,) = read_events(p)
    assert (e["kind"], e["field_kind"], e["field_ts_ns"]) == ("rest.response", "snapshot", 1)


def test_rotation_keeps_n_backups_of_bounded_size(tmp_path: Path) -> None:
    p = tmp_path / "rot.log"
    max_bytes, backups = 2000, 3
    with AuditLog(p, max_bytes=max_bytes, backups=backups) as audit:
        for i in range(1000):
            audit.event("rest.request", method="GET", path="/api/v3/depth", i=i)
    files = all_files(p)
    assert [f.name for f in files] == ["rot.log", "rot.log.1", "rot.log.2", "rot.log.3"]
    assert all(0 < f.stat().st_size <= max_bytes for f in files)
    kept = read_events(p, backups)
    # The newest events survive, contiguous and in order, ending with the last one.
    seqs = [e["i"] for e in kept]
    assert seqs == list(range(seqs[0], 1000)) and seqs[0] > 0


def test_backups_zero_truncates_in_place(tmp_path: Path) -> None:
    p = tmp_path / "one.log"
    with AuditLog(p, max_bytes=500, backups=0) as audit:
        for i in range(200):
            audit.event("x", i=i)
    assert [f.name for f in all_files(p)] == ["one.log"]
    assert 0 < p.stat().st_size <= 500
    assert read_events(p)[-1]["i"] == 199


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+/"
# The Zq ends keep a secret from ever being a substring of timestamps, JSON syntax or field names.
_secret = st.text(_ALPHABET, min_size=10, max_size=40).map(lambda s: "Zq" + s + "Zq")
_secret_name = st.sampled_from(
    [
        "secret",
        "api_secret",
        "clientSecret",
        "signature",
        "X-MBX-SIGNATURE",
        "sign",
        "OK-ACCESS-SIGN",
        "OK-ACCESS-PASSPHRASE",
        "passphrase",
        "password",
        "token",
        "access_token",
        "jwt",
        "Authorization",
        "API-Sign",
        "X-MBX-APIKEY",
        "X-BAPI-SIGN",
        "Cookie",
        "Set-Cookie",
        "private_key",
        "privateKey",
    ]
)


def _placements(name: str, secret: str) -> list[dict[str, Any]]:
    """The same secret under the same name in every shape a caller might log it."""
    query_name = name if name.isidentifier() else "signature"
    return [
        {name: secret},
        {"headers": {name: secret, "Content-Type": "application/json"}},
        {"headers": [(name, secret), ("Accept", "*/*")]},
        {"headers": [(name.encode(), secret.encode()), (b"Accept", b"*/*")]},
        {"headers": {name.encode(): secret.encode()}},
        {"request": {"body": {"args": [{name: secret, "op": "login"}]}}},
        {"url": f"https://api.example.test/api/v3/order?symbol=BTCUSDT&{query_name}={secret}&ts=1"},
        {"body": f"symbol=BTCUSDT&{query_name}={secret}"},
        {"raw": orjson.dumps({"op": "login", "args": [{name: secret}]}).decode()},
        {"raw_headers": f"GET / HTTP/1.1\r\n{name}: {secret}\r\nHost: x\r\n"},
        {"payload": orjson.dumps({name: secret})},
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_secret_name, secret=_secret)
def test_a_secret_never_reaches_any_file_byte(tmp_path: Path, name: str, secret: str) -> None:
    p = tmp_path / f"s{abs(hash((name, secret)))}.log"
    with AuditLog(p, max_bytes=1500, backups=2) as audit:
        for fields in _placements(name, secret):
            audit.event("rest.request", venue="binance", **fields)
    data = b"".join(f.read_bytes() for f in all_files(p))
    assert secret.encode() not in data
    assert b"***" in data and b"Content-Type" in data and b"BTCUSDT" in data


def test_known_secret_values_are_masked_anywhere(tmp_path: Path) -> None:
    p = tmp_path / "k.log"
    with AuditLog(p, secrets=["hunter2-the-secret"]) as audit:
        audit.add_secret("late-added-secret-value")
        audit.event("note", text="oops hunter2-the-secret leaked", other=["late-added-secret-value"])
    data = p.read_bytes()
    assert b"hunter2-the-secret" not in data and b"late-added-secret-value" not in data
    assert b"oops *** leaked" in data


def test_a_password_or_token_in_a_urls_user_part_is_masked_anywhere(tmp_path: Path) -> None:
    """``ws://alice:<password>@host`` (a socket URL the session connects with) and NATS's
    ``nats://<token>@host``, whole or quoted in a message: the password and the token are masked, the
    user name, scheme and host kept."""
    p = tmp_path / "u.log"
    with AuditLog(p) as audit:
        audit.event("connect", url="ws://alice:PASS-never-seen-XYZ@127.0.0.1:9001/stream")
        audit.event("note", error="connect to nats://TOKEN-never-seen-XYZ@10.0.0.1:4222 failed")
    data = p.read_bytes()
    assert b"never-seen" not in data, data
    a, b = read_events(p)
    assert a["url"] == "ws://alice:***@127.0.0.1:9001/stream" and "nats://***@10.0.0.1:4222" in b["error"]


def test_api_keys_are_shortened_not_hidden(tmp_path: Path) -> None:
    p = tmp_path / "k.log"
    with AuditLog(p) as audit:
        audit.event("ws.login", apiKey="AKIDfullkeyvalue123", query="AccessKeyId=HTXkey999999&Symbol=btcusdt")
    (e,) = read_events(p)
    assert e["apiKey"] == "AKID…" and e["query"] == "AccessKeyId=HTXk…&Symbol=btcusdt"


def test_ordinary_fields_are_left_alone(tmp_path: Path) -> None:
    p = tmp_path / "o.log"
    fields = {"design": "x", "signal": "buy", "url": "/api/v3/depth?symbol=BTCUSDT&limit=100", "n": 3}
    with AuditLog(p) as audit:
        audit.event("rest.request", **fields)
    (e,) = read_events(p)
    assert {k: e[k] for k in fields} == fields


def test_slow_disk_never_blocks_the_caller_and_drops_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[bytes] = []
    release = threading.Event()

    def slow_write(self: AuditLog, data: bytes) -> None:
        release.wait(5)  # a disk that stalls until the test lets it go
        written.append(data)

    monkeypatch.setattr(AuditLog, "_write", slow_write)
    audit = AuditLog(tmp_path / "slow.log", queue_size=100)
    worst = 0
    for i in range(1000):
        t = time.perf_counter_ns()
        audit.event("rest.request", i=i)
        worst = max(worst, time.perf_counter_ns() - t)
    # 1000 calls against a stalled disk: none waited for it (generous bound for a loaded CI box).
    assert worst < 20_000_000
    # The writer holds at most one event while stalled; the queue bound holds the rest.
    assert 1000 - 101 <= audit.dropped <= 1000 - 100
    release.set()
    audit.close()
    kept = [orjson.loads(w) for w in written]
    events = [e for e in kept if e["kind"] != "audit_dropped"]
    assert len(events) + audit.dropped == 1000
    assert [e["i"] for e in events] == list(range(len(events)))
    # The file says how many went missing (at the close: none was kept after them).
    assert [e["dropped"] for e in kept if e["kind"] == "audit_dropped"] == [audit.dropped]


def test_events_dropped_are_told_in_the_file_where_they_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader of the file alone must know an order's life in it may not be whole: the drops are
    an ``audit_dropped`` line before the next event kept (before, only ``AuditLog.dropped`` knew)."""
    release = threading.Event()
    real = AuditLog._write

    def stalled(self: AuditLog, data: bytes) -> None:
        release.wait(5)  # a disk that stalls until the test lets it go
        real(self, data)

    monkeypatch.setattr(AuditLog, "_write", stalled)
    p = tmp_path / "drops.log"
    audit = AuditLog(p, queue_size=10)
    for i in range(50):
        audit.event("order", client_id=f"tw-{i}")
    lost = audit.dropped
    assert lost >= 39  # the queue holds ten (the writer maybe one more)
    release.set()
    audit.flush()  # the queue drained
    audit.event("fill", client_id="tw-after")
    audit.close()
    kinds = [(e["kind"], e.get("client_id"), e.get("dropped")) for e in read_events(p)]
    told = [k for k in kinds if k[0] == "audit_dropped"]
    assert told == [("audit_dropped", None, lost)], kinds
    # Where they went missing: after the last event kept before them, before the next one kept.
    assert kinds[-2:] == [("audit_dropped", None, lost), ("fill", "tw-after", None)], kinds[-3:]
    # And one order's life as ``tickwire audit --order`` prints it says its lines may be missing.
    assert [e["kind"] for e in order_life(p, "tw-0")] == ["order", "audit_dropped"]


def test_close_flushes_everything_and_later_events_are_dropped(tmp_path: Path) -> None:
    p = tmp_path / "c.log"
    audit = AuditLog(p)
    for i in range(20000):
        audit.event("book.resync", i=i)
    audit.close()
    assert [e["i"] for e in read_events(p)] == list(range(20000))
    audit.event("late")
    audit.close()  # idempotent
    assert audit.dropped == 1
    assert len(read_events(p)) == 20000


def test_write_failure_is_logged_once_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: AuditLog, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(AuditLog, "_write", broken)
    with caplog.at_level(logging.ERROR, logger="tickwire.audit"), AuditLog(tmp_path / "f.log") as audit:
        for i in range(5):
            audit.event("x", i=i)
        audit.flush()
        assert audit.dropped == 5
    assert [r.name for r in caplog.records] == ["tickwire.audit"]


def test_unserialisable_values_are_written_as_text(tmp_path: Path) -> None:
    p = tmp_path / "u.log"

    class Thing:
        def __str__(self) -> str:
            return "thing?signature=abcdefgh"

    with AuditLog(p) as audit:
        audit.event("x", obj=Thing(), raw=b"\xffbytes", items={1, 2} - {2}, exc=ValueError("bad"))
    (e,) = read_events(p)
    assert e["obj"] == "thing?signature=***" and e["raw"] == "\ufffdbytes"
    assert e["items"] == [1] and e["exc"] == "bad"


def test_null_audit_accepts_everything_and_does_nothing() -> None:
    sink: AuditSink = NULL_AUDIT
    sink.event("ws.connect", url="wss://x", secret="s")
    sink.add_secret("whatever")
    sink.flush()
    sink.close()
    assert sink.dropped == 0
    with NullAudit() as n:
        n.event("x")
