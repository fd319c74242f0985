"""Every user-facing error is one clear line with its exit code: 1 for data and state, 2 for usage."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.errors import WarehouseError
from stedi.pipeline.run import run
from stedi.report import REPORT_FILE, write_report
from stedi.warehouse.catalog import Warehouse
from tests.support.cli import one_line_error, stedi
from tests.support.landing import small_landing


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import os

    os.environ["STEDI_SUBJECT_KEY"] = "test-subject-key"
    root = tmp_path_factory.mktemp("errors")
    landing = small_landing(root / "landing")
    run(Settings(landing=str(landing), warehouse=str(root / "wh")))
    return landing, root / "wh"


@pytest.mark.parametrize(
    ("args", "env", "code", "words"),
    [
        (["run", "--memory-limit", "-5GB"], {}, 2, "memory limit must be a size"),
        (["run", "--max-shrink", "150%"], {}, 2, "--max-shrink must be a percentage"),
        (["run", "--max-record-size", "huge"], {}, 2, "--max-record-size must be a size"),
        (["run"], {"STEDI_LOCK_WAIT": "abc"}, 2, "STEDI_LOCK_WAIT must be a number of seconds"),
        (["generate", "{tmp}/out", "--scale", "nan"], {}, 2, "--scale"),
        (["forget", ""], {}, 2, "not an email address"),
        (["sql", "SELECT 1; SELECT 2"], {}, 2, "exactly one statement"),
        (["sql", "SELECT * FROM no_such_table"], {}, 2, "no_such_table"),
    ],
)
def test_bad_values_are_refused_in_one_line(
    built: tuple[Path, Path], tmp_path: Path, args: list[str], env: dict[str, str], code: int, words: str
) -> None:
    landing, warehouse = built
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if args[0] == "run":
        args += ["--landing", str(landing), "--warehouse", str(warehouse)]
    elif args[0] in ("forget", "sql"):
        args += ["--warehouse", str(warehouse)]
    done = stedi(*args, env=env)
    assert done.returncode == code, done.stderr
    assert words in one_line_error(done)


@pytest.mark.parametrize(
    "command", [["tables"], ["sql", "SELECT 1"], ["report"], ["verify"], ["forget", "a@x.com"], ["run"]]
)
def test_a_warehouse_path_that_is_a_file_is_one_line(
    built: tuple[Path, Path], tmp_path: Path, command: list[str]
) -> None:
    landing, _ = built
    (tmp_path / "file").write_text("not a folder")
    extra = ["--landing", str(landing)] if command == ["run"] else []
    done = stedi(*command, "--warehouse", str(tmp_path / "file"), *extra)
    assert done.returncode == 1
    assert "is a file, not a folder" in one_line_error(done)


def test_a_lock_file_that_cannot_be_opened_is_one_line(built: tuple[Path, Path], tmp_path: Path) -> None:
    landing, _ = built
    warehouse = tmp_path / "wh"
    (warehouse / ".stedi.lock").mkdir(parents=True)  # what a read-only lock file does to a writer
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 1 and "cannot take the writer lock" in one_line_error(done)


def test_json_output_is_always_valid_json(built: tuple[Path, Path]) -> None:
    _, warehouse = built
    done = stedi(
        "sql", "--warehouse", str(warehouse), "--format", "json", "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"a": "NaN", "b": "Infinity"}]


def test_a_disk_full_while_writing_the_report_keeps_the_last_whole_report(
    built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, warehouse = built
    before = (warehouse / REPORT_FILE).read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("stedi.storage.os.fsync", full)
    with pytest.raises(WarehouseError, match="No space left on device"):
        write_report(Warehouse(warehouse))
    assert (warehouse / REPORT_FILE).read_bytes() == before
    assert sorted(p.name for p in warehouse.iterdir() if p.name.startswith(f".{REPORT_FILE}.")) == []


def test_no_warehouse_at_a_path_is_one_line(tmp_path: Path) -> None:
    done = stedi("tables", "--warehouse", str(tmp_path / "nothing"))
    assert done.returncode == 1 and "no STEDI warehouse" in one_line_error(done)
    assert not (tmp_path / "nothing").exists()  # a read-only command creates nothing
