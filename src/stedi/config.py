"""Run settings: from command-line options, else STEDI_* environment variables, else defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from stedi.errors import SettingsError

CONSENT_POLICIES = ("all", "as-of")
ML_JOINS = ("owner", "timestamp")
ENGINES = ("duckdb", "spark")
DEFAULT_WAREHOUSE = "./lakehouse"


@dataclass(frozen=True)
class Settings:
    landing: str | None = None
    warehouse: str = DEFAULT_WAREHOUSE
    catalog: str | None = None  # None: SQLite catalog.db in a local warehouse (see catalog.open_catalog)
    consent_policy: str = "all"
    ml_join: str = "owner"
    engine: str = "duckdb"
    spark_master: str | None = None  # e.g. local[*], yarn, spark://host:7077; None: local[*]
    spark_conf: dict[str, str] | None = None  # extra Spark settings, passed through
    memory_limit: str | None = None  # the embedded engine's memory limit (DuckDB syntax: 2GB, 512MB)
    full_refresh: bool = False  # read every landing file again instead of only new ones
    expect: str | None = None  # a dataset's expectations file (row counts checked on every run)
    report: bool = True  # write report.html into a local warehouse after the run

    def __post_init__(self) -> None:
        if self.consent_policy not in CONSENT_POLICIES:
            raise SettingsError(
                f"consent policy must be one of {', '.join(CONSENT_POLICIES)}, not {self.consent_policy!r}"
            )
        if self.engine not in ENGINES:
            raise SettingsError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.ml_join not in ML_JOINS:
            raise SettingsError(f"ml join must be one of {', '.join(ML_JOINS)}, not {self.ml_join!r}")

    @classmethod
    def resolve(cls, **given: Any) -> Settings:
        """Given values win; a missing (None) one comes from STEDI_<NAME>, then the default."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("full_refresh", "report"):
                if given.get(f.name) is not None:
                    values[f.name] = bool(given[f.name])
                continue
            if f.name == "spark_conf":
                if given.get(f.name):
                    values[f.name] = given[f.name]
                continue
            value = given.get(f.name)
            if value is None:
                value = os.environ.get(f"STEDI_{f.name.upper()}")
            if value is not None:
                values[f.name] = value
        return cls(**values)
