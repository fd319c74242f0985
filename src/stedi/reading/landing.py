"""The landing area: finding a source's files and turning each into text lines (gzip, BOM, CR/LF)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow.fs as pafs

from stedi.errors import LandingError
from stedi.warehouse.storage import explain, filesystem

DATA_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandingFile:
    path: str  # as the filesystem knows it
    relative: str  # below ROOT, with "/" separators: what the tables record as source_file
    size: int


def open_root(root: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a landing root: a local folder or an object-store URI."""
    try:
        return filesystem(root)
    except Exception as exc:  # pyarrow raises several types for bad URIs
        raise LandingError(f"cannot open landing area {explain(exc, root)}") from exc


def root_exists(root: str) -> bool:
    fs, base = open_root(root)
    try:
        return bool(fs.get_file_info(base).type == pafs.FileType.Directory)
    except OSError as exc:
        raise LandingError(f"cannot read landing area {explain(exc, root)}") from exc


def discover(root: str, source: str) -> tuple[list[LandingFile], list[str]]:
    """Data files of SOURCE/landing/ in path order, and the other files found there (skipped)."""
    fs, base = open_root(root)
    folder = f"{base}/{source}/landing"
    try:
        info = fs.get_file_info(folder)
        listing = pafs.FileSelector(folder, recursive=True)
        entries = fs.get_file_info(listing) if info.type == pafs.FileType.Directory else []
    except OSError as exc:
        raise LandingError(f"cannot list landing area {explain(exc, root)}") from exc
    if info.type != pafs.FileType.Directory:
        raise LandingError(
            f"landing folder {root} has no {source}/landing/ folder (expected ROOT/{source}/landing/*.json)"
        )
    files, skipped = [], []
    for entry in entries:
        relative = entry.path[len(base) + 1 :]
        if entry.type == pafs.FileType.Directory:
            continue
        if entry.type != pafs.FileType.File:  # a pipe, socket or device: never opened, always reported
            skipped.append(f"{relative} (not a regular file)")
            continue
        if entry.base_name.lower().endswith(DATA_SUFFIXES):
            files.append(LandingFile(entry.path, relative, entry.size or 0))
        else:
            skipped.append(relative)
    files.sort(key=lambda f: f.relative[len(source) + len("/landing/") :])
    return files, sorted(skipped)


def read_bytes(fs: pafs.FileSystem, file: LandingFile) -> tuple[bytes, str | None]:
    """The file's (decompressed) bytes, and why the rest could not be read, if it could not."""
    try:
        with fs.open_input_stream(file.path, compression=None) as stream:
            raw = stream.read()
    except OSError as exc:
        return b"", f"file could not be read: {exc}"
    if not file.relative.lower().endswith(".gz"):
        return raw, None
    return gunzip_prefix(raw)


def gunzip_prefix(raw: bytes) -> tuple[bytes, str | None]:
    """Decompress every gzip member; on corruption keep what did decompress and say what failed."""
    out: list[bytes] = []
    rest = raw
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out.append(inflater.decompress(rest))
        except zlib.error as exc:
            # zlib gives nothing back from a failed call: retry in small steps to keep the good prefix.
            out.append(_inflate_until_error(rest))
            return b"".join(out), f"gzip data is corrupt: {exc}"
        if not inflater.eof:
            out.append(inflater.flush())
            return b"".join(out), "gzip data is truncated"
        rest = inflater.unused_data
        if not rest.strip(b"\x00"):
            return b"".join(out), None


def _inflate_until_error(data: bytes, step: int = 1024) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = []
    for i in range(0, len(data), step):
        try:
            out.append(inflater.decompress(data[i : i + step]))
        except zlib.error:
            break
    return b"".join(out)


def line_starts(data: bytes | memoryview) -> np.ndarray:
    """Offsets where each line starts, plus len(data) at the end; a final LF opens no new line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.empty(len(newlines) + 2, dtype=np.int64)
    starts[0] = 0
    starts[1:-1] = newlines + 1
    starts[-1] = len(buf)
    if starts[-2] == len(buf):  # text ending in LF (or empty): no line after it
        starts = starts[:-1]
    return starts


def line_text(data: bytes | memoryview, start: int, end: int) -> str | None:
    """One line without its LF (and the CR before it); None when it is not valid UTF-8."""
    try:
        return _without_eol(data, start, end).decode("utf-8")
    except UnicodeDecodeError:
        return None


def undecodable(data: bytes | memoryview, start: int, end: int) -> str:
    """The text of a line that is not valid UTF-8, its bad bytes shown as escapes."""
    return _without_eol(data, start, end).decode("utf-8", errors="backslashreplace")


def _without_eol(data: bytes | memoryview, start: int, end: int) -> bytes:
    raw = bytes(data[start:end])
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    return raw
