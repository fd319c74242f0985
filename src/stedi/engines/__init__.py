"""Engines run the pipeline's SQL; each is a small class behind the `Engine` interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stedi.config import ENGINES
from stedi.engines.base import Engine

if TYPE_CHECKING:
    from stedi.warehouse.committer import Committer


def create_engine(
    name: str,
    warehouse: str,
    *,
    committer: Committer | None = None,
    catalog: str | None = None,
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    memory_limit: str | None = None,
) -> Engine:
    """The engine called `name`, writing to `warehouse`; optional parts are imported only here."""
    if name == "duckdb":
        from stedi.engines.duckdb import DuckDBEngine

        return DuckDBEngine(warehouse, committer, catalog, memory_limit)
    if name == "spark":
        from stedi.engines.spark import SparkEngine

        if committer is not None:
            committer.close()  # Spark commits through its own Iceberg catalog
        if catalog is not None or "://" in warehouse:
            from stedi.errors import SettingsError

            raise SettingsError(
                "the Spark engine writes to a local warehouse with its SQLite catalog; object storage and other "
                "catalogs are for the embedded engine (see docs/spark.md)"
            )
        return SparkEngine(warehouse, master=spark_master, conf=spark_conf)
    from stedi.errors import SettingsError

    raise SettingsError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
