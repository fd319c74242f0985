"""The subject key belongs to the warehouse: a run with another, missing, empty or short key writes
nothing and says where the key was looked for."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from stedi import subject_key
from stedi.config import Settings
from stedi.errors import SubjectKeyError
from stedi.pipeline.run import run
from stedi.warehouse import erased_copy
from stedi.warehouse.catalog import KEY_PROPERTY, Warehouse
from tests.support.cli import one_line_error, stedi
from tests.support.corpora import snapshots
from tests.support.landing import small_landing


@pytest.fixture
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A warehouse built with a generated key (no STEDI_SUBJECT_KEY): landing and warehouse."""
    monkeypatch.delenv("STEDI_SUBJECT_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    landing = small_landing(tmp_path / "landing")
    result = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    key_file = tmp_path / "home-config" / "stedi" / "subject.key"
    assert any(f"generated a new subject key in {key_file}" in note for note in result.notes)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    return landing, tmp_path / "wh"


def test_the_warehouse_records_the_keys_fingerprint_never_the_key(keyed: tuple[Path, Path], tmp_path: Path) -> None:
    _, warehouse = keyed
    secret = (tmp_path / "home-config" / "stedi" / "subject.key").read_bytes().strip()
    recorded = Warehouse(warehouse).namespace_properties()[KEY_PROPERTY]
    assert len(recorded) == 32 and recorded.encode() not in secret
    assert not any(secret in p.read_bytes() for p in warehouse.rglob("*") if p.is_file())


@pytest.mark.parametrize("case", ["other home", "empty file", "short file", "other key", "folder"])
def test_a_run_without_the_warehouses_key_writes_nothing(
    keyed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    landing, warehouse = keyed
    (landing / "customer" / "landing" / "later.json").write_text(
        '{"email":"new@x.com","serialNumber":"S9","registrationDate":1,"lastUpdateDate":1}\n'
    )
    before = snapshots(warehouse)
    bytes_before = {p: p.read_bytes() for p in warehouse.rglob("*") if p.is_file()}
    home = tmp_path / "other-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    key_file = home / "stedi" / "subject.key"
    if case != "other home":
        key_file.parent.mkdir(parents=True)
    if case == "empty file":
        key_file.write_text("\n")
    elif case == "short file":
        key_file.write_text("short\n")
    elif case == "other key":
        key_file.write_text("a-different-key-of-enough-length\n")
    elif case == "folder":
        key_file.mkdir()
    with pytest.raises(SubjectKeyError) as refused:
        run(Settings(landing=str(landing), warehouse=str(warehouse)))
    message = str(refused.value)
    assert str(key_file) in message or "fingerprint" in message
    assert snapshots(warehouse) == before
    assert {p: p.read_bytes() for p in warehouse.rglob("*") if p.is_file()} == bytes_before  # not one byte
    assert not key_file.is_file() or case != "other home"  # no key was made for an existing warehouse


def test_a_run_under_an_empty_home_after_a_forget_exits_non_zero_and_changes_nothing(
    keyed: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = keyed
    config = str(tmp_path / "home-config")
    forgot = stedi(
        "forget",
        "jane@x.com",
        "--warehouse",
        str(warehouse),
        env={"XDG_CONFIG_HOME": config, "STEDI_SUBJECT_KEY": None},
    )
    assert forgot.returncode == 0, forgot.stderr
    before = snapshots(warehouse)
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    done = stedi(
        "run", "--landing", str(landing), "--warehouse", str(warehouse),
        env={"HOME": str(empty_home), "XDG_CONFIG_HOME": None, "STEDI_SUBJECT_KEY": None},
    )  # fmt: skip
    assert done.returncode == 1
    assert str(empty_home / ".config" / "stedi" / "subject.key") in one_line_error(done)
    assert snapshots(warehouse) == before
    assert not (empty_home / ".config").exists()


def test_a_key_inside_the_warehouse_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stedi.contract import privacy
    from stedi.errors import PrivacyError

    monkeypatch.delenv("STEDI_SUBJECT_KEY")
    monkeypatch.setenv("STEDI_SUBJECT_KEY_FILE", str(tmp_path / "wh" / "keys" / "subject.key"))
    with pytest.raises(PrivacyError, match=privacy.KEY_INVARIANT):
        run(Settings(landing=str(small_landing(tmp_path / "landing")), warehouse=str(tmp_path / "wh")))
    assert not (tmp_path / "wh" / "keys").exists()


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("empty variable", "is empty"),
        ("short variable", "is too short"),
        ("pipe", "is not a regular file"),
        ("device", "is not a regular file"),
        ("folder", "is a folder"),
        ("large file", "more than any key file"),
    ],
)
def test_an_unusable_key_is_one_line_and_no_warehouse_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, why: str
) -> None:
    if key.endswith("variable"):
        monkeypatch.setenv("STEDI_SUBJECT_KEY", "" if key == "empty variable" else "short")
    else:
        monkeypatch.delenv("STEDI_SUBJECT_KEY")
        path = tmp_path / "subject.key"
        if key == "pipe":
            os.mkfifo(path)  # nobody writes to it: reading it would wait for ever
        elif key == "folder":
            path.mkdir()
        elif key == "large file":
            path.write_bytes(b"k" * (subject_key.MAX_KEY_FILE_BYTES + 1))
        monkeypatch.setenv("STEDI_SUBJECT_KEY_FILE", "/dev/zero" if key == "device" else str(path))
    done = stedi("run", "--landing", str(small_landing(tmp_path / "landing")), "--warehouse", str(tmp_path / "wh"))
    assert done.returncode == 1 and why in one_line_error(done)
    assert not (tmp_path / "wh").exists()


def test_the_key_from_the_environment_is_checked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = small_landing(tmp_path / "landing")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    monkeypatch.setenv("STEDI_SUBJECT_KEY", "another-key-of-enough-length")
    with pytest.raises(SubjectKeyError, match="STEDI_SUBJECT_KEY"):
        run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    assert os.environ["STEDI_SUBJECT_KEY"]  # untouched


def test_a_catalog_that_lost_the_keys_fingerprint_still_refuses_another_key(
    keyed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, warehouse = keyed
    with sqlite3.connect(warehouse / "catalog.db") as catalog:  # its namespace properties deleted
        catalog.execute("DELETE FROM iceberg_namespace_properties")
    before = snapshots(warehouse)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other-config"))
    (tmp_path / "other-config" / "stedi").mkdir(parents=True)
    (tmp_path / "other-config" / "stedi" / "subject.key").write_text("a-different-key-of-enough-length\n")
    with pytest.raises(SubjectKeyError, match="is not the key of warehouse"):
        run(Settings(landing=str(landing), warehouse=str(warehouse), full_refresh=True))
    assert snapshots(warehouse) == before
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))  # the warehouse's own key
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert Warehouse(warehouse).namespace_properties()[KEY_PROPERTY] == erased_copy.read(str(warehouse)).key_fingerprint


@pytest.mark.parametrize("key_text", ["a-different-key-of-enough-length", None])
def test_with_no_fingerprint_left_the_rows_tell_whether_the_key_made_them(
    keyed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_text: str | None
) -> None:
    landing, warehouse = keyed
    with sqlite3.connect(warehouse / "catalog.db") as catalog:
        catalog.execute("DELETE FROM iceberg_namespace_properties")
    (warehouse / "erased.json").unlink()
    if key_text is None:  # the warehouse's own key
        run(Settings(landing=str(landing), warehouse=str(warehouse)))
        assert Warehouse(warehouse).namespace_properties()[KEY_PROPERTY]
        return
    before = snapshots(warehouse)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other-config"))
    (tmp_path / "other-config" / "stedi").mkdir(parents=True)
    (tmp_path / "other-config" / "stedi" / "subject.key").write_text(key_text + "\n")
    with pytest.raises(SubjectKeyError, match="did not make the subject_ids"):
        run(Settings(landing=str(landing), warehouse=str(warehouse), full_refresh=True))
    assert snapshots(warehouse) == before
