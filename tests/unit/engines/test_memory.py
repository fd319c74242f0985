"""The embedded engine's memory limit: half the machine's memory unless one is given."""

from __future__ import annotations

import duckdb
import pytest

from stedi.engines.duckdb import DuckDBEngine

UNITS = {"MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


def _in_a_file(con: duckdb.DuckDBPyConnection) -> bool:
    ((path,),) = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return path is not None


def _shown_bytes(con: duckdb.DuckDBPyConnection) -> float:
    ((shown,),) = con.execute("SELECT current_setting('memory_limit')").fetchall()
    number, unit = str(shown).split(" ")
    return float(number) * UNITS[unit]


def test_without_a_limit_a_run_takes_half_the_memory_duckdb_sees() -> None:
    # DuckDB's own default is 80 % of the memory it detects (cgroup limits included).
    machine = _shown_bytes(duckdb.connect()) / 0.8
    engine = DuckDBEngine(None)
    try:
        assert _shown_bytes(engine.con) == pytest.approx(max(machine / 2, 1 << 30), rel=0.02)  # 1 GiB at least
    finally:
        engine.close()


def test_a_given_limit_is_kept_also_when_the_database_moves_to_a_file() -> None:
    engine = DuckDBEngine(None, memory_limit="300MB")
    try:
        assert _shown_bytes(engine.con) == pytest.approx(300e6, rel=0.02)
        engine.reserve(10**12)  # landing data far beyond the limit: the database goes to a file
        assert _in_a_file(engine.con)
        assert _shown_bytes(engine.con) == pytest.approx(300e6, rel=0.02)
    finally:
        engine.close()


def test_the_default_limit_stays_when_the_database_moves_to_a_file() -> None:
    engine = DuckDBEngine(None)
    try:
        before = _shown_bytes(engine.con)
        engine.reserve(10**15)
        assert _in_a_file(engine.con)
        assert _shown_bytes(engine.con) == pytest.approx(before, rel=0.01)
    finally:
        engine.close()


def _string_compression(engine: DuckDBEngine) -> str:
    ((compression,),) = engine.con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('probe') WHERE segment_type = 'VARCHAR'"
    ).fetchall()
    return str(compression)


@pytest.mark.parametrize(
    ("landing_bytes", "in_a_file", "compressed"),
    [(10 << 20, False, False), (100 << 20, False, True), (10**15, True, True)],
)
def test_tables_of_large_landing_data_are_compressed_once_read(
    landing_bytes: int, in_a_file: bool, compressed: bool
) -> None:
    engine = DuckDBEngine(None, memory_limit="8GB")  # far above the first two sizes: the size alone decides
    try:
        engine.reserve(landing_bytes)
        engine.con.execute("CREATE TABLE probe AS SELECT 'the same text ' || (i % 3) AS s FROM range(1000000) t(i)")
        engine.settle()
        assert _in_a_file(engine.con) is in_a_file
        assert (_string_compression(engine) != "Uncompressed") is compressed
    finally:
        engine.close()


def test_a_machine_whose_memory_duckdb_cannot_tell_still_gets_a_gibibyte(monkeypatch: pytest.MonkeyPatch) -> None:
    import stedi.engines.duckdb as engine_module

    monkeypatch.setattr(engine_module, "_limit_bytes", lambda _con: 5.0)  # what a failed detection would show
    engine = DuckDBEngine(None)
    try:
        assert _shown_bytes(engine.con) == pytest.approx(1 << 30, rel=0.02)
    finally:
        engine.close()


def test_landing_tables_that_are_compressed_keep_their_numbers_and_files_plain_and_their_text_compressed(
    tmp_path,
) -> None:
    from stedi.contract.sources import SOURCES
    from stedi.reading.landing import discover

    source = next(s for s in SOURCES if s.name == "step_trainer")
    folder = tmp_path / "step_trainer" / "landing"
    folder.mkdir(parents=True)
    lines = (
        f'{{"sensorReadingTime":{1655564444103 + i},"serialNumber":"serial-{i % 7}","distanceFromObject":{i % 300}}}\n'
        for i in range(200_000)
    )
    text = list(lines)
    for part in range(3):  # several files: a column of one value is stored as a constant whatever is asked
        (folder / f"readings-{part}.json").write_text("".join(text[part::3]))
    engine = DuckDBEngine(None, memory_limit="8GB")
    try:
        engine.reserve(100 << 20)  # large enough to be compressed once read
        engine.ingest(str(tmp_path), source, discover(str(tmp_path), source.name).files)
        engine.settle()
        compression = dict(
            engine.con.execute(
                "SELECT column_name, string_agg(DISTINCT compression, ',') FROM pragma_storage_info(?)"
                " WHERE segment_type <> 'VALIDITY' GROUP BY column_name",
                [source.landing_table],
            ).fetchall()
        )
        # (A column of one value is stored as a constant whatever is asked.)
        plain = ("sensorReadingTime", "distanceFromObject", "source_line", "source_file")
        assert {compression[c] for c in plain} == {"Uncompressed"}
        assert "Uncompressed" not in compression["serialNumber"]
        ((rows, serials, total),) = engine.con.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT serialNumber), SUM(distanceFromObject) FROM {source.landing_table}"
        ).fetchall()
        assert (rows, serials, total) == (200_000, 7, sum(i % 300 for i in range(200_000)))
    finally:
        engine.close()
