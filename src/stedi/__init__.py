"""STEDI lakehouse: landing JSON to trusted and curated Iceberg tables, on DuckDB or Spark."""

__version__ = "0.1.0"
