import json
import subprocess
import sys

from conftest import shared_path


def test_replay_okx_capture_reports_all_checksums() -> None:
    path = shared_path("fixtures", "real", "okx.jsonl")
    out = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", "okx", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report = json.loads(out)
    assert report["errors"] == 0
    assert report["outcomes"] == {"applied": 290}
    assert sum(b["checksum_ok"] for b in report["books"].values()) == 290
    assert all(b["state"] == "synced" for b in report["books"].values())


def test_replay_htx_gzip_frames() -> None:
    path = shared_path("fixtures", "real", "htx.jsonl")
    out = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", "htx", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report = json.loads(out)
    assert report["errors"] == 0
    assert len(report["books"]) == 10
    assert report["outcomes"]["applied"] == 292


def test_replay_missing_file_is_a_clean_error() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", "/nonexistent.jsonl", "--venue", "okx"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "tickwire replay" in r.stderr
