"""The shape of the tables' SQL: which queries distribute over new rows, and renaming their relations."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stedi.contract.algebra import (
    Dependency,
    Shape,
    cardinality_premises,
    distinct_columns,
    join_references,
    relations_read,
    spj_shape,
    with_relations,
    without_distinct,
)
from stedi.contract.tables import load


def test_the_packages_tables_that_are_select_project_joins() -> None:
    shapes = {t.name: spj_shape(t.sql or "") for t in load().transforms}
    assert shapes == {
        "accelerometer_readings": Shape(("accelerometer_landing",), False),
        "customer_standing": None,  # a window (QUALIFY ROW_NUMBER)
        "step_trainer_readings": Shape(("step_trainer_landing",), True),
        "customer_trusted": Shape(("customer_standing",), False),
        "serial_holders": None,  # a window
        "accelerometer_trusted": Shape(("accelerometer_readings", "customer_trusted", "run_parameters"), True),
        "shared_serial_owners": None,  # CTEs, an aggregate
        "customer_curated": None,  # a subquery
        "step_trainer_owner": None,  # two select-project-joins added by UNION ALL (see test_unions)
        "step_trainer_trusted": Shape(("step_trainer_owner", "customer_curated", "run_parameters"), False),
        "machine_learning_curated": Shape(
            ("step_trainer_trusted", "accelerometer_trusted", "subject_keys", "run_parameters"), False
        ),
        "step_trainer_matching": None,  # aggregates, an anti join
    }


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT COUNT(*) FROM t",
        "SELECT x, COUNT(*) FROM t GROUP BY x",
        "SELECT x, ROW_NUMBER() OVER (ORDER BY x) FROM t",
        "SELECT x FROM t WHERE x IN (SELECT x FROM u)",
        "SELECT x FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = t.x)",
        "SELECT t.x FROM t LEFT JOIN u ON u.x = t.x",
        "SELECT t.x FROM t FULL OUTER JOIN u ON u.x = t.x",
        "SELECT t.x FROM t ANTI JOIN u ON u.x = t.x",
        "SELECT x FROM t UNION ALL SELECT x FROM u",
        "SELECT x FROM t EXCEPT SELECT x FROM u",
        "WITH v AS (SELECT x FROM t) SELECT x FROM v",
        "SELECT DISTINCT ON (x) x, y FROM t",
        "SELECT x FROM t ORDER BY x LIMIT 3",
        "SELECT a.x FROM t AS a JOIN t AS b ON a.x = b.x",  # a self-join: one relation read twice
        "SELECT x FROM t; SELECT x FROM u",
        "SELECT * FROM read_parquet('f.parquet')",
        "not sql at all (",
    ],
)
def test_queries_that_do_not_distribute_over_new_rows_have_no_shape(sql: str) -> None:
    assert spj_shape(sql) is None


def test_inner_and_cross_joins_with_a_filter_keep_their_order() -> None:
    sql = "SELECT DISTINCT a.x FROM t AS a JOIN u ON u.x = a.x CROSS JOIN p WHERE p.on = 1 OR a.x > 2"
    assert spj_shape(sql) == Shape(("t", "u", "p"), True)


def test_renamed_relations_keep_their_aliases_and_qualified_columns() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(x, y)")
    con.execute("CREATE TABLE t_new AS SELECT * FROM (VALUES (3, 'c')) AS v(x, y)")
    con.execute("CREATE TABLE u AS SELECT * FROM (VALUES (1), (3)) AS v(x)")
    sql = "SELECT t.y, k.x FROM t JOIN u AS k ON k.x = t.x WHERE t.x > 0"
    renamed = with_relations(sql, {"t": "t_new"})
    assert con.execute(sql).fetchall() == [("a", 1)]
    assert con.execute(renamed).fetchall() == [("c", 3)]


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        ("SELECT DISTINCT a, b FROM t", ("a", "b")),
        ("SELECT DISTINCT t.a AS x, u.b FROM t JOIN u ON u.k = t.k WHERE t.a > 0", ("x", "b")),
        ("SELECT DISTINCT a, COUNT(*) AS n FROM t GROUP BY a", ("a", "n")),  # any query under the DISTINCT
        ("SELECT a, b FROM t", None),
        ("SELECT DISTINCT * FROM t", None),
        ("SELECT DISTINCT t.* FROM t", None),
        ("SELECT DISTINCT a + 1 FROM t", None),  # an unnamed column
        ("SELECT DISTINCT a, a FROM t", None),
        ("SELECT DISTINCT ON (a) a, b FROM t", None),
        ("SELECT DISTINCT a FROM t UNION ALL SELECT DISTINCT a FROM u", None),
        ("SELECT DISTINCT a FROM t; SELECT a FROM u", None),
        ("not sql at all (", None),
        ("SELECT DISTINCT 'a string never closed", None),  # SQLGlot's tokenizer gives up
        ("SELECT DISTINCT a FROM t WHERE " + "(" * 5000 + "1" + ")" * 5000, None),  # too deep for SQLGlot
    ],
)
def test_the_columns_a_select_distinct_makes_distinct(sql: str, columns: tuple[str, ...] | None) -> None:
    assert distinct_columns(sql) == columns


def test_the_packages_tables_whose_rows_are_distinct_by_their_sql() -> None:
    found = {t.name: columns for t in load().transforms if (columns := distinct_columns(t.sql or ""))}
    assert found == {
        "step_trainer_readings": ("sensorReadingTime", "serialNumber", "distanceFromObject"),
        "accelerometer_trusted": ("user", "timestamp", "x", "y", "z"),
    }


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("SELECT DISTINCT a, b FROM t", ("t", "SELECT a, b FROM t")),
        ("SELECT DISTINCT s.a, s.b FROM t AS s", ("t", "SELECT s.a, s.b FROM t AS s")),
        ("/* why */ SELECT DISTINCT a FROM t -- how", ("t", "SELECT a FROM t")),
        ("SELECT a, b FROM t", None),  # no DISTINCT to spare
        ("SELECT DISTINCT a FROM t WHERE b > 1", None),  # its input's count is not the relation's
        ("SELECT DISTINCT t.a FROM t JOIN u ON u.a = t.a", None),
        ("SELECT DISTINCT t.a FROM t, u", None),
        ("SELECT DISTINCT lower(a) FROM t", None),  # only plain columns
        ("SELECT DISTINCT a AS b FROM t", None),
        ("SELECT DISTINCT * FROM t", None),
        ("SELECT DISTINCT ON (a) a, b FROM t", None),
        ("SELECT DISTINCT a FROM t GROUP BY a", None),
        ("SELECT DISTINCT a FROM t LIMIT 3", None),
        ("SELECT DISTINCT a FROM (SELECT a FROM t) AS s", None),
        ("not sql at all (", None),
    ],
)
def test_a_distinct_projection_of_one_relation_without_its_distinct(sql: str, found: tuple[str, str] | None) -> None:
    assert without_distinct(sql) == found


def test_the_packages_tables_that_are_a_distinct_projection_of_one_relation() -> None:
    found = {t.name: found[0] for t in load().transforms if (found := without_distinct(t.sql or ""))}
    assert found == {"step_trainer_readings": "step_trainer_landing"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 1)), max_size=12))
def test_where_the_input_has_as_many_rows_the_query_without_distinct_gives_the_same_rows(
    rows: list[tuple[int, int, int]],
) -> None:
    sql = "SELECT DISTINCT a, b FROM t"
    found = without_distinct(sql)
    assert found is not None
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER)")
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    distinct = sorted(con.execute(sql).fetchall())
    plain = sorted(con.execute(found[1]).fetchall())
    assert (plain == distinct) == (len(rows) == len(distinct))


@pytest.mark.parametrize(
    ("sql", "relations"),
    [
        ("SELECT COUNT(*) FROM t WHERE x NOT IN (SELECT e FROM u)", {"t", "u"}),
        ("SELECT (SELECT COUNT(*) FROM a) - (SELECT COUNT(*) FROM b)", {"a", "b"}),
        ('SELECT COUNT(*) FROM "a table" AS v CROSS JOIN c', {"a table", "c"}),
        ("WITH c AS (SELECT * FROM t), d AS (SELECT * FROM c JOIN u ON true) SELECT * FROM d", {"t", "u"}),
        ("SELECT COUNT(*) FROM (SELECT x - LAG(x) OVER (PARTITION BY k ORDER BY x) AS step FROM t) AS s", {"t"}),
        ("SELECT normalised_email(e) FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.e = t.e)", {"t", "u"}),
        ("SELECT 1", set()),
        # What is read cannot be told: None, never a set that leaves a relation out.
        ("WITH t AS (SELECT * FROM t) SELECT * FROM t", None),  # a CTE named like the table it reads
        ("WITH c AS (SELECT * FROM d), d AS (SELECT 1) SELECT * FROM c", None),  # d is a table in c
        ("WITH RECURSIVE c AS (SELECT 1) SELECT * FROM c", None),
        ("SELECT * FROM (WITH c AS (SELECT * FROM t) SELECT * FROM c) AS s", None),  # a WITH inside
        ("SELECT * FROM read_parquet(['x.parquet'])", None),
        ("SELECT * FROM other.t", None),
        ("SELECT 1; SELECT 2", None),
        ("SELECT FROM WHERE", None),
    ],
)
def test_the_relations_a_query_reads(sql: str, relations: set[str] | None) -> None:
    found = relations_read(sql)
    assert found == (None if relations is None else frozenset(relations))


def test_every_check_and_reason_of_the_package_reads_relations_that_can_be_told() -> None:
    from stedi.contract.checks import declared_checks

    models = load()
    queries = [d.sql for t in models.transforms for d in t.drops] + [c.sql for c in declared_checks(models)]
    names = {t.name for t in models} | {"run_parameters", "subject_keys"}
    for sql in queries:
        found = relations_read(sql)
        assert found is not None and found and found <= names, sql


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("SELECT a.u FROM r AS a JOIN t AS c ON c.e = a.u", {("u", "t", "e")}),
        ("SELECT a.u AS who FROM r AS a INNER JOIN t AS c ON a.u = c.e AND c.k > 0", {("who", "t", "e")}),
        ("SELECT a.u FROM r AS a CROSS JOIN t AS c WHERE (c.e = a.u AND c.k > 0)", {("u", "t", "e")}),
        ("SELECT a.U FROM R AS a JOIN T AS c ON c.E = a.U", {("u", "t", "e")}),  # names are case-insensitive
        ("SELECT DISTINCT a.u, c.e FROM r AS a JOIN t AS c ON c.e = a.u", {("u", "t", "e"), ("e", "r", "u")}),
        ("SELECT a.u FROM r AS a LEFT JOIN t AS c ON c.e = a.u", set()),  # an outer join keeps unmatched rows
        ("SELECT a.u FROM t AS c RIGHT JOIN r AS a ON c.e = a.u", set()),
        ("SELECT a.u FROM r AS a ANTI JOIN t AS c ON c.e = a.u", set()),
        ("SELECT a.u FROM r AS a ASOF JOIN t AS c ON c.e = a.u AND a.k >= c.k", set()),
        ("SELECT a.u FROM r AS a JOIN t AS c USING (u)", set()),
        ("SELECT a.u FROM r AS a JOIN t AS c ON c.e = a.u OR c.k = 1", set()),  # not a conjunct
        ("SELECT a.u FROM r AS a JOIN t AS c ON NOT (c.e = a.u)", set()),
        ("SELECT a.u FROM r AS a JOIN t AS c ON c.e <> a.u", set()),
        ("SELECT LOWER(a.u) AS u FROM r AS a JOIN t AS c ON c.e = a.u", set()),  # not taken as it is
        ("SELECT u FROM r AS a JOIN t AS c ON c.e = a.u", set()),  # unqualified
        ("SELECT a.u FROM r AS a JOIN (SELECT e FROM t) AS c ON c.e = a.u", set()),  # a subquery
        ("WITH t AS (SELECT 1 AS e) SELECT a.u FROM r AS a JOIN t AS c ON c.e = a.u", set()),  # a CTE named t
        ("SELECT a.u FROM r AS a JOIN t AS c ON c.e = a.u GROUP BY ROLLUP (a.u)", set()),  # NULL in a total row
        ("SELECT a.u FROM r AS a JOIN t AS c ON c.e = a.u UNION ALL SELECT u FROM s", set()),
        ("SELECT a.u FROM r AS a WHERE a.u IN (SELECT e FROM t)", set()),  # a semi join: not told here
        ("SELECT a.u FROM r AS a JOIN t AS a ON a.e = a.u", set()),  # one alias for two relations
        ("SELECT a.u FROM s.r AS a JOIN t AS c ON c.e = a.u", set()),  # a schema-qualified name
        ("SELECT a.u FROM r AS a JOIN t AS c(e) ON c.e = a.u", set()),
        ("SELECT a.u, c.k AS u FROM r AS a JOIN t AS c ON c.e = a.u", set()),  # two columns named u
        (
            "SELECT a.*, a.u FROM r AS a JOIN t AS c ON c.e = a.u",
            set(),
        ),  # a star may name u again  # c.e is t's first column, named e here
        ("SELECT a.u FROM r AS a JOIN t PIVOT (SUM(k) FOR e IN (1)) AS c ON c.e = a.u", set()),
        ("not sql at all (", set()),
    ],
)
def test_the_columns_an_inner_join_makes_refer_to_another_relation(sql: str, found: set[tuple[str, str, str]]) -> None:
    assert join_references(sql) == found


def test_the_packages_tables_whose_sql_joins_a_column_to_another_relation() -> None:
    found = {t.name: references for t in load().transforms if (references := join_references(t.sql or ""))}
    assert found == {
        "accelerometer_trusted": {("user", "customer_trusted", "email")},
        "step_trainer_trusted": {("email", "customer_curated", "email")},
        "machine_learning_curated": {("sensorreadingtime", "accelerometer_trusted", "timestamp")},
    }


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a.u FROM r AS a JOIN t AS c ON c.e = a.u",
        "SELECT a.u AS who FROM r AS a INNER JOIN t AS c ON a.u = c.e AND c.k > 0",
        "SELECT a.u FROM r AS a CROSS JOIN t AS c WHERE (c.e = a.u AND c.k > 0)",
        "SELECT DISTINCT a.u, c.e FROM r AS a JOIN t AS c ON c.e = a.u",
    ],
)
def test_every_row_of_such_a_join_refers_to_the_relation_named(sql: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES ('a', 1), ('b', 2), (NULL, 3), ('c', NULL)) AS v(u, k)")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 1), ('b', -1), (NULL, 1), ('d', 2)) AS v(e, k)")
    con.execute(f"CREATE TABLE out AS {sql}")
    for column, relation, referred in join_references(sql):
        missing = f"SELECT COUNT(*) FROM out WHERE NOT EXISTS (SELECT 1 FROM {relation} AS x WHERE x.{referred} = out.{column})"
        assert con.execute(missing).fetchone() == (0,)
    assert con.execute("SELECT COUNT(*) FROM out").fetchone()[0] > 0  # type: ignore[index]


R_GK, T_JO = Dependency("r", ("g",), "m"), Dependency("t", ("j",), "o")


@pytest.mark.parametrize(
    ("sql", "key", "column", "found"),
    [
        ("SELECT a.g, c.o FROM r AS a JOIN t AS c ON c.j = a.m", ("g",), "o", (R_GK, T_JO)),
        ("SELECT a.g, c.o AS who FROM r AS a, t AS c WHERE a.m = c.j AND c.o > 0", ("g",), "who", (R_GK, T_JO)),
        ("SELECT DISTINCT a.g, c.o FROM r AS a JOIN t AS c ON c.j = a.m AND c.o > 0", ("g",), "o", (R_GK, T_JO)),
        ("SELECT a.g, a.m FROM r AS a JOIN t AS c ON c.j = a.m", ("g",), "m", (R_GK,)),  # of the same relation
        ("SELECT a.g, a.h, a.m FROM r AS a", ("g", "h"), "m", (Dependency("r", ("g", "h"), "m"),)),
        ("SELECT a.G, c.O FROM R AS a JOIN T AS c ON c.J = a.M", ("g",), "o",
         (Dependency("r", ("G",), "M"), Dependency("t", ("J",), "O"))),  # columns as the SQL spells them
        ("SELECT a.g, c.o FROM r AS a JOIN t AS c ON c.j = a.m OR c.o = 1", ("g",), "o", None),  # not a conjunct
        ("SELECT a.g, c.o FROM r AS a LEFT JOIN t AS c ON c.j = a.m", ("g",), "o", None),  # an outer join
        ("SELECT a.g, c.o FROM r AS a JOIN t AS c ON c.j > a.m", ("g",), "o", None),
        ("SELECT a.g, c.o FROM r AS a CROSS JOIN t AS c", ("g",), "o", None),  # nothing ties c to a
        ("SELECT a.g, c.h, c.o FROM r AS a JOIN t AS c ON c.j = a.m", ("g", "h"), "o", None),  # a key of two
        ("SELECT a.g, LOWER(c.o) AS o FROM r AS a JOIN t AS c ON c.j = a.m", ("g",), "o", None),  # computed
        ("SELECT a.g, MAX(c.o) AS o FROM r AS a JOIN t AS c ON c.j = a.m GROUP BY a.g", ("g",), "o", None),
        ("SELECT a.g, c.o, a.m AS o FROM r AS a JOIN t AS c ON c.j = a.m", ("g",), "o", None),  # two named o
        ("SELECT a.g, c.o FROM r AS a JOIN (SELECT j, o FROM t) AS c ON c.j = a.m", ("g",), "o", None),
        ("SELECT a.g, c.o FROM r AS a JOIN t AS c ON c.j = a.m", ("x",), "o", None),  # no such column
        ("not sql at all (", ("g",), "o", None),
    ],
)  # fmt: skip
def test_what_a_join_needs_of_its_inputs_to_have_one_value_per_key(
    sql: str, key: tuple[str, ...], column: str, found: tuple[Dependency, ...] | None
) -> None:
    assert cardinality_premises(sql, key, column) == found


def test_the_package_tables_whose_cardinality_follows_from_their_inputs() -> None:
    ml = load()["machine_learning_curated"].sql or ""
    assert cardinality_premises(ml, ("serialNumber", "sensorReadingTime"), "subject_id") == (
        Dependency("step_trainer_trusted", ("serialNumber", "sensorReadingTime"), "email"),
        Dependency("subject_keys", ("email",), "subject_id"),
    )
    assert cardinality_premises(ml, ("subject_id",), "split") == (Dependency("subject_keys", ("subject_id",), "split"),)


_VALUE = st.one_of(st.none(), st.integers(0, 2))
_SOUNDNESS = [
    "SELECT a.g, c.o FROM r AS a JOIN t AS c ON c.j = a.m",
    "SELECT DISTINCT a.g, c.o FROM r AS a, t AS c WHERE a.m = c.j AND (c.o > 0 OR a.g IS NULL)",
    "SELECT a.g, a.m AS o FROM r AS a JOIN t AS c ON c.j = a.m",
]


@settings(max_examples=100, deadline=None)
@given(
    r=st.lists(st.tuples(_VALUE, _VALUE), max_size=8),
    t=st.lists(st.tuples(_VALUE, _VALUE), max_size=8),
    sql=st.sampled_from(_SOUNDNESS),
)
def test_where_the_premises_hold_the_output_has_one_value_per_key(
    r: list[tuple[int | None, int | None]], t: list[tuple[int | None, int | None]], sql: str
) -> None:
    """Any rows, NULLs among them: when the inputs hold the dependencies found, the query's output
    holds the cardinality, counted as a `cardinality` check counts it."""
    con = duckdb.connect()
    con.execute("CREATE TABLE r (g INTEGER, m INTEGER)")
    con.execute("CREATE TABLE t (j INTEGER, o INTEGER)")
    for relation, rows in (("r", r), ("t", t)):
        if rows:
            con.executemany(f"INSERT INTO {relation} VALUES (?, ?)", rows)

    def broken(relation: str, key: tuple[str, ...], column: str) -> int:
        keys = ", ".join(key)
        grouped = f"SELECT {keys} FROM {relation} GROUP BY {keys} HAVING COUNT(DISTINCT {column}) > 1"
        return con.execute(f"SELECT COUNT(*) FROM ({grouped})").fetchone()[0]  # type: ignore[index]

    premises = cardinality_premises(sql, ("g",), "o")
    assert premises is not None
    con.execute(f"CREATE TABLE out AS {sql}")
    if all(broken(d.relation, d.key, d.column) == 0 for d in premises):
        assert broken("out", ("g",), "o") == 0


def test_without_its_premises_the_output_can_have_two_values_per_key() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES (1, 1), (1, 2)) AS v(g, m)")  # g = 1 has two m
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 5), (2, 6)) AS v(j, o)")
    sql = _SOUNDNESS[0]
    assert cardinality_premises(sql, ("g",), "o") == (R_GK, T_JO)
    found = con.execute(f"SELECT g, COUNT(DISTINCT o) FROM ({sql}) GROUP BY g").fetchall()
    assert found == [(1, 2)]
