"""Run settings: from command-line options, else STEDI_* environment variables, else defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from .errors import SettingsError

CONSENT_POLICIES = ("all", "as-of")
ML_JOINS = ("owner", "timestamp")
DEFAULT_WAREHOUSE = "./lakehouse"


@dataclass(frozen=True)
class Settings:
    landing: str | None = None
    warehouse: str = DEFAULT_WAREHOUSE
    consent_policy: str = "all"
    ml_join: str = "owner"
    engine: str = "duckdb"

    def __post_init__(self) -> None:
        if self.consent_policy not in CONSENT_POLICIES:
            raise SettingsError(
                f"consent policy must be one of {', '.join(CONSENT_POLICIES)}, not {self.consent_policy!r}"
            )
        if self.ml_join not in ML_JOINS:
            raise SettingsError(f"ml join must be one of {', '.join(ML_JOINS)}, not {self.ml_join!r}")

    @classmethod
    def resolve(cls, **given: Any) -> Settings:
        """Given values win; a missing (None) one comes from STEDI_<NAME>, then the default."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = given.get(f.name)
            if value is None:
                value = os.environ.get(f"STEDI_{f.name.upper()}")
            if value is not None:
                values[f.name] = value
        return cls(**values)
