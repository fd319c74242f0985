"""Values kept in snapshot properties: JSON, compressed, in base64 (a property is a string, stored
once per snapshot)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any


def packed(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(text, 9)).decode("ascii")


def unpacked(text: str, limit: int | None = None) -> Any:
    """The value of `packed`; None when `text` is not one, or inflates to more than `limit` bytes."""
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(text), limit or 0)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
        return json.loads(data)
    except (ValueError, zlib.error):
        return None
