"""Rows and hash from the same bytes, and bounded time and memory on hostile input."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import psutil
import pytest

from stedi.config import Settings
from stedi.pipeline.forget import forget
from stedi.pipeline.run import run
from stedi.reading import files
from stedi.reading.reader import CHANGED
from stedi.warehouse.catalog import Warehouse
from tests.support.landing import customer, phone, small_landing


def test_a_file_changed_while_it_is_read_is_not_half_ingested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = small_landing(tmp_path / "landing")
    growing = landing / "accelerometer" / "landing" / "growing.json"
    growing.write_text("".join(phone("bob@x.com", t) + "\n" for t in range(100, 150)))
    original = files._Raw.pieces

    def pieces(raw: files._Raw):  # the export is rewritten once the reader has begun
        for number, piece in enumerate(original(raw)):
            if number == 0 and "growing" in str(raw.fd and os.readlink(f"/proc/self/fd/{raw.fd}")):
                with growing.open("a") as out:
                    out.write("".join(phone("bob@x.com", t) + "\n" for t in range(150, 200)))
            yield piece

    monkeypatch.setattr(files._Raw, "pieces", pieces)
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    wh = Warehouse(tmp_path / "wh")
    rows = [r for r in wh.read("accelerometer_landing").to_pylist() if r["source_file"].endswith("growing.json")]
    assert rows == []  # none of a half-read file
    reasons = [r["reason"] for r in wh.read("accelerometer_quarantine").to_pylist()]
    assert reasons == [CHANGED]
    ledger = {r["path"]: r for r in wh.read("ingested_files").to_pylist()}
    assert ledger["accelerometer/landing/growing.json"]["content_hash"] is None
    monkeypatch.setattr(files._Raw, "pieces", original)
    again = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    assert [s.files for s in again.sources] == [0, 1, 0]
    rows = [
        r
        for r in Warehouse(tmp_path / "wh").read("accelerometer_landing").to_pylist()
        if r["source_file"].endswith("growing.json")
    ]
    assert len(rows) == 100  # the whole file, read again
    assert Warehouse(tmp_path / "wh").describe("accelerometer_quarantine").rows == 0


def test_a_long_line_without_an_address_runs_reports_and_forgets_in_seconds(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    (landing / "customer" / "landing" / "long.json").write_text('{"customerName": "' + "x" * (2 << 20) + "\n")
    (landing / "customer" / "landing" / "deep.json").write_text('{"a": ' + "[" * 100_000 + "\n")
    started = time.perf_counter()
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    forget(str(tmp_path / "wh"), ["jane@x.com"])
    assert time.perf_counter() - started < 60  # the quadratic masking took over ten minutes
    reasons = {
        r["source_file"]: r["reason"] for r in Warehouse(tmp_path / "wh").read("customer_quarantine").to_pylist()
    }
    assert reasons["customer/landing/deep.json"] == "invalid JSON: nesting too deep"


def test_a_record_over_the_size_limit_is_quarantined_with_a_prefix(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    big = customer("big@x.com", "S9", note="n" * 300_000)
    (landing / "customer" / "landing" / "big.json").write_text(big + "\n" + customer("after@x.com", "S8") + "\n")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), max_record_size=100_000))
    wh = Warehouse(tmp_path / "wh")
    (row,) = [r for r in wh.read("customer_quarantine").to_pylist() if r["source_file"].endswith("big.json")]
    assert row["source_line"] == 1 and row["reason"].startswith(f"record too large ({len(big):,} bytes")
    assert len(row["raw_text"]) == files.PREFIX_CHARS
    emails = [r["email"] for r in wh.read("customer_landing").to_pylist()]
    assert "after@x.com" in emails and "big@x.com" not in emails


@pytest.mark.slow
def test_a_gzip_bomb_stays_under_the_memory_limit(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (64 << 20)
    with (landing / "customer" / "landing" / "bomb.json.gz").open("wb") as out:
        for _ in range(32):  # 2 GB of white space on one line
            out.write(packer.compress(chunk))
        out.write(packer.flush())
        out.write(gzip.compress(b"\n"))
    assert (landing / "customer" / "landing" / "bomb.json.gz").stat().st_size < 4 << 20
    command = [sys.executable, "-m", "stedi", "run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"),
               "--memory-limit", "512MB"]  # fmt: skip
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert peak < (512 << 20) + (1 << 30), f"peak RSS {peak / 2**20:.0f} MiB"
    row = [r for r in Warehouse(tmp_path / "wh").read("customer_quarantine").to_pylist() if "bomb" in r["source_file"]]
    assert [r["reason"].split(" (")[0] for r in row] == ["record too large"]
