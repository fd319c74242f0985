"""`stedi glue-job`: what an AWS Glue 5 job needs to run the pipeline on the Spark engine.

Writes into OUT: the job script (`stedi_glue_job.py`, which calls `main` below), the package's wheel
(built from the installed package, so no source tree is needed) and `create-job.json`, the request
`aws glue create-job --cli-input-json file://OUT/create-job.json` takes. Upload the script and the
wheel to `s3://BUCKET/stedi/` first (the paths in the request).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stedi import __version__
from stedi.errors import SettingsError

DISTRIBUTION = "stedi-lakehouse"
SCRIPT = "stedi_glue_job.py"
REQUEST = "create-job.json"
JOB_SCRIPT = '''"""AWS Glue 5 job: the STEDI pipeline on Glue's Spark, tables in the Glue Data Catalog."""

import sys

from stedi.pipeline.glue_job import main

main(sys.argv[1:])
'''


@dataclass(frozen=True)
class GlueJob:
    script: Path
    wheel: Path
    request: Path


def _wheel(out: Path) -> Path:
    """The installed package as a wheel: its files, and metadata naming its pinned dependencies."""
    dist = importlib.metadata.distribution(DISTRIBUTION)
    name = DISTRIBUTION.replace("-", "_")
    target = out / f"{name}-{__version__}-py3-none-any.whl"
    info = f"{name}-{__version__}.dist-info"
    package = Path(__file__).resolve().parent.parent  # the `stedi` package folder
    files = {f"stedi/{p.relative_to(package).as_posix()}": p.read_bytes()
             for p in sorted(package.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}  # fmt: skip
    requires = "".join(f"Requires-Dist: {r}\n" for r in dist.requires or [])
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {__version__}\n"
                                 f"Requires-Python: >=3.11\n{requires}").encode()  # fmt: skip
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: stedi\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nstedi = stedi.cli:entry\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return target


def request(name: str, role: str, bucket: str, wheel: str, landing: str, warehouse: str) -> dict[str, object]:
    """The CreateJob request: Glue 5 (Spark 3.5, Python 3.11), Iceberg, the wheel, the job's options."""
    base = f"s3://{bucket}/stedi"
    return {
        "Name": name,
        "Description": "STEDI lakehouse: landing JSON to trusted and curated Iceberg tables",
        "Role": role,
        "Command": {"Name": "glueetl", "ScriptLocation": f"{base}/{SCRIPT}", "PythonVersion": "3"},
        "GlueVersion": "5.0",
        "WorkerType": "G.1X",
        "NumberOfWorkers": 2,
        "DefaultArguments": {
            "--datalake-formats": "iceberg",
            "--additional-python-modules": f"{base}/{wheel}",
            "--enable-glue-datacatalog": "true",
            "--landing": landing,
            "--warehouse": warehouse,
            "--catalog": "glue",
        },
    }


def write_glue_job(out: str | Path, bucket: str, name: str, role: str, landing: str, warehouse: str) -> GlueJob:
    folder = Path(out)
    if not bucket or "/" in bucket:
        raise SettingsError(f"--bucket takes a bucket name, not {bucket!r}")
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / SCRIPT
    script.write_text(JOB_SCRIPT)
    wheel = _wheel(folder)
    landing = landing or f"s3://{bucket}/landing"
    warehouse = warehouse or f"s3://{bucket}/lakehouse"
    body = request(name, role, bucket, wheel.name, landing, warehouse)
    target = folder / REQUEST
    target.write_text(json.dumps(body, indent=2) + "\n")
    return GlueJob(script, wheel, target)


def main(argv: list[str]) -> None:
    """The job's entry point: Glue passes the job's arguments (its own among them, ignored here)."""
    from stedi.config import Settings
    from stedi.pipeline.run import run

    parser = argparse.ArgumentParser(prog=SCRIPT)
    parser.add_argument("--landing", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--catalog", default=None)
    parser.add_argument("--spark-master", default=None)  # Glue's own session when not given
    parser.add_argument("--consent-policy", default="all")
    known, _ = parser.parse_known_args(argv)
    catalog = None if known.catalog in (None, "", "sqlite") else known.catalog
    result = run(Settings(landing=known.landing, warehouse=known.warehouse, catalog=catalog, engine="spark",
                          spark_master=known.spark_master, consent_policy=known.consent_policy, report=False))  # fmt: skip
    print(json.dumps({t.name: t.rows_out for t in result.tables}))
