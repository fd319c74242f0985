"""Engines run the pipeline's SQL; each is a small class behind the `Engine` interface."""

from __future__ import annotations

from .base import Engine

ENGINES = ("duckdb",)


def create_engine(name: str, **options: object) -> Engine:
    if name == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(**options)  # type: ignore[arg-type]
    from ..errors import SettingsError

    raise SettingsError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
