"""Search every file of a folder for a text, case-insensitively, through the compressions it uses:
gzip, Parquet (values and column statistics) and Avro container files (deflate blocks)."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import pyarrow.parquet as pq


def _varint(stream: io.BytesIO) -> int:
    shift = result = 0
    while True:
        byte = stream.read(1)[0]
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1)  # zigzag


def _avro_payloads(data: bytes) -> list[bytes]:
    stream = io.BytesIO(data[4:])
    meta = {}
    while (count := _varint(stream)) != 0:
        if count < 0:
            _varint(stream)
            count = -count
        for _ in range(count):
            key = stream.read(_varint(stream)).decode()
            meta[key] = stream.read(_varint(stream))
    stream.read(16)
    codec = meta.get("avro.codec", b"null")
    out = [data[: 4 + stream.tell()]]
    while stream.tell() < len(data) - 4:
        _varint(stream)
        block = stream.read(_varint(stream))
        out.append(zlib.decompress(block, -15) if codec == b"deflate" else block)
        stream.read(16)
    return out


def _parquet_texts(path: Path) -> list[bytes]:
    texts = [str(pq.read_table(path).to_pylist()).encode()]
    meta = pq.ParquetFile(path).metadata
    for rg in range(meta.num_row_groups):
        for col in range(meta.num_columns):
            stats = meta.row_group(rg).column(col).statistics
            if stats is not None and stats.has_min_max:
                texts.append(f"{stats.min!r} {stats.max!r}".encode())
    return texts


def _gzip_payload(data: bytes) -> list[bytes]:
    # Two bytes are a weak signature: a binary file (DuckDB's header checksum, say) may start
    # with them by chance, and such a file is searched as it is.
    try:
        return [gzip.decompress(data)]
    except (gzip.BadGzipFile, EOFError, zlib.error):
        return []


def files_holding(folder: Path, text: str) -> list[Path]:
    needle = text.lower().encode()
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        payloads = [data]
        if data[:2] == b"\x1f\x8b":
            payloads += _gzip_payload(data)
        if data[:4] == b"PAR1":
            payloads += _parquet_texts(path)
        if data[:4] == b"Obj\x01":
            payloads += _avro_payloads(data)
        if any(needle in p.lower() for p in payloads):
            found.append(path)
    return found
