"""Shared fixtures: tmp warehouses and landing roots, and no contact with the user's configuration.

Markers: `spark`, `s3`, `browser` (a real Spark, S3 server or browser), `slow` (whole-corpus runs,
crash tests); unmarked tests are fast (`make test-fast`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.corpora import TEST_KEY
from tests.support.landing import write_landing


def _isolate(env: pytest.MonkeyPatch, folders: pytest.TempPathFactory) -> None:
    """No contact with the user's configuration: STEDI_* and PYICEBERG_* settings from the shell are
    ignored, config folders are fresh, and the subject key is the tests' own."""
    for name in list(os.environ):
        if name.startswith(("STEDI_", "PYICEBERG_")):
            env.delenv(name)
    env.setenv("XDG_CONFIG_HOME", str(folders.mktemp("config")))
    env.setenv("PYICEBERG_HOME", str(folders.mktemp("pyiceberg")))
    env.setenv("STEDI_SUBJECT_KEY", TEST_KEY)


@pytest.fixture(scope="session", autouse=True)
def isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For what is built once per module or session, before any test's own isolation applies."""
    with pytest.MonkeyPatch.context() as env:
        _isolate(env, tmp_path_factory)
        yield


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: a configuration of its own."""
    _isolate(monkeypatch, tmp_path_factory)


LandingFactory = Callable[..., Path]


@pytest.fixture
def make_landing(tmp_path: Path) -> LandingFactory:
    """Build a landing root: make_landing(customer=[lines] or {file: text|bytes}, accelerometer=..., ...)."""

    def build(**sources: list[str] | dict[str, str | bytes]) -> Path:
        return write_landing(tmp_path / "landing", **sources)

    return build
