"""Settings are checked once, with a message that names the setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stedi.config import Settings, parse_seconds, parse_share, parse_size
from stedi.errors import SettingsError


@pytest.mark.parametrize(
    ("text", "size"), [("2GB", 2 * 10**9), ("512MiB", 512 << 20), ("64 mb", 64 * 10**6), ("100", 100)]
)
def test_sizes_are_read_with_their_unit(text: str, size: int) -> None:
    assert parse_size(text, "x") == size


@pytest.mark.parametrize("text", ["-5GB", "0", "lots", "nan", "inf", "1e999GB", ""])
def test_a_size_that_cannot_be_one_is_refused(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_size(text, "the memory limit")


def test_shares_and_seconds_are_checked() -> None:
    assert parse_share("50%", "s") == parse_share("50", "s") == 0.5
    for bad in ("150", "-1", "half", "nan"):
        with pytest.raises(SettingsError):
            parse_share(bad, "--max-shrink")
    assert parse_seconds("2.5", "STEDI_LOCK_WAIT") == 2.5
    with pytest.raises(SettingsError, match="STEDI_LOCK_WAIT"):
        parse_seconds("abc", "STEDI_LOCK_WAIT")


def test_settings_refuse_a_bad_memory_limit_and_resolve_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="memory limit"):
        Settings(memory_limit="-5GB")
    monkeypatch.setenv("STEDI_MAX_SHRINK", "20%")
    monkeypatch.setenv("STEDI_MAX_RECORD_SIZE", "1MiB")
    settings = Settings.resolve()
    assert (settings.max_shrink, settings.max_record_size) == (0.2, 1 << 20)


def test_a_path_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    odd = os.fsdecode(os.fsencode(tmp_path) + b"/land\xff")
    with pytest.raises(SettingsError, match=r"landing path .*land\\xff is not valid UTF-8"):
        Settings(landing=odd)
    with pytest.raises(SettingsError, match=r"warehouse path .*land\\xff is not valid UTF-8"):
        Settings(landing=str(tmp_path), warehouse=odd)
