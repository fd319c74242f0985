"""The Spark settings produced for each kind of catalog (what cannot run here, without AWS or S3 jars,
is at least the settings Iceberg documents)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.engines.spark_catalogs import catalog_settings
from stedi.errors import SettingsError

P = "spark.sql.catalog.stedi"


def test_the_default_is_the_warehouse_sqlite_file_through_jdbc(tmp_path: Path) -> None:
    conf = catalog_settings(str(tmp_path / "wh"), None)
    assert conf[P] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf[f"{P}.catalog-impl"] == "org.apache.iceberg.jdbc.JdbcCatalog"
    assert conf[f"{P}.uri"] == f"jdbc:sqlite:{tmp_path / 'wh' / 'catalog.db'}"
    assert conf[f"{P}.warehouse"] == f"file://{tmp_path / 'wh'}"


def test_a_rest_url_takes_pyicebergs_credential_and_warehouse() -> None:
    configured = {"credential": "id:secret", "warehouse": "tables", "scope": "PRINCIPAL_ROLE:ALL",
                  "s3.endpoint": "http://127.0.0.1:8333", "unrelated": "x"}  # fmt: skip
    conf = catalog_settings("s3://lake/files", "https://catalog.example/api/catalog", configured)
    assert conf[f"{P}.type"] == "rest" and conf[f"{P}.uri"] == "https://catalog.example/api/catalog"
    assert conf[f"{P}.warehouse"] == "tables"
    assert conf[f"{P}.credential"] == "id:secret" and conf[f"{P}.scope"] == "PRINCIPAL_ROLE:ALL"
    assert conf[f"{P}.s3.endpoint"] == "http://127.0.0.1:8333"
    assert conf[f"{P}.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert f"{P}.unrelated" not in conf and f"{P}.catalog-impl" not in conf


def test_s3_tables_signs_its_requests() -> None:
    configured = {"uri": "https://s3tables.eu-west-1.amazonaws.com/iceberg", "rest.sigv4-enabled": "true",
                  "rest.signing-region": "eu-west-1", "warehouse": "arn:aws:s3tables:eu-west-1:1:bucket/b"}  # fmt: skip
    conf = catalog_settings("s3://lake/files", "pyiceberg:tables", configured)
    assert conf[f"{P}.uri"] == configured["uri"] and conf[f"{P}.warehouse"] == configured["warehouse"]
    assert (conf[f"{P}.rest.sigv4-enabled"], conf[f"{P}.rest.signing-name"]) == ("true", "s3tables")


def test_glue_is_icebergs_glue_catalog_over_s3() -> None:
    conf = catalog_settings("s3://lake/warehouse", "glue", {"glue.region": "eu-west-1"})
    assert conf[f"{P}.catalog-impl"] == "org.apache.iceberg.aws.glue.GlueCatalog"
    assert conf[f"{P}.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf[f"{P}.warehouse"] == "s3://lake/warehouse" and conf[f"{P}.client.region"] == "eu-west-1"


def test_what_spark_cannot_use_is_refused() -> None:
    with pytest.raises(SettingsError, match="local warehouse"):
        catalog_settings("s3://lake/warehouse", "./catalog.db")
    with pytest.raises(SettingsError, match="REST and Glue"):
        catalog_settings("./wh", "pyiceberg:hive", {"type": "hive", "uri": "thrift://x:9083"})
