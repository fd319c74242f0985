"""Finding landing files never leaves the landing root: links, loops and special files are reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stedi.reading.landing import discover


def _landing(root: Path) -> Path:
    folder = root / "customer" / "landing"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text("{}\n")
    return folder


def test_links_are_followed_only_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = _landing(root)
    (tmp_path / "secret.json").write_text("secret\n")
    (folder / "outside.json").symlink_to(tmp_path / "secret.json")
    (folder / "copy.json").symlink_to(folder / "a.json")
    (folder / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    (folder / "sub").mkdir()
    (folder / "sub" / "loop").symlink_to(folder)
    os.mkfifo(folder / "pipe.json")
    listing = discover(str(root), "customer")
    assert [f.relative for f in listing.files] == ["customer/landing/a.json", "customer/landing/copy.json"]
    assert dict(listing.skipped) == {
        "customer/landing/dangling.json": "a link that leaves the landing root or leads nowhere",
        "customer/landing/outside.json": "a link that leaves the landing root or leads nowhere",
        "customer/landing/pipe.json": "not a regular file",
        "customer/landing/sub/loop": "a link to a folder already read (a loop)",
    }
    assert all(str(tmp_path / "secret.json") != f.path for f in listing.files)


def test_a_folder_that_cannot_be_read_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _landing(tmp_path)
    (folder / "locked").mkdir()
    (folder / "locked" / "b.json").write_text("{}\n")
    real = os.scandir

    def scandir(path):  # tests run as root, whom permissions do not stop
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    listing = discover(str(tmp_path), "customer")
    assert [f.relative for f in listing.files] == ["customer/landing/a.json"]
    assert listing.skipped == [("customer/landing/locked", "folder could not be read: Permission denied")]


def test_a_missing_source_folder_is_said_so(tmp_path: Path) -> None:
    assert discover(str(tmp_path), "customer").missing


def test_a_name_that_is_not_utf8_is_listed_with_its_bytes_escaped(tmp_path: Path) -> None:
    folder = _landing(tmp_path)
    odd = os.path.join(os.fsencode(folder), b"export-\xff\xfe.json")
    with open(odd, "wb") as f:
        f.write(b"{}\n")
    listing = discover(str(tmp_path), "customer")
    named = {f.relative: f for f in listing.files}
    assert sorted(named) == ["customer/landing/a.json", "customer/landing/export-\\xff\\xfe.json"]
    with open(named["customer/landing/export-\\xff\\xfe.json"].path, "rb") as f:  # the real file behind it
        assert f.read() == b"{}\n"
    assert listing.skipped == []
