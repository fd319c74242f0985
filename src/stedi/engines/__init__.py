"""Engines run the pipeline's SQL; each is a small class behind the `Engine` interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stedi.config import ENGINES
from stedi.engines.base import Capabilities, Engine, TableWriter
from stedi.errors import SettingsError

if TYPE_CHECKING:
    from stedi.config import Settings
    from stedi.warehouse.session import Session

__all__ = ["Capabilities", "Engine", "TableWriter", "create_engine"]


def create_engine(settings: Settings, session: Session) -> Engine:
    """The engine the settings name, writing through `session`; optional parts are imported only here."""
    if settings.engine == "duckdb":
        from stedi.engines.duckdb import DuckDBEngine

        return DuckDBEngine(session, settings.memory_limit, settings.max_record_size, settings.full_refresh)
    if settings.engine == "spark":
        from stedi.engines.spark import SparkEngine

        return SparkEngine(session, settings)
    raise SettingsError(f"unknown engine {settings.engine!r}; choose one of: {', '.join(ENGINES)}")
