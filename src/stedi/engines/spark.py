"""The Spark engine: the same SQL, transpiled by SQLGlot, on PySpark 3.5 with Iceberg's Spark runtime.

Landing files are read inside Spark tasks by the package's own reader (each task reads its share of
the files, fast path and exact parser included), so the contract's reading rules hold at cluster
scale. Tables are written through Iceberg's JdbcCatalog over the warehouse's SQLite catalog, the
same catalog pyiceberg uses, so either engine reads what the other wrote.
"""

from __future__ import annotations

import glob
import os
import sys
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from stedi.contract.sources import QUARANTINE_SCHEMA, SOURCES, Source
from stedi.engines.base import Engine, TableWriter
from stedi.engines.spark_catalogs import CATALOG
from stedi.engines.spark_writer import SparkWriter
from stedi.errors import SettingsError
from stedi.reading.landing import LandingFile
from stedi.reading.reader import FileRead

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from stedi.config import Settings
    from stedi.warehouse.session import Session

ICEBERG_PACKAGE = "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.0"
SQLITE_PACKAGE = "org.xerial:sqlite-jdbc:3.46.1.3"
SQLITE_JARS = ("/usr/share/java/sqlite-jdbc.jar", "/usr/share/java/xerial-sqlite-jdbc.jar")
T = TypeVar("T")
KIND = "_kind"  # in the rows a read task returns: "record" or "quarantine"


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SettingsError("the Spark engine needs PySpark 3.5: pip install 'stedi-lakehouse[spark]'") from None


def _iceberg_jar() -> str | None:
    """Iceberg's Spark runtime jar from the PyPI package snowpark-connect-deps-iceberg, if installed."""
    try:
        import snowpark_connect_deps_iceberg as deps
    except ImportError:
        return None
    found = sorted(glob.glob(str(Path(deps.__file__).parent / "jars" / "iceberg-spark-runtime-3.5_2.12-*.jar")))
    return found[-1] if found else None


# Spark lower-cases text that is not ASCII with Java's String.toLowerCase(), which follows the JVM's
# default locale: under a Turkish one, I becomes ı and İ becomes i, so an address would name another
# person than DuckDB and `stedi forget` make of it. The engines and forget agree on Unicode's own rules.
FIXED_LOCALE = "-Duser.language=en -Duser.country=US"
JVM_OPTION_KEYS = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")


def base_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """The process's SparkSession with Iceberg (created once; engines take new sessions from it).

    Jars come from local files when present (the PyPI package of Iceberg's runtime, Debian's SQLite
    JDBC driver); otherwise from Maven through spark.jars.packages. Anything in `conf` wins.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Local Python workers must be this interpreter: it has the package and its dependencies.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master or "local[*]").appName("stedi")
    jars, packages = [], []
    iceberg = _iceberg_jar()
    jars.append(iceberg) if iceberg else packages.append(ICEBERG_PACKAGE)
    sqlite = next((j for j in SQLITE_JARS if os.path.exists(j)), None)
    if sqlite:
        jars.append(sqlite)
        # JDBC's DriverManager only sees drivers on the application class path.
        builder = builder.config("spark.driver.extraClassPath", sqlite).config("spark.executor.extraClassPath", sqlite)
    else:
        packages.append(SQLITE_PACKAGE)
    settings = {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(max(4, 2 * (os.cpu_count() or 2))),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        # Spark's own catalog would create ./spark-warehouse in the working directory: a run writes
        # only inside the warehouse it was given (and temporary files).
        "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), f"stedi-spark-catalog-{os.getpid()}"),
    }
    if (master or "local[*]").startswith("local"):
        # Everything runs in the driver's JVM in local mode; Spark's default of 1 GB runs out of
        # memory at scale 100 (10M landing lines). Half the machine's memory, as a default only.
        settings["spark.driver.memory"] = f"{max(1, _physical_memory_gib() // 2)}g"
    if jars:
        settings["spark.jars"] = ",".join(jars)
    if packages:
        settings["spark.jars.packages"] = ",".join(packages)
    for key, value in merged_conf(settings, conf).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def merged_conf(settings: dict[str, str], conf: dict[str, str] | None) -> dict[str, str]:
    """The session's settings with the user's `conf` over them; the JVM options start with the fixed
    locale, and a user's own options follow it (so theirs win)."""
    merged = {**settings, **(conf or {})}
    for key in JVM_OPTION_KEYS:
        merged[key] = " ".join(filter(None, (FIXED_LOCALE, (conf or {}).get(key))))
    return merged


def _physical_memory_gib() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**30)
    except (ValueError, OSError, AttributeError):
        return 2


FILE_COLUMNS = (
    ("_digest", pa.string()),
    ("_problem", pa.string()),
    ("_records", pa.int64()),
    ("_quarantined", pa.int64()),
)


def _union_schema(source: Source) -> pa.Schema:
    """What a read task returns: landing columns and quarantine columns side by side, what each file
    gave, and the kind of row (record, quarantine or file)."""
    landing = source.landing_schema()
    fields = [f.with_nullable(True) for f in landing]
    fields += [f.with_nullable(True) for f in QUARANTINE_SCHEMA if f.name not in landing.names]
    fields += [pa.field(name, kind) for name, kind in FILE_COLUMNS]
    return pa.schema([*fields, pa.field(KIND, pa.string())])


def _read_task(
    root: str, source_name: str, max_record: int, listed: Iterator[tuple[str, str, int, list[int]]]
) -> Iterator[tuple[Any, ...]]:
    """In a Spark task: read the listed files with the package's reader; rows in the union schema.

    (Rows, not Arrow batches: `mapInArrow` would need pandas, and pandas in the environment makes
    every DuckDB process import it, which costs the embedded engine half a second per run.)
    """
    from stedi.reading.reader import read_files

    source = next(s for s in SOURCES if s.name == source_name)
    files = [LandingFile(path, relative, size, tuple(signature)) for path, relative, size, signature in listed]
    if not files:
        return
    result = read_files(root, source, files, max_record=max_record)
    schema = _union_schema(source)
    for table, kind in ((result.records, "record"), (result.quarantine, "quarantine")):
        if table.num_rows:
            widened = _widen(table, kind, schema)
            yield from zip(*(column.to_pylist() for column in widened.columns), strict=True)
    for f in result.files:
        values = {"source_file": f.relative, "_digest": f.digest, "_problem": f.problem, "_records": f.records,
                  "_quarantined": f.quarantined, KIND: "file"}  # fmt: skip
        yield tuple(values.get(field.name) for field in schema)


def _widen(table: pa.Table, kind: str, schema: pa.Schema) -> pa.Table:
    """`table` in the union schema: its own columns, nulls for the others, and the kind."""
    n = table.num_rows
    arrays = []
    for field in schema:
        if field.name == KIND:
            arrays.append(pa.array([kind] * n, pa.string()))
        elif field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _catalog_settings(settings: Settings) -> dict[str, str]:
    from stedi.engines.spark_catalogs import catalog_settings
    from stedi.warehouse.catalog import URL_CATALOG_NAME, configured_properties

    spec = settings.catalog
    name = spec.removeprefix("pyiceberg:") if spec and spec.startswith("pyiceberg:") else URL_CATALOG_NAME
    configured = configured_properties(name) if spec and spec.startswith(("http", "pyiceberg:")) else {}
    return catalog_settings(settings.warehouse, spec, configured)


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"

    def __init__(self, session: Session, settings: Settings) -> None:
        if session.run(lambda w: w.moved):
            raise SettingsError(
                f"the Spark engine cannot use warehouse {settings.warehouse}: it was moved or copied from where it was "
                "created, and Spark reads the paths its metadata holds; use the embedded engine with it"
            )
        self.session = session
        self._catalog = _catalog_settings(settings)  # a catalog Spark cannot use is refused before any work
        self.warehouse = settings.warehouse
        self.max_record = settings.max_record_size
        self._settings = settings
        self._spark: SparkSession | None = None
        self._frames: dict[str, DataFrame] = {}
        self._writer = SparkWriter(self)

    @property
    def spark(self) -> SparkSession:
        """The engine's Spark session, started on first use: a run with nothing new never starts Spark."""
        if self._spark is None:
            settings = self._settings
            # A session of its own: its own temp views and catalog settings, one SparkContext per process.
            spark = base_session(settings.spark_master, settings.spark_conf).newSession()
            conf = settings.spark_conf or {}
            # Catalog settings given by the user (another catalog-impl, say) win over the defaults.
            given = {k: v for k, v in conf.items() if k.startswith(f"spark.sql.catalog.{CATALOG}")}
            for key, value in {**self._catalog, **given}.items():
                spark.conf.set(key, value)
            self._spark = spark
        return self._spark

    @property
    def writer(self) -> TableWriter:
        return self._writer

    def frame(self, name: str) -> DataFrame:
        return self._frames[name]

    def register(self, name: str, frame: DataFrame) -> None:
        # Materialised now and cut from its lineage: later plans stay small (the optimiser slows down
        # badly on deep plans with many subqueries) and nothing is computed twice.
        frame = frame.localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def ingest(self, root: str, source: Source, files: list[LandingFile]) -> list[FileRead]:
        from pyspark.sql import functions as F

        context = self.spark.sparkContext
        tasks = max(1, min(len(files), context.defaultParallelism * 2))
        listing = context.parallelize([(f.path, f.relative, f.size, list(f.signature)) for f in files], tasks)
        rows = listing.mapPartitions(partial(_read_task, root, source.name, self.max_record))
        union_schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in _union_schema(source))
        read = self.spark.createDataFrame(rows, union_schema, verifySchema=False).localCheckpoint(eager=True)
        landing_names = source.landing_schema().names
        lineage = ["source_file", "source_line", "source_index"]
        records = read.where(F.col(KIND) == "record").select(*landing_names).orderBy(*lineage)
        quarantine = (
            read.where(F.col(KIND) == "quarantine")
            .select(*QUARANTINE_SCHEMA.names)
            .orderBy("source_file", "source_line")
        )
        self.register(source.landing_table, records)
        self.register(source.quarantine_table, quarantine)
        found = read.where(F.col(KIND) == "file").select(
            "source_file", "_digest", "_records", "_quarantined", "_problem"
        )
        by_path = {r[0]: FileRead(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in found.collect()}
        return [by_path[f.relative] for f in files if f.relative in by_path]

    def load(self, name: str, data: pa.Table) -> None:
        schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in data.schema)
        # Timestamps as naive UTC values: the session's time zone is UTC, and tz-aware datetimes do
        # not cross to the JVM.
        for i, f in enumerate(data.schema):
            if pa.types.is_timestamp(f.type):
                data = data.set_column(i, f.name, data.column(i).cast(pa.timestamp("us")))
        rows = [tuple(r.values()) for r in data.to_pylist()]
        self.register(name, self.spark.createDataFrame(rows, schema))

    def build(self, name: str, sql: str, *, view: bool = False) -> None:
        frame = self.spark.sql(self.translate(sql))
        if view:
            frame.createOrReplaceTempView(name)
            self._frames[name] = frame
        else:
            self.register(name, frame)

    def rename(self, source: str, target: str) -> None:
        frame = self._frames.pop(source)
        old = self._frames.pop(target, None)
        frame.createOrReplaceTempView(target)
        self.spark.catalog.dropTempView(source)
        self._frames[target] = frame
        if old is not None:
            old.unpersist()

    def has(self, name: str) -> bool:
        return name in self._frames

    def columns(self, name: str) -> list[str]:
        return list(self._frames[name].columns)

    def described(self, name: str) -> list[tuple[str, str]]:
        return [(c, t) for c, t in self._frames[name].dtypes]

    def attach(self, name: str, files: list[str], schema: pa.Schema) -> str:
        if files:
            frame = self.spark.read.schema(", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)).parquet(
                *files
            )
            self.register(name, frame)
        else:
            self.load(name, schema.empty_table())
        return name

    def fetch_rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def explain(self, exc: BaseException) -> str:
        return explain_jvm_error(exc)

    def release_catalog(self) -> None:
        """Iceberg's JdbcCatalog keeps its SQLite connections (and their locks) open: closed here, so
        that pyiceberg and other processes can write the catalog again (reopened when used)."""
        manager = self.spark._jsparkSession.sessionState().catalogManager()
        if manager.isCatalogRegistered(CATALOG):
            manager.catalog(CATALOG).icebergCatalog().close()
            manager.reset()  # the next use registers the catalog afresh, with a new connection pool

    def close(self) -> None:
        for frame in self._frames.values():
            frame.unpersist()
        self._frames.clear()
        if self._spark is not None:
            self.release_catalog()


def explain_jvm_error(exc: BaseException) -> str:
    """An error in one line: for an error of the JVM, its exception and message, without the Java
    and Python stacks that follow them."""
    text = str(exc)
    if "\tat " in text or "java_exception" in dir(exc):
        lines = [line.strip() for line in text.splitlines()]
        found = next((line.removeprefix(": ") for line in lines if line.startswith(": ")), None)
        text = found or next((line for line in lines if line), "")
    return " ".join(text[:500].split()) or type(exc).__name__


def _spark_type(t: Any) -> str:
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "string"
