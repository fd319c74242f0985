"""Shared fixtures: the corpora in ../shared/data, tmp warehouses, and no contact with user config."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("STEDI_TEST_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never read or write the user's config; STEDI_* settings from the shell are ignored."""
    for name in list(os.environ):
        if name.startswith("STEDI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("STEDI_SUBJECT_KEY", "test-subject-key")
    yield


def corpus(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        raise FileNotFoundError(f"test corpus {path} is missing: set STEDI_TEST_DATA to the shared data folder")
    return path


LandingFactory = Callable[..., Path]


@pytest.fixture
def make_landing(tmp_path: Path) -> LandingFactory:
    """Build a landing root: make_landing(customer=[lines] or {file: text|bytes}, accelerometer=..., ...)."""

    def build(**sources: list[str] | dict[str, str | bytes]) -> Path:
        root = tmp_path / "landing"
        for source in ("customer", "accelerometer", "step_trainer"):
            folder = root / source / "landing"
            folder.mkdir(parents=True, exist_ok=True)
            content = sources.get(source, [])
            files = {f"{source}.json": "\n".join(content) + "\n"} if isinstance(content, list) else content
            if isinstance(content, list) and not content:
                files = {}
            for name, text in files.items():
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(text, bytes):
                    path.write_bytes(text)
                else:
                    path.write_text(text, encoding="utf-8")
        return root

    return build
