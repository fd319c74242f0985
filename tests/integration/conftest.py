"""Fixtures of the integration tests: a real S3 server (SeaweedFS, started once per session), and
runs that extend their tables at any size."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pyarrow.fs as pafs
import pytest

from stedi.stages import extendable
from stedi.storage import filesystem
from tests.support.corpora import corpus
from tests.support.seaweed import S3Server, seaweedfs


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    return s3_server


@pytest.fixture(scope="session")
def starter_in_s3(s3_server: S3Server) -> str:

    saved = {k: os.environ.get(k) for k in s3_server.env()}
    os.environ.update(s3_server.env())
    try:
        fs, base = filesystem(f"s3://{s3_server.bucket}/starter")
        pafs.copy_files(
            str(corpus("stedi-starter")), base, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return f"s3://{s3_server.bucket}/starter"


@pytest.fixture
def extends_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small landing data takes the path of large landing data: runs extend their tables."""
    monkeypatch.setattr(extendable, "MIN_LANDING_BYTES", 0)
    monkeypatch.setenv("STEDI_SUBJECT_KEY", "test-subject-key")
