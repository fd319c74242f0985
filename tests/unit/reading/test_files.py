"""A file's text in blocks of whole lines: digests of the bytes read, gzip, records too large, and a
file that changes while it is read."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import zlib
from pathlib import Path
from unittest import mock

import pyarrow.fs as pafs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stedi.reading import files
from stedi.reading.files import blocks
from stedi.reading.landing import LandingFile


def _read(path: Path, max_record: int = 1 << 20) -> tuple[bytes, files.FileText, list[int]]:
    found, text = blocks(pafs.LocalFileSystem(), LandingFile(str(path), path.name, path.stat().st_size), max_record)
    parts = list(found)
    return b"".join(p.data for p in parts), text, [p.first_line for p in parts]


def test_the_digest_is_of_the_bytes_read_and_the_bom_is_dropped(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfa\r\nb\nc"
    (tmp_path / "f.json").write_bytes(raw)
    data, text, _ = _read(tmp_path / "f.json")
    assert data == b"a\r\nb\nc" and text.lines == 3 and text.error is None
    assert text.digest == hashlib.sha256(raw).hexdigest()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(st.sampled_from([b"ab", b"x" * 9, b"", b"\r", b"\xc3\xa9", b"\xff", b"a\xc3"]), max_size=12).map(
        b"\n".join
    ),
    end=st.sampled_from([b"", b"\n"]),
    piece=st.integers(1, 12),
)
def test_blocks_hold_every_line_once_whatever_the_pieces_read(
    tmp_path_factory: pytest.TempPathFactory, text: bytes, end: bytes, piece: int
) -> None:
    """Lines that cross from one piece read into the next, pieces holding no line end, and lines
    ending where a piece ends: each block's lines are the file's next lines, in order. A block
    that says whether its text is valid UTF-8 says it rightly."""
    path = tmp_path_factory.mktemp("f") / "f.json"
    path.write_bytes(text + end)
    with mock.patch.object(files, "READ_BYTES", piece):
        found, read = blocks(pafs.LocalFileSystem(), LandingFile(str(path), path.name, path.stat().st_size))
        parts = list(found)
    got, numbers = [], []
    for part in parts:
        data = bytes(part.data)
        starts = part.starts.tolist()
        got += [data[a:b] for a, b in itertools.pairwise(starts)]
        numbers += range(part.first_line, part.first_line + len(starts) - 1)
        assert part.utf8 in (None, _decodes(data))
    if b"\n" in text + end:  # a block of lines ending in LF is checked where it is read
        assert any(part.utf8 is not None for part in parts)
    assert b"".join(got) == text + end
    assert got == _split_on_lf(text + end)
    assert numbers == list(range(1, len(got) + 1)) and read.lines == len(got)
    assert read.digest == hashlib.sha256(text + end).hexdigest()


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _split_on_lf(data: bytes) -> list[bytes]:
    """Lines ending in LF (CR is text), and the last one without it."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]


def test_a_line_over_the_record_limit_is_cut_out_and_the_line_numbers_stay(tmp_path: Path) -> None:
    (tmp_path / "f.json").write_bytes(b"first\n" + b"x" * 5000 + b"\nthird\n" + b"y" * 5000)
    data, text, first_lines = _read(tmp_path / "f.json", max_record=1000)
    assert data == b"first\nthird\n" and first_lines == [1, 3]
    assert [(line, size) for line, _, size in text.too_large] == [(2, 5000), (4, 5000)]
    assert all(len(prefix) <= files.PREFIX_CHARS for _, prefix, _ in text.too_large)
    assert text.lines == 4


def test_gzip_members_are_read_in_turn_and_a_truncated_one_is_reported(tmp_path: Path) -> None:
    (tmp_path / "two.json.gz").write_bytes(gzip.compress(b"a\nb\n") + gzip.compress(b"c\n"))
    assert _read(tmp_path / "two.json.gz")[0] == b"a\nb\nc\n"
    whole = gzip.compress(b"line\n" * 10_000)
    (tmp_path / "cut.json.gz").write_bytes(whole[: len(whole) // 2])
    data, text, _ = _read(tmp_path / "cut.json.gz")
    assert text.error == "gzip data is truncated" and data.startswith(b"line\n")


def test_inflation_is_streamed_a_bomb_never_held_whole(tmp_path: Path) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\x00" * (64 << 20)
    bomb = b"".join(packer.compress(chunk) for _ in range(4)) + packer.flush()  # 256 MB of NUL, one line
    (tmp_path / "bomb.json.gz").write_bytes(bomb)
    found, text = blocks(
        pafs.LocalFileSystem(), LandingFile(str(tmp_path / "bomb.json.gz"), "bomb.json.gz", len(bomb)), 1 << 20
    )
    assert max((len(b.data) for b in found), default=0) <= 1 << 20
    assert [(line, size) for line, _, size in text.too_large] == [(1, 256 << 20)]


def test_a_file_that_changes_while_it_is_read_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b"a\n" * 100)
    original = files._Raw.pieces

    def pieces(raw: files._Raw):  # the writer appends once the reader has begun
        for number, piece in enumerate(original(raw)):
            if number == 0:
                with path.open("ab") as out:
                    out.write(b"late\n")
            yield piece

    monkeypatch.setattr(files._Raw, "pieces", pieces)
    _, text, _ = _read(path)
    assert text.changed


def _landing(path: Path) -> LandingFile:
    return LandingFile(str(path), path.name, path.stat().st_size if path.exists() else 0)


def _fields(text: files.FileText) -> tuple:
    return (text.digest, text.error, text.changed, text.lines, text.too_large)


def test_reading_ahead_gives_what_reading_each_file_in_turn_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "READ_BYTES", 7)  # many small blocks per file
    (tmp_path / "a.json").write_bytes(b"\xef\xbb\xbfone\ntwo\r\n" + b"x" * 300 + b"\nlast")
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(b"g1\ng2\n" * 20))
    (tmp_path / "empty.json").write_bytes(b"")
    paths = [tmp_path / n for n in ("a.json", "b.json.gz", "gone.json", "empty.json")]  # gone.json is missing
    landing = [_landing(p) for p in paths]
    expected = []
    for file in landing:
        found, text = blocks(pafs.LocalFileSystem(), file, 100)
        expected.append(([(b.data, b.first_line, b.starts.tolist()) for b in found], _fields(text)))
    ahead = files.ReadAhead(pafs.LocalFileSystem(), landing, 100, limit=1)  # one block waits at a time
    try:
        got = []
        for _ in landing:
            file_blocks = ahead.next_file()
            parts = [(b.data, b.first_line, b.starts.tolist()) for b in file_blocks]
            got.append((parts, _fields(file_blocks.rest())))
    finally:
        ahead.close()
    assert got == expected
    assert got[2][1][1].startswith("file could not be read") and got[0][1][4][0][0] == 3


def _open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_closing_a_read_ahead_stops_its_thread_and_closes_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "READ_BYTES", 16)
    (tmp_path / "long.json").write_bytes(b"line\n" * 10_000)
    before = _open_descriptors()
    ahead = files.ReadAhead(pafs.LocalFileSystem(), [_landing(tmp_path / "long.json")], 1 << 20, limit=1)
    first = next(iter(ahead.next_file()))
    assert bytes(first.data).startswith(b"line\n")
    ahead.close()  # long before the file's end: the thread waits for room, sees the stop, and ends
    assert not ahead._thread.is_alive()
    assert _open_descriptors() == before


def test_a_failure_while_reading_ahead_is_raised_where_the_reader_takes_the_next_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.json").write_bytes(b"a\n")
    (tmp_path / "b.json").write_bytes(b"b\n")
    original = files.blocks

    def failing(fs: pafs.FileSystem, file: LandingFile, max_record: int):  # -> (blocks, FileText)
        if file.relative == "b.json":
            raise RuntimeError("the disk went away")
        return original(fs, file, max_record)

    monkeypatch.setattr(files, "blocks", failing)
    ahead = files.ReadAhead(pafs.LocalFileSystem(), [_landing(tmp_path / n) for n in ("a.json", "b.json")], 1 << 20)
    try:
        assert [b.data for b in ahead.next_file()] == [b"a\n"]
        with pytest.raises(RuntimeError, match="the disk went away"):
            list(ahead.next_file())
    finally:
        ahead.close()
