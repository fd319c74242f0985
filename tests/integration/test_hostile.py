"""Hostile landing data: the whole pipeline runs, and every bad input is quarantined or reported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from stedi.config import Settings
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse

GOOD = '{"user":"a@x.com","timestamp":1,"x":1.0,"y":0.0,"z":-1.0}'


def test_hostile_landing_is_quarantined_or_reported_never_a_crash(
    make_landing: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_value = "v" * (32 << 20)
    root = make_landing(
        accelerometer={
            "long-valid.json": '{"user":"a@x.com","timestamp":2,"x":1,"y":2,"z":3,"note":"' + long_value + '"}\n',
            "long-garbage.json": "#" * (16 << 20) + "\n",
            "not-utf8.json": GOOD + "\n" + '{"user":"\xff"}'.encode("latin-1").decode("latin-1") + "\n",
            "binary.json": bytes(range(256)) * 64,
            "deep.json": '{"user":' + "[" * 100_000 + "]" * 100_000 + "}\n" + GOOD.replace("1,", "3,") + "\n",
            "huge-numbers.json": "\n".join(
                [
                    GOOD.replace('"timestamp":1', '"timestamp":' + "9" * 30),
                    GOOD.replace('"x":1.0', '"x":1e400'),
                    GOOD.replace('"x":1.0', '"x":' + "1" * 20_000),
                    GOOD.replace('"timestamp":1', '"timestamp":' + "1" * 20_000),
                ]
            )
            + "\n",
            "empty.json": "",
            "whitespace.json": "  \n\t\n\r\n",
            "folder.json/inside.json": GOOD.replace("1,", "4,") + "\n",
        }
    )
    landing = root / "accelerometer" / "landing"
    (landing / "not-utf8.json").write_bytes(GOOD.encode() + b'\n{"user":"\xff\xfe"}\n')
    (landing / "unreadable.json").write_text(GOOD + "\n")
    (landing / "outside.json").symlink_to("/etc/passwd")  # never read: it leaves the landing root
    os.mkfifo(landing / "pipe.json")  # would block a reader that opened it
    real_open = os.open

    def refuse_unreadable(path: Any, *args: Any, **kwargs: Any) -> int:
        # Tests run as root, whom permissions do not stop: a file that cannot be opened, simulated.
        if str(path).endswith("unreadable.json"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse_unreadable)
    result = run(Settings(landing=str(root), warehouse=str(tmp_path / "wh")))

    accel = next(s for s in result.sources if s.source == "accelerometer")
    assert accel.skipped_files == [
        ("accelerometer/landing/outside.json", "a link that leaves the landing root or leads nowhere"),
        ("accelerometer/landing/pipe.json", "not a regular file"),
    ]
    wh = Warehouse(tmp_path / "wh")
    records = sorted(wh.read("accelerometer_landing").to_pylist(), key=lambda r: r["source_file"])
    assert [(r["source_file"].split("/")[-1], r["timestamp"]) for r in records] == [
        ("deep.json", 3),
        ("inside.json", 4),
        ("long-valid.json", 2),
        ("not-utf8.json", 1),
    ]
    reasons = {}
    for r in wh.read("accelerometer_quarantine").to_pylist():
        reasons.setdefault(r["source_file"].split("/")[-1], []).append(r["reason"])
    assert reasons.keys() == {
        "binary.json", "deep.json", "huge-numbers.json", "long-garbage.json", "not-utf8.json", "unreadable.json"
    }  # fmt: skip
    assert reasons["binary.json"] and all(reason for reason in reasons["binary.json"])
    assert len(reasons["deep.json"]) == 1 and len(reasons["not-utf8.json"]) == 1
    assert reasons["not-utf8.json"] == ["line is not valid UTF-8"]
    assert len(reasons["huge-numbers.json"]) == 4  # beyond 64 bits, or not finite as a number
    assert reasons["long-garbage.json"] and len(reasons["long-garbage.json"]) == 1
    assert reasons["unreadable.json"][0].startswith("file could not be read")
    ledger = {r["path"].split("/")[-1]: r for r in wh.read("ingested_files").to_pylist()}
    assert (ledger["empty.json"]["records"], ledger["empty.json"]["quarantined"]) == (0, 0)
    assert (ledger["whitespace.json"]["records"], ledger["whitespace.json"]["quarantined"]) == (0, 0)
    assert ledger["unreadable.json"]["content_hash"] is None  # read again on every run
    assert (ledger["outside.json"]["status"], ledger["pipe.json"]["status"]) == ("skipped", "skipped")
    quarantined = wh.describe("accelerometer_quarantine").rows
    (landing / "later.json").write_text(GOOD.replace("1,", "5,") + "\n")
    again = run(Settings(landing=str(root), warehouse=str(tmp_path / "wh")))
    assert [s.files for s in again.sources] == [0, 2, 0]  # the new file, and the unreadable one again
    assert Warehouse(tmp_path / "wh").describe("accelerometer_quarantine").rows == quarantined  # not twice
    monkeypatch.setattr(os, "open", real_open)  # readable now: read, and its quarantine row replaced
    readable = run(Settings(landing=str(root), warehouse=str(tmp_path / "wh")))
    assert [s.files for s in readable.sources] == [0, 1, 0]
    wh = Warehouse(tmp_path / "wh")
    assert wh.describe("accelerometer_quarantine").rows == quarantined - 1
    assert "/etc/passwd" not in (tmp_path / "wh" / "report.html").read_text()


def test_a_file_whose_name_is_not_utf8_is_read_under_its_escaped_name(make_landing: Any, tmp_path: Path) -> None:
    root = make_landing(accelerometer={"plain.json": GOOD + "\n"})
    odd = os.path.join(os.fsencode(root / "accelerometer" / "landing"), b"export-\xe9t\xe9.json")
    with open(odd, "wb") as f:
        f.write(GOOD.replace('"timestamp":1', '"timestamp":2').encode() + b"\n")
    settings = Settings(landing=str(root), warehouse=str(tmp_path / "wh"))
    run(settings)
    wh = Warehouse(tmp_path / "wh")
    rows = {r["source_file"]: r["timestamp"] for r in wh.read("accelerometer_landing").to_pylist()}
    assert rows == {"accelerometer/landing/plain.json": 1, "accelerometer/landing/export-\\xe9t\\xe9.json": 2}
    ledger = {r["path"]: r["status"] for r in wh.read("ingested_files").to_pylist() if r["source"] == "accelerometer"}
    assert ledger["accelerometer/landing/export-\\xe9t\\xe9.json"] == "ingested"
    again = run(settings)  # the same name every run: nothing new
    assert [s.files for s in again.sources] == [0, 0, 0]
