"""The warehouse's file IO: a moved warehouse reads and writes where it is now, and nothing is read,
written or deleted outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.warehouse.fileio import LOGICAL_ROOT, PHYSICAL_ROOT, OutsideWarehouse, WarehouseFileIO, local_uri


def _io(logical: str, physical: str) -> WarehouseFileIO:
    return WarehouseFileIO({LOGICAL_ROOT: logical, PHYSICAL_ROOT: physical})


def test_paths_under_the_root_it_was_made_at_are_read_where_it_is_now(tmp_path: Path) -> None:
    (tmp_path / "new" / "stedi").mkdir(parents=True)
    (tmp_path / "new" / "stedi" / "f.txt").write_text("here")
    io = _io(local_uri(str(tmp_path / "old")), local_uri(str(tmp_path / "new")))
    logical = local_uri(str(tmp_path / "old" / "stedi" / "f.txt"))
    with io.new_input(logical).open() as handle:
        assert handle.read() == b"here"
    out = io.new_output(local_uri(str(tmp_path / "old" / "stedi" / "g.txt")))
    assert out.location.startswith(local_uri(str(tmp_path / "old")))  # the metadata keeps its paths
    with out.create() as handle:
        handle.write(b"written")
    assert (tmp_path / "new" / "stedi" / "g.txt").read_bytes() == b"written"
    assert not (tmp_path / "old").exists()


def test_nothing_is_read_written_or_deleted_outside_the_warehouse(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("keep")
    io = _io(local_uri(str(tmp_path / "wh")), local_uri(str(tmp_path / "wh")))
    with pytest.raises(OutsideWarehouse, match="refused to read"):
        io.new_input(local_uri(str(tmp_path / "other.txt"))).open()
    with pytest.raises(OutsideWarehouse, match="refused to read"):
        io.new_input(local_uri(str(tmp_path / "wh-sibling" / "f.txt")))  # a prefix of the name is not inside
    with pytest.raises(OutsideWarehouse):
        io.delete(local_uri(str(tmp_path / "other.txt")))
    with pytest.raises(OutsideWarehouse):
        io.new_output(local_uri(str(tmp_path / "other.txt")))
    assert (tmp_path / "other.txt").read_text() == "keep"


@pytest.mark.parametrize("name", ["with space", "with#hash?and%percent", "ünïcödé", "quote'd"])
def test_any_folder_name_is_a_path_not_a_uri_to_decode(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    io = _io(local_uri(str(folder)), local_uri(str(folder)))
    with io.new_output(local_uri(str(folder / "f.txt"))).create() as handle:
        handle.write(b"x")
    assert (folder / "f.txt").read_bytes() == b"x"
    assert WarehouseFileIO.parse_location("file:" + str(folder / "f.txt"))[2] == str(folder / "f.txt")
