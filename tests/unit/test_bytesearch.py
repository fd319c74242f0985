"""The byte search the privacy tests rely on: it must find a text through gzip and must not stop
at a binary file that only happens to start with gzip's two magic bytes."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.support.bytesearch import files_holding


def test_a_text_is_found_inside_gzip_and_in_plain_bytes(tmp_path: Path) -> None:
    (tmp_path / "packed.gz").write_bytes(gzip.compress(b'{"email": "Zoe@X.com"}'))
    (tmp_path / "plain.bin").write_bytes(b"\x00\x01zoe@x.com\x02")
    (tmp_path / "other.bin").write_bytes(b"nobody here")
    assert files_holding(tmp_path, "zoe@x.com") == [tmp_path / "packed.gz", tmp_path / "plain.bin"]


def test_a_binary_file_that_starts_like_gzip_is_searched_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "a.duckdb").write_bytes(b"\x1f\x8b\x00\x17rest of a header zoe@x.com")
    (tmp_path / "b.duckdb").write_bytes(b"\x1f\x8b\x08\x00truncated")
    assert files_holding(tmp_path, "zoe@x.com") == [tmp_path / "a.duckdb"]
