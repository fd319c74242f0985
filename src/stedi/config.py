"""Run settings: from command-line options, else STEDI_* environment variables, else defaults.

Every value is checked here, once: a setting that cannot be used is a UsageError naming it, before
anything runs.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields
from typing import Any

from stedi.errors import SettingsError
from stedi.storage import as_text, require_location

CONSENT_POLICIES = ("all", "as-of")
ML_JOINS = ("owner", "timestamp")
ENGINES = ("duckdb", "spark")
DEFAULT_WAREHOUSE = "./lakehouse"
DEFAULT_MAX_SHRINK = 0.5
DEFAULT_MAX_RECORD = 64 << 20
SPLITS = ("train", "validation", "test")
DEFAULT_SPLIT = "80/10/10"
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B|bytes)?\s*", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
            "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}  # fmt: skip


def parse_size(text: str, what: str) -> int:
    """Bytes of a size such as 2GB, 512MiB or 1000000; refused unless positive and finite."""
    found = _SIZE.fullmatch(str(text))
    if not found:
        raise SettingsError(f"{what} must be a size such as 2GB or 512MiB, not {text!r}")
    value = float(found.group(1)) * _FACTORS[(found.group(2) or "").lower()]
    if not math.isfinite(value) or value < 1:
        raise SettingsError(f"{what} must be a positive size, not {text!r}")
    return int(value)


def parse_share(text: str | float, what: str) -> float:
    """A share given as a percentage (50 or 50%), as a fraction of 1."""
    raw = str(text).strip().removesuffix("%")
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{what} must be a percentage between 0 and 100, not {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise SettingsError(f"{what} must be a percentage between 0 and 100, not {text!r}")
    return value / 100


def parse_split(text: str) -> tuple[float, float, float]:
    """The shares of train, validation and test subjects, as fractions of 1, from e.g. 80/10/10."""
    parts = str(text).split("/")
    try:
        values = [float(p.strip().removesuffix("%")) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values) or abs(sum(values) - 100) > 1e-9:
        raise SettingsError(
            f"--split must be three percentages for train/validation/test that add up to 100, such as 80/10/10, "
            f"not {text!r}"
        )
    return (values[0] / 100, values[1] / 100, values[2] / 100)


def parse_seconds(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{what} must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{what} must be a number of seconds (0 or more), not {text!r}")
    return value


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
    full_refresh: bool = False  # read every landing file again, and trust no stored fingerprint
    expect: str | None = None  # a dataset's expectations file (row counts checked on every run)
    report: bool = True  # write report.html into the warehouse after the run
    max_shrink: float = DEFAULT_MAX_SHRINK  # the share of a table's rows a run may remove
    allow_shrink: bool = False  # publish even what the shrink guard would stop
    require_rows: bool = False  # a `min_rows` check (an empty machine_learning_curated) is an error, not a warning
    max_record_size: int = DEFAULT_MAX_RECORD  # a longer landing line is quarantined as too large
    models: str | None = None  # a folder of SQL files with their declarations (default: the package's)
    maintain: bool = True  # expire history beyond the last runs at the end of a run
    split: str = DEFAULT_SPLIT  # shares of subjects in train/validation/test (machine_learning_curated.split)

    def __post_init__(self) -> None:
        if self.consent_policy not in CONSENT_POLICIES:
            raise SettingsError(
                f"consent policy must be one of {', '.join(CONSENT_POLICIES)}, not {self.consent_policy!r}"
            )
        if self.engine not in ENGINES:
            raise SettingsError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.ml_join not in ML_JOINS:
            raise SettingsError(f"ml join must be one of {', '.join(ML_JOINS)}, not {self.ml_join!r}")
        if self.memory_limit is not None:
            parse_size(self.memory_limit, "the memory limit")
        if not 0 <= self.max_shrink <= 1:
            raise SettingsError(f"--max-shrink must be between 0 and 100%, not {self.max_shrink:.0%}")
        if self.max_record_size < 1:
            raise SettingsError("--max-record-size must be a positive size")
        parse_split(self.split)
        require_location(self.warehouse)
        for what, path in (("landing", self.landing), ("warehouse", self.warehouse), ("--expect", self.expect)):
            if path is not None and as_text(path) != path:
                raise SettingsError(
                    f"the {what} path {as_text(path)} is not valid UTF-8: the tables record paths as text; rename it"
                )

    @property
    def split_shares(self) -> tuple[float, float, float]:
        return parse_split(self.split)

    @property
    def parameters(self) -> dict[str, str]:
        """The settings the SQL sees (the relation `run_parameters`) and that shape the tables."""
        return {"consent_policy": self.consent_policy, "ml_join": self.ml_join, "split": self.split}

    @classmethod
    def resolve(cls, **given: Any) -> Settings:
        """Given values win; a missing (None) one comes from STEDI_<NAME>, then the default."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = given.get(f.name)
            if f.name in ("full_refresh", "report", "allow_shrink", "require_rows", "spark_conf", "models", "maintain"):
                if value is not None:
                    values[f.name] = value
                continue
            if value is None:
                value = os.environ.get(f"STEDI_{f.name.upper()}")
            if value is None:
                continue
            if f.name == "max_shrink" and isinstance(value, str):
                value = parse_share(value, "--max-shrink")
            elif f.name == "max_record_size" and isinstance(value, str):
                value = parse_size(value, "--max-record-size")
            values[f.name] = value
        return cls(**values)
