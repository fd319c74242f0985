"""Reading a decoded JSON object as a record of a source: the contract's coercion rules, exactly."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from stedi.contract.sources import Field, FieldType, Source
from stedi.reading.jsonscan import FloatLiteral, IntLiteral

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_D_MIN, _D_MAX = Decimal(INT64_MIN), Decimal(INT64_MAX)
TRIM_CHARS = " \t\r\n"
_INT_TEXT = re.compile(r"[+-]?([0-9]+)", re.ASCII)
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


class Invalid(Exception):
    """A value that cannot be read as its field's type; the message is the quarantine reason."""


def _describe(value: Any) -> str:
    if isinstance(value, IntLiteral):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _int_from_digits(sign_and_digits: str, digits: str) -> int | None:
    # Compare lengths before converting: huge digit strings must not reach int().
    if len(digits.lstrip("0")) > 19:
        return None
    value = int(sign_and_digits)
    return value if INT64_MIN <= value <= INT64_MAX else None


def read_int(value: Any) -> int:
    if isinstance(value, FloatLiteral):
        exact = Decimal(value.text)
        if exact != exact.to_integral_value():
            raise Invalid(f"not an integer ({value.text})")
        if not _D_MIN <= exact <= _D_MAX:
            raise Invalid(f"integer out of 64-bit range ({value.text})")
        return int(exact)
    if isinstance(value, IntLiteral):
        digits = value.text.lstrip("-")
        result = _int_from_digits(value.text, digits)
        if result is None:
            raise Invalid(f"integer out of 64-bit range ({value.text})")
        return result
    if type(value) is str:
        text = value.strip(TRIM_CHARS)
        match = _INT_TEXT.fullmatch(text)
        if not match:
            raise Invalid(f"not an integer ({_describe(value)})")
        result = _int_from_digits(text, match.group(1))
        if result is None:
            raise Invalid(f"integer out of 64-bit range ({_describe(value)})")
        return result
    raise Invalid(f"not an integer ({_describe(value)})")


def read_number(value: Any) -> float:
    if isinstance(value, IntLiteral):
        text = value.text
    elif type(value) is str:
        text = value.strip(TRIM_CHARS)
        if not _NUMBER_TEXT.fullmatch(text):
            raise Invalid(f"not a number ({_describe(value)})")
    else:
        raise Invalid(f"not a number ({_describe(value)})")
    result = float(text)
    if not math.isfinite(result):
        raise Invalid(f"number is not finite ({_describe(value)})")
    return result


def read_string(value: Any) -> str:
    if type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("string holds an unpaired surrogate escape") from None
        return value
    if isinstance(value, IntLiteral):
        return value.text
    raise Invalid(f"not a string ({_describe(value)})")


_READERS = {FieldType.INT: read_int, FieldType.NUMBER: read_number, FieldType.STRING: read_string}


def read_field(field: Field, obj: dict[str, Any]) -> Any:
    if field.key not in obj:
        if field.required:
            raise Invalid(f"missing required field {field.name}")
        return None
    value = obj[field.key]
    if value is None:
        if field.required:
            raise Invalid(f"required field {field.name} is null")
        return None
    try:
        result = _READERS[field.type](value)
    except Invalid as exc:
        raise Invalid(f"field {field.name}: {exc}") from None
    if field.required and isinstance(result, str) and not result.strip(TRIM_CHARS):
        raise Invalid(f"required field {field.name} is empty")
    return result


def read_record(source: Source, obj: dict[str, Any]) -> tuple[Any, ...]:
    """The record's field values in contract order; raises Invalid with the quarantine reason."""
    return tuple(read_field(f, obj) for f in source.fields)
