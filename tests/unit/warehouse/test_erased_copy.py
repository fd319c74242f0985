"""The warehouse folder's copy of who was erased: written whole, read back, damage named."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.errors import WarehouseError
from stedi.warehouse import erased_copy
from stedi.warehouse.erased_copy import ErasedCopy


def test_written_whole_and_read_back(tmp_path: Path) -> None:
    assert erased_copy.read(str(tmp_path)) is None
    erased_copy.write(str(tmp_path), {"b" * 64, "a" * 64}, "f" * 32)
    assert erased_copy.read(str(tmp_path)) == ErasedCopy(frozenset({"a" * 64, "b" * 64}), "f" * 32)
    assert [p.name for p in tmp_path.iterdir()] == ["erased.json"]  # no temporary file left behind


@pytest.mark.parametrize("text", ["", "{", "[]", '{"erased": "abc"}', '{"erased": [1]}', '{"other": []}'])
def test_a_damaged_copy_is_named_in_one_line(tmp_path: Path, text: str) -> None:
    (tmp_path / "erased.json").write_text(text)
    with pytest.raises(WarehouseError, match=r"erased\.json is damaged") as raised:
        erased_copy.read(str(tmp_path))
    assert "\n" not in str(raised.value)


def test_object_storage_keeps_the_copy_at_the_warehouse_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the storage's filesystem API (here pyarrow's local one standing in for the bucket)."""
    import pyarrow.fs as pafs

    asked = []

    def bucket(location: str) -> tuple[pafs.FileSystem, str]:
        asked.append(location)
        return pafs.LocalFileSystem(), str(tmp_path / location.removeprefix("s3://"))

    monkeypatch.setattr(erased_copy, "filesystem", bucket)
    (tmp_path / "bucket" / "wh").mkdir(parents=True)
    assert erased_copy.path_of("s3://bucket/wh") is None  # no local path
    assert erased_copy.read("s3://bucket/wh/") is None
    erased_copy.write("s3://bucket/wh/", {"a" * 64}, "f" * 32)
    assert erased_copy.read("s3://bucket/wh") == ErasedCopy(frozenset({"a" * 64}), "f" * 32)
    assert set(asked) == {"s3://bucket/wh/erased.json"}
    (tmp_path / "bucket" / "wh" / "erased.json").write_text('{"erased": [1]}')
    with pytest.raises(WarehouseError, match=r"s3://bucket/wh/erased\.json is damaged"):
        erased_copy.read("s3://bucket/wh")


def test_storage_that_cannot_be_reached_is_one_line() -> None:
    with pytest.raises(WarehouseError, match="cannot read the record of erased people") as raised:
        erased_copy.read("nosuchscheme://bucket/warehouse")
    assert "\n" not in str(raised.value)


def test_a_link_is_not_followed_out_of_the_warehouse(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"erased": []}')
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / "erased.json").symlink_to(elsewhere)
    with pytest.raises(WarehouseError, match="a link"):
        erased_copy.read(str(tmp_path / "wh"))
