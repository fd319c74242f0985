"""`stedi glue-job`: a Glue 5 job whose request AWS would accept and whose script runs the pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stedi.pipeline.glue_job import write_glue_job
from tests.support.cli import stedi
from tests.support.corpora import assert_same_tables, corpus, corpus_run

pytestmark = pytest.mark.slow


def test_the_request_is_a_valid_glue_create_job_request(tmp_path: Path) -> None:
    """Checked against botocore's own model of Glue's CreateJob (the shape the AWS CLI validates
    `--cli-input-json` with), offline."""
    import botocore.session
    from botocore.validate import validate_parameters

    done = stedi("glue-job", "--bucket", "stedi-jobs", "--out", str(tmp_path / "job"), "--format", "json")
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)
    body = json.loads(Path(files["request"]).read_text())
    model = botocore.session.get_session().get_service_model("glue").operation_model("CreateJob")
    validate_parameters(body, model.input_shape)  # raises ParamValidationError on any wrong field
    arguments = body["DefaultArguments"]
    assert arguments["--datalake-formats"] == "iceberg" and arguments["--catalog"] == "glue"
    assert arguments["--additional-python-modules"] == f"s3://stedi-jobs/stedi/{Path(files['wheel']).name}"
    assert body["GlueVersion"] == "5.0" and body["Command"]["ScriptLocation"].endswith("/stedi_glue_job.py")
    with zipfile.ZipFile(files["wheel"]) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith("dist-info/METADATA"))).decode()
    assert "stedi/contract/sql/machine_learning_curated.sql" in names and "stedi/pipeline/glue_job.py" in names
    assert "Requires-Dist: duckdb==2.0.0" in metadata and "Name: stedi-lakehouse" in metadata


def test_a_wrong_bucket_is_one_line(tmp_path: Path) -> None:
    done = stedi("glue-job", "--bucket", "s3://stedi-jobs/x", "--out", str(tmp_path / "job"))
    assert done.returncode == 2 and done.stderr.startswith("error: --bucket takes a bucket name")


@pytest.mark.spark
def test_the_job_script_runs_the_pipeline_locally(tmp_path: Path) -> None:
    """The same entry point Glue calls, with Glue's own arguments among the job's, on local[2]."""
    job = write_glue_job(tmp_path / "job", "stedi-jobs", "stedi", "role", "", "")
    warehouse = tmp_path / "wh"
    done = subprocess.run(
        [sys.executable, str(job.script), "--JOB_NAME", "stedi", "--landing", str(corpus("stedi-starter")),
         "--warehouse", str(warehouse), "--catalog", "sqlite", "--spark-master", "local[2]"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1])["machine_learning_curated"] == 40981
    _, reference = corpus_run("stedi-starter")
    assert_same_tables(warehouse, Path(reference.location))
