"""The exact reader of JSON text: strict values, framings and case-insensitive duplicate keys.

This is the reference implementation of docs/semantics.md "Reading a record" for the text of one line
(or one whole file read as an array). The vectorised fast path only ever accepts lines for which
this module would give the same record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

JSON_WS = " \t\n\r"


class IntLiteral:
    """A JSON number without fraction or exponent, kept as its literal text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"IntLiteral({self.text})"


class FloatLiteral(IntLiteral):
    """A JSON number with a fraction or an exponent, kept as its literal text."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"FloatLiteral({self.text})"


class _NotStrictJSON(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotStrictJSON(f"{name} is not JSON")


class _Decoder:
    """Wraps json's C scanner; records whether any object had keys equal ignoring case."""

    def __init__(self) -> None:
        self.duplicate_key: str | None = None
        self._scan = json.JSONDecoder(
            object_pairs_hook=self._object,
            parse_int=IntLiteral,
            parse_float=FloatLiteral,
            parse_constant=_reject_constant,
            strict=True,
        ).raw_decode

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            folded = key.lower()
            if folded in obj and self.duplicate_key is None:
                self.duplicate_key = key
            obj[folded] = value
        return obj

    def decode(self, text: str, pos: int) -> tuple[Any, int, str | None]:
        """One value starting exactly at pos: (value, end, duplicate key or None)."""
        self.duplicate_key = None
        value, end = self._scan(text, pos)
        return value, end, self.duplicate_key


@dataclass(frozen=True)
class Value:
    """A top-level JSON value found in the text: keys of objects are lower-cased."""

    value: Any
    raw: str
    line: int  # 1-based line where the value starts
    index: int  # 0-based position among values starting on that line
    duplicate_key: str | None


@dataclass(frozen=True)
class Fragment:
    """Text that does not parse: the rest of a line, kept whole."""

    raw: str
    line: int
    reason: str


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in JSON_WS:
        pos += 1
    return pos


_decoder = _Decoder()


def _decode(text: str, pos: int) -> tuple[Any, int, str | None] | str:
    """Decode one value or return why it cannot be decoded."""
    try:
        return _decoder.decode(text, pos)
    except RecursionError:
        return "invalid JSON: nesting too deep"
    except ValueError as exc:  # JSONDecodeError is a ValueError, and so is a rejected NaN/Infinity
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return f"invalid JSON: {msg}"


def scan_line(text: str, line: int) -> Iterator[Value | Fragment]:
    """Values of one line, read one after another, skipping white space and one comma between them."""
    n = len(text)
    pos = _skip_ws(text, 0)
    index = 0
    while pos < n:
        if index and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            if pos >= n:
                return
        decoded = _decode(text, pos)
        if isinstance(decoded, str):
            yield Fragment(text[pos:], line, decoded)
            return
        value, end, dup = decoded
        yield Value(value, text[pos:end], line, index, dup)
        index += 1
        pos = _skip_ws(text, end)


def scan_array(text: str) -> list[Value] | None:
    """The elements of text when its whole text is one JSON array; otherwise None."""
    n = len(text)
    pos = _skip_ws(text, 0)
    if pos >= n or text[pos] != "[":
        return None
    out: list[Value] = []
    pos = _skip_ws(text, pos + 1)
    if pos < n and text[pos] == "]":
        return out if _skip_ws(text, pos + 1) == n else None
    line, counted_to, index = 1, 0, 0
    while True:
        decoded = _decode(text, pos)
        if isinstance(decoded, str):
            return None
        value, end, dup = decoded
        newlines = text.count("\n", counted_to, pos)
        line, counted_to = line + newlines, pos
        index = 0 if newlines or not out else index + 1
        out.append(Value(value, text[pos:end], line, index, dup))
        pos = _skip_ws(text, end)
        if pos >= n:
            return None
        if text[pos] == "]":
            return out if _skip_ws(text, pos + 1) == n else None
        if text[pos] != ",":
            return None
        pos = _skip_ws(text, pos + 1)
