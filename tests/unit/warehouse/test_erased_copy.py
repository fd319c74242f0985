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


def test_object_storage_keeps_no_copy() -> None:
    assert erased_copy.path_of("s3://bucket/warehouse") is None
    assert erased_copy.read("s3://bucket/warehouse") is None
    erased_copy.write("s3://bucket/warehouse", {"a"}, None)  # nothing to write, nothing attempted


def test_a_link_is_not_followed_out_of_the_warehouse(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"erased": []}')
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / "erased.json").symlink_to(elsewhere)
    with pytest.raises(WarehouseError, match="a link"):
        erased_copy.read(str(tmp_path / "wh"))
