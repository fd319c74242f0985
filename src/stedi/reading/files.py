"""A landing file's text, in blocks of whole lines, with the digest of the very bytes read.

Memory stays bounded whatever the file: bytes are read and inflated (gzip) a piece at a time, and a
line longer than the record limit is cut out of the text (reported, with a prefix, as one
quarantined fragment) instead of being held. The SHA-256 digest is taken of the bytes as read
(compressed, for `.gz`), so the rows and the hash the warehouse records come from the same bytes. A
local file is opened without following links and compared before and after reading: a file that
changed while it was read is reported, and its rows are not kept.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from stedi.reading.landing import LandingFile

BOM = b"\xef\xbb\xbf"
READ_BYTES = 8 << 20  # bytes read from storage, or inflated, at a time
DEFAULT_MAX_RECORD = 64 << 20  # a longer line is quarantined as "record too large"
PREFIX_CHARS = 1024  # what a quarantined fragment keeps of a line that is too large
_GZIP = 16 + zlib.MAX_WBITS


@dataclass(frozen=True)
class Block:
    """Whole lines of a file's text; `first_line` is the 1-based number of its first line and
    `starts` where each line starts (see `line_starts`)."""

    data: bytes | memoryview  # a view into the piece read where no line crossed into it
    first_line: int
    starts: np.ndarray
    # Whether the text is valid UTF-8 (so each line is: no character's bytes hold a LF), found on the
    # thread that reads it; None where not known.
    utf8: bool | None = None


def valid_utf8(data: bytes | memoryview) -> bool:
    """Whether `data` is valid UTF-8 (Arrow's check, which lets go of the interpreter lock)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


@dataclass
class FileText:
    """What reading a file gave besides its lines, complete once its blocks are consumed."""

    digest: str | None = None  # SHA-256 of the bytes read; None: the file could not be read
    error: str | None = None  # why (the rest of) the file could not be read: I/O, gzip corrupt or truncated
    changed: bool = False  # the file changed while it was read
    lines: int = 0  # lines of text
    too_large: list[tuple[int, str, int]] = field(default_factory=list)  # (line, prefix, bytes)


@cache
def _hasher() -> ThreadPoolExecutor:
    """One thread, so that a file's pieces are hashed in order."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="stedi-hash")


class _Raw:
    """The file's bytes from storage, a piece at a time, hashed as they come."""

    def __init__(self, fs: pafs.FileSystem, file: LandingFile) -> None:
        self.sha = hashlib.sha256()
        self.hashed: Future[None] | None = None
        self.fd: int | None = None
        self.stream = None
        self.before: tuple[int, ...] = ()
        if isinstance(fs, pafs.LocalFileSystem):
            # No link is followed (the path was checked when it was found), and a pipe that took the
            # file's place must not block.
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            self.fd = os.open(file.path, flags)
            self.before = self._stat()
        else:
            self.stream = fs.open_input_stream(file.path, compression=None)

    def _stat(self) -> tuple[int, ...]:
        assert self.fd is not None
        st = os.fstat(self.fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def pieces(self) -> Iterator[bytes]:
        while True:
            piece = os.read(self.fd, READ_BYTES) if self.fd is not None else self.stream.read(READ_BYTES)  # type: ignore[union-attr]
            if not piece:
                return
            # Hashed on another thread (hashlib lets go of the interpreter lock) while the text is split.
            self.hashed = _hasher().submit(self.sha.update, piece)
            yield piece

    def digest(self) -> str:
        if self.hashed is not None:
            self.hashed.result()
        return self.sha.hexdigest()

    def changed(self) -> bool:
        return self.fd is not None and self._stat() != self.before  # an object is read as one version

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        elif self.stream is not None:
            self.stream.close()


def _inflated(pieces: Iterable[bytes], text: FileText) -> Iterator[bytes]:
    """Every gzip member's bytes, a bounded piece at a time. On corruption what did inflate is kept
    (to the kilobyte) and the rest is reported; so is a last member that ends too soon."""
    inflater = zlib.decompressobj(_GZIP)
    for piece in pieces:
        pending = piece
        while pending:
            if inflater.eof:  # a member ended: another may follow, or padding
                if not pending.strip(b"\x00"):
                    break
                inflater = zlib.decompressobj(_GZIP)
            saved = inflater.copy()
            try:
                out = inflater.decompress(pending, READ_BYTES)
            except zlib.error as exc:
                yield _good_prefix(saved, pending)
                text.error = f"gzip data is corrupt: {exc}"
                for _ in pieces:  # the digest is of the whole file
                    pass
                return
            if out:
                yield out
            pending = inflater.unconsumed_tail or (inflater.unused_data if inflater.eof else b"")
    if not inflater.eof:
        yield inflater.flush()
        text.error = "gzip data is truncated"


def _good_prefix(inflater, data: bytes, step: int = 1024) -> bytes:
    """What inflates of `data` before the corruption (zlib gives nothing back from a failed call)."""
    out = []
    for i in range(0, len(data), step):
        try:
            out.append(inflater.decompress(data[i : i + step], READ_BYTES))
            while inflater.unconsumed_tail:
                out.append(inflater.decompress(inflater.unconsumed_tail, READ_BYTES))
        except zlib.error:
            break
    return b"".join(out)


def blocks(
    fs: pafs.FileSystem, file: LandingFile, max_record: int = DEFAULT_MAX_RECORD
) -> tuple[Iterator[Block], FileText]:
    """The file's text (without BOM) as blocks of whole lines, and what reading it gave."""
    text = FileText()
    return _blocks(fs, file, max_record, text), text


def _blocks(fs: pafs.FileSystem, file: LandingFile, max_record: int, text: FileText) -> Iterator[Block]:
    try:
        raw = _Raw(fs, file)
    except OSError as exc:
        text.error = f"file could not be read: {exc.strerror or exc}"
        return
    try:
        pieces: Iterable[bytes] = raw.pieces()
        if file.relative.lower().endswith(".gz"):
            pieces = _inflated(pieces, text)
        yield from _lines(pieces, max_record, text)
        text.changed = raw.changed()
        text.digest = raw.digest()
    except OSError as exc:
        text.error = f"file could not be read: {exc.strerror or exc}"
        text.digest = None
    finally:
        raw.close()


def _lines(pieces: Iterable[bytes], max_record: int, text: FileText) -> Iterator[Block]:
    """Blocks of whole lines. A line longer than `max_record` becomes an empty line (so that the
    numbers of the lines after it stay right) and is reported in `text.too_large`."""
    lines = _Lines(max_record, text)
    first = True
    for piece in pieces:
        if first and piece:
            piece, first = piece.removeprefix(BOM), False
        yield from lines.add(piece)
    yield from lines.end()


class _Lines:
    def __init__(self, max_record: int, text: FileText) -> None:
        self.max_record, self.text = max_record, text
        self.carry = b""  # the start of a line whose end has not come yet
        self.oversized = False  # inside a line that is too large: dropped up to its end
        self.next = 1  # number of the line the carry belongs to

    def add(self, piece: bytes) -> Iterator[Block]:
        while piece:
            end = piece.find(b"\n")
            if self.oversized:
                line, prefix, size = self.text.too_large[-1]
                self.text.too_large[-1] = (line, prefix, size + (len(piece) if end == -1 else end))
                if end == -1:
                    return
                self.next += 1
                piece, self.oversized = piece[end + 1 :], False
                continue
            last = piece.rfind(b"\n")
            if last == -1:
                self.carry += piece
                piece = b""
            else:
                # Views, not copies, of the piece (copying every byte twice cost 0.5 CPU seconds a
                # gigabyte): only the line begun in the pieces before is joined into new bytes.
                view, start = memoryview(piece), 0
                if self.carry:
                    start = piece.find(b"\n") + 1
                    yield from self._whole(self.carry + view[:start])
                if start <= last:
                    yield from self._whole(view[start : last + 1])
                self.carry, piece = piece[last + 1 :], b""
            if len(self.carry) > self.max_record:
                self._too_large(self.carry)
                self.carry, self.oversized = b"", True

    def _whole(self, data: bytes | memoryview) -> Iterator[Block]:
        """Text ending in LF: one block, unless a line of it is too large (found with NumPy)."""
        starts = line_starts(data)
        lengths = np.diff(starts)
        if not len(lengths):
            return
        if int(lengths.max()) - 1 <= self.max_record:
            yield Block(data, self.next, starts, valid_utf8(data))
            self.next += len(lengths)
            return
        for start, end in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
            if end - start - 1 > self.max_record:
                self._too_large(data[start : end - 1])
            else:
                yield Block(data[start:end], self.next, line_starts(data[start:end]))
            self.next += 1

    def _too_large(self, line: bytes | memoryview) -> None:
        prefix = bytes(line[:PREFIX_CHARS]).decode("utf-8", "backslashreplace")
        self.text.too_large.append((self.next, prefix, len(line)))

    def end(self) -> Iterator[Block]:
        if self.carry:
            yield Block(self.carry, self.next, line_starts(self.carry))
            self.next += 1
        elif self.oversized:
            self.next += 1
        self.text.lines = self.next - 1


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


READ_AHEAD_BYTES = 128 << 20  # text read ahead of the reader (one batch of `reader.BATCH_BYTES`)


class ReadAhead:
    """The files' blocks of whole lines (see `blocks`), read, inflated, hashed and split on a thread
    of its own while the caller works on the blocks before them (work that mostly lets go of the
    interpreter lock: regular expressions, DuckDB), so that the two cores are busy. At most `limit`
    bytes of blocks wait at a time.

    `next_file()` gives the next file's blocks, in the order of `files`; what reading it gave is
    complete once they are consumed, as with `blocks`. A failure on the thread is raised where the
    caller takes the next block. `close()` stops the thread, which closes the file it holds."""

    def __init__(
        self,
        fs: pafs.FileSystem,
        files: list[LandingFile],
        max_record: int,
        limit: int = READ_AHEAD_BYTES,
    ) -> None:
        self._items: queue.Queue[tuple[str, object]] = queue.Queue()
        self._room = threading.Condition()
        self._waiting = 0  # bytes of blocks read and not yet taken
        self._limit = limit
        self._stop = False
        self._thread = threading.Thread(
            target=self._produce, args=(fs, files, max_record), name="stedi-read", daemon=True
        )
        self._thread.start()

    def _produce(self, fs: pafs.FileSystem, files: list[LandingFile], max_record: int) -> None:
        try:
            for file in files:
                text_blocks, text = blocks(fs, file, max_record)
                try:
                    for block in text_blocks:
                        with self._room:
                            self._room.wait_for(lambda: self._stop or self._waiting < self._limit)
                            if self._stop:
                                return
                            self._waiting += len(block.data)
                        self._items.put(("block", block))
                finally:
                    text_blocks.close()  # type: ignore[attr-defined]
                self._items.put(("end", text))
        except BaseException as exc:  # handed to the caller, raised where it takes the next block
            self._items.put(("error", exc))

    def next_file(self) -> FileBlocks:
        """The blocks of the next file (call once per file, in order, after the last one's are consumed)."""
        return FileBlocks(self)

    def _take(self) -> tuple[str, object]:
        kind, item = self._items.get()
        if kind == "error":
            raise item  # type: ignore[misc]
        if kind == "block":
            with self._room:
                self._waiting -= len(item.data)  # type: ignore[attr-defined]
                self._room.notify()
        return kind, item

    def close(self) -> None:
        with self._room:
            self._stop = True
            self._room.notify_all()
        self._thread.join()


class FileBlocks:
    """One file's blocks from a ReadAhead; `text` is what reading it gave, once they are consumed."""

    def __init__(self, ahead: ReadAhead) -> None:
        self._ahead = ahead
        self.text: FileText | None = None

    def __iter__(self) -> Iterator[Block]:
        while self.text is None:
            kind, item = self._ahead._take()
            if kind == "end":
                self.text = item  # type: ignore[assignment]
            else:
                yield item  # type: ignore[misc]

    def rest(self) -> FileText:
        """Consume what is left of the file's blocks; what reading it gave."""
        for _ in self:
            pass
        assert self.text is not None
        return self.text
