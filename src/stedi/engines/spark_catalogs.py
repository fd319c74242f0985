"""The Spark settings of the `stedi` Iceberg catalog, for each kind of `--catalog`.

The embedded engine opens catalogs with pyiceberg; Spark with Iceberg's own Java catalogs. Both read
the same settings: the SQLite file through Iceberg's `JdbcCatalog`, a REST URL with the credential,
token and warehouse pyiceberg's settings give the catalog named `stedi` (or `NAME` for
`pyiceberg:NAME`), and the AWS Glue Data Catalog with `GlueCatalog` and `S3FileIO` (which need
Iceberg's AWS bundle on the cluster, as Glue and EMR have).
"""

from __future__ import annotations

from pathlib import Path

from stedi.errors import SettingsError
from stedi.storage import is_remote
from stedi.warehouse.catalog import NAMESPACE

CATALOG = NAMESPACE  # the Spark catalog name must equal pyiceberg's catalog name: rows are keyed by it
PREFIX = f"spark.sql.catalog.{CATALOG}"
# pyiceberg catalog properties that Iceberg's Java REST catalog takes under the same names.
REST_PASSED = ("credential", "token", "scope", "oauth2-server-uri", "prefix", "audience", "resource")
S3_PASSED = {"s3.endpoint": "s3.endpoint", "s3.path-style-access": "s3.path-style-access"}


def _sqlite(warehouse: str, catalog_file: Path) -> dict[str, str]:
    if is_remote(warehouse):
        raise SettingsError("a SQLite catalog with the Spark engine needs a local warehouse folder")
    root = Path(warehouse).absolute()
    return {
        f"{PREFIX}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        f"{PREFIX}.uri": f"jdbc:sqlite:{catalog_file.absolute()}",
        f"{PREFIX}.warehouse": f"file://{root}",
        f"{PREFIX}.jdbc.schema-version": "V1",
    }


def _rest(uri: str, warehouse: str, configured: dict[str, str]) -> dict[str, str]:
    conf = {
        f"{PREFIX}.type": "rest",
        f"{PREFIX}.uri": uri,
        f"{PREFIX}.warehouse": configured.get("warehouse", warehouse),
    }
    conf |= {f"{PREFIX}.{key}": configured[key] for key in REST_PASSED if key in configured}
    if configured.get("rest.sigv4-enabled") == "true":  # AWS S3 Tables, Glue's REST endpoint
        conf |= {f"{PREFIX}.rest.sigv4-enabled": "true",
                 f"{PREFIX}.rest.signing-name": configured.get("rest.signing-name", "s3tables"),
                 f"{PREFIX}.rest.signing-region": configured.get("rest.signing-region", "")}  # fmt: skip
    return conf | _s3(configured)


def _glue(warehouse: str, configured: dict[str, str]) -> dict[str, str]:
    conf = {
        f"{PREFIX}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
        f"{PREFIX}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{PREFIX}.warehouse": configured.get("warehouse", warehouse),
    }
    if region := configured.get("glue.region") or configured.get("client.region"):
        conf[f"{PREFIX}.client.region"] = region
    return conf | _s3(configured)


def _s3(configured: dict[str, str]) -> dict[str, str]:
    conf = {f"{PREFIX}.{target}": configured[key] for key, target in S3_PASSED.items() if key in configured}
    if conf:
        conf[f"{PREFIX}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    return conf


def catalog_settings(warehouse: str, catalog: str | None, configured: dict[str, str] | None = None) -> dict[str, str]:
    """Spark settings for the `stedi` catalog. `catalog` as `--catalog` takes it; `configured`: the
    pyiceberg settings of the catalog it names (for a URL, those of the catalog named `stedi`)."""
    configured = configured or {}
    base = {PREFIX: "org.apache.iceberg.spark.SparkCatalog",
            f"{PREFIX}.cache-enabled": "false"}  # pyiceberg commits to the same tables: no stale answers  # fmt: skip
    if catalog is None:
        return base | _sqlite(warehouse, Path(warehouse) / "catalog.db")
    if catalog.startswith(("http://", "https://")):
        return base | _rest(catalog, warehouse, configured)
    if catalog == "glue":
        return base | _glue(warehouse, configured)
    if catalog.startswith("pyiceberg:"):
        kind = configured.get("type", "rest" if "uri" in configured else "")
        if kind == "rest" and "uri" in configured:
            return base | _rest(configured["uri"], warehouse, configured)
        if kind == "glue":
            return base | _glue(warehouse, configured)
        raise SettingsError(
            f"the Spark engine takes REST and Glue catalogs from pyiceberg's settings; {catalog} is {kind or 'neither'}"
        )
    return base | _sqlite(warehouse, Path(catalog.removeprefix("sqlite:///").removeprefix("sqlite://")))
