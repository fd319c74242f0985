"""Checks as data: every kind counts its violations, declarations compile, expectations files read."""

from __future__ import annotations

import math

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stedi.contract.checks import HISTOGRAM, compile_check, declared_checks, load_expectations
from stedi.contract.tables import load
from tests.support.corpora import ROOT


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE people (email VARCHAR, serial VARCHAR, consent BIGINT)")
    con.execute("INSERT INTO people VALUES ('a', 's1', 1), ('b', 's2', NULL), ('b', 's3', 3), ('c', 's3', 4)")
    con.execute("CREATE TABLE readings (email VARCHAR, serial VARCHAR, t BIGINT, x DOUBLE)")
    con.execute("INSERT INTO readings VALUES ('a', 's1', 1, 0.5), ('z', 's1', 1, 99.0), ('c', 's3', 2, -7.0)")
    con.execute("CREATE TABLE keys (k VARCHAR, v DOUBLE)")
    con.execute("INSERT INTO keys VALUES ('a', 1), ('a', 1), ('a', 2), (NULL, 0.0), (NULL, -0.0), ('b', NULL)")
    return con


CASES = [
    ({"kind": "unique", "table": "keys", "columns": ["k"]}, 3),  # two more a, one more NULL
    ({"kind": "unique", "table": "keys", "columns": ["k", "v"]}, 2),  # (a, 1) twice; 0.0 and -0.0 are one value
    ({"kind": "unique", "table": "people", "columns": ["email"]}, 1),
    ({"kind": "unique", "table": "people", "columns": ["email", "serial"]}, 0),
    ({"kind": "not_null", "table": "people", "columns": ["consent"]}, 1),
    ({"kind": "not_null", "table": "people", "columns": ["email", "serial"]}, 0),
    ({"kind": "range", "table": "readings", "column": "x", "min": -5, "max": 50}, 2),
    ({"kind": "range", "table": "readings", "column": "x", "min": -100, "max": 100}, 0),
    ({"kind": "references", "table": "readings", "column": "email", "to_table": "people", "to_column": "email"}, 1),
    ({"kind": "references", "table": "people", "column": "serial", "to_table": "readings", "to_column": "serial"}, 1),
    ({"kind": "cardinality", "table": "readings", "columns": ["serial", "t"], "of": "email", "max": 1}, 1),
    ({"kind": "cardinality", "table": "people", "columns": ["email"], "of": "serial", "max": 2}, 0),
    ({"kind": "funnel", "table": "people", "from": "readings"}, 1),
    ({"kind": "funnel", "table": "readings", "from": "people"}, 0),  # one row fewer: within the bound
    ({"kind": "min_rows", "table": "readings", "min": 5}, 2),
    ({"kind": "min_rows", "table": "readings"}, 0),
]


@pytest.mark.parametrize(("spec", "violations"), CASES, ids=lambda v: str(v)[:60])
def test_every_check_kind_counts_its_violations(con: duckdb.DuckDBPyConnection, spec: dict, violations: int) -> None:
    check = compile_check({**spec, "severity": "error"})
    found = con.execute(check.sql).fetchone()[0]
    assert (max(found, 0) if check.excess else found) == violations  # an excess counts its positive part


def test_unknown_kind_or_severity_is_a_clear_error() -> None:
    from stedi.errors import SettingsError

    with pytest.raises(SettingsError, match="unknown kind"):
        compile_check({"kind": "vibes", "table": "t"})
    with pytest.raises(SettingsError, match="severity"):
        compile_check({"kind": "unique", "table": "t", "columns": ["a"], "severity": "fatal"})


def test_the_shipped_checks_cover_every_kind() -> None:
    assert {c.kind for c in declared_checks(load())} == {
        "unique",
        "not_null",
        "range",
        "references",
        "cardinality",
        "funnel",
        "gaps",
        "conflicts",
        "outliers",
        "at_least",
        "min_rows",
    }


def test_starter_expectations_mark_the_original_figure_as_the_timestamp_join() -> None:
    path = ROOT / "expectations" / "stedi-starter.toml"
    assert load_expectations(path, "all", "owner").rows["machine_learning_curated"] == 40981
    assert load_expectations(path, "all", "timestamp").rows["machine_learning_curated"] == 43681
    assert "timestamp" in path.read_text().split("43681")[1].splitlines()[0]
    as_of = load_expectations(path, "as-of", "owner").rows
    assert (as_of["accelerometer_trusted"], as_of["customer_curated"]) == (32025, 464)


def test_each_key_is_checked_unique_and_only_published_tables_are_checked() -> None:
    checks = declared_checks(load())
    unique = {(c.table, c.description) for c in checks if c.kind == "unique"}
    assert ("customer_trusted", "(email) unique") in unique
    assert ("accelerometer_trusted", "(user, timestamp, x, y, z) unique") in unique
    assert not any(c.table in ("customer_standing", "step_trainer_owner") for c in checks)
    assert len(checks) == 29


def _count(con, sql: str) -> float:
    return con.execute(sql).fetchall()[0][0]


def test_sensor_checks_count_gaps_conflicts_and_outliers() -> None:
    import duckdb

    from stedi.contract.checks import compile_check

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES ('a', 0, 10), ('a', 1000, 12), ('a', 2000, 11), ('a', 90000, 13),"
        " ('a', 90000, 12), ('b', 0, 9), ('b', 500, 10), ('b', 1000, 900)) AS t(serial, instant, distance)"
    )
    gaps = compile_check({"kind": "gaps", "table": "r", "by": "serial", "at": "instant", "max_gap": 60000})
    assert con.execute(gaps.sql).fetchall() == [(1, 1000)]  # a: 2,000 -> 90,000; steps 1000, 1000, 88000, 500, 500
    conflicts = compile_check(
        {"kind": "conflicts", "table": "r", "columns": ["serial", "instant"], "values": ["distance"]}
    )
    assert _count(con, conflicts.sql) == 1  # a at 90,000 read 13 and 12
    outliers = compile_check({"kind": "outliers", "table": "r", "column": "distance", "mads": 6})
    assert con.execute(outliers.sql).fetchall() == [
        (1, 1.5)
    ]  # 900: the median is 11.5, the median absolute deviation 1.5
    assert outliers.severity == "error"  # declared checks say warn themselves
    assert con.execute(outliers.by_value).fetchall() == [(1, 1.5)]


_NUMBERS = st.one_of(
    st.none(),
    st.floats(allow_nan=False, width=64),  # infinities included: their deviations are NaN or infinite
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 1e16, 5e-324]),
    st.floats(-5, 5).map(lambda f: round(f, 1)),  # few values, many rows each
)
_INTEGERS = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-20, 20))


def _same(found: list[tuple], expected: list[tuple]) -> bool:
    """Equal rows, a NaN figure equal to a NaN figure."""
    (count, figure), (expected_count, expected_figure) = found[0], expected[0]
    nan = figure is not None and expected_figure is not None and math.isnan(figure) and math.isnan(expected_figure)
    return count == expected_count and (figure == expected_figure or nan)


@settings(max_examples=400, deadline=None)
@given(
    column=st.sampled_from(
        [("DOUBLE", _NUMBERS), ("BIGINT", _INTEGERS), ("INTEGER", st.integers(-(2**31), 2**31 - 1))]
    ),
    data=st.data(),
    mads=st.sampled_from([0.5, 1.0, 6.0]),
)
def test_the_outliers_check_by_value_answers_what_its_medians_over_every_row_answer(column, data, mads) -> None:
    kind, values = column
    rows = data.draw(st.lists(values, max_size=60))
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (v {kind})")
    if rows:
        con.executemany("INSERT INTO t VALUES (?)", [[v] for v in rows])
    check = compile_check({"kind": "outliers", "table": "t", "column": "v", "mads": mads})
    expected = con.execute(check.sql).fetchall()
    assert _same(con.execute(check.by_value).fetchall(), expected), (rows, expected)


def test_the_outliers_check_by_value_interpolates_an_even_count_as_duckdb_does() -> None:
    # (1 + 1.8014398509481988e16) / 2 is not representable: DuckDB takes the mean rounded once,
    # ...994, where lo + (hi - lo) * 0.5 gives ...996. The deviations are then
    # ...992 (1.0's, rounded) and ...994: the median absolute deviation ...992, and ...994 beyond it.
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1.0), (1.8014398509481988e16)) AS r(v)")
    check = compile_check({"kind": "outliers", "table": "t", "column": "v", "mads": 1})
    assert con.execute("SELECT MEDIAN(v) FROM t").fetchall() == [(9007199254740994.0,)]
    assert con.execute(check.by_value).fetchall() == con.execute(check.sql).fetchall() == [(1, 9007199254740992.0)]


@pytest.mark.parametrize(
    "values",
    [
        [0.0, 1.0, 2.2250738585e-313, 5e-324],  # subnormal: halving the lower value rounds
        [0.0, 0.0, 1.0, 1.0, 5e-324, 5e-324],
        [5e-324, 1e-323],
        [1.5e-323, 1.5e-323],
        [1e308, 1.7e308],  # the sum overflows: each value is halved first
        [-1.7e308, -1e308, 0.0, 1.7e308],
        [float("-inf"), float("inf")],
        [1.0, float("inf")],
    ],
)
def test_the_outliers_check_by_value_gives_the_median_of_extreme_doubles_as_duckdb_does(values: list[float]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    check = compile_check({"kind": "outliers", "table": "t", "column": "v", "mads": 1})
    assert _same(con.execute(check.by_value).fetchall(), con.execute(check.sql).fetchall())


def test_the_gaps_check_steps_between_distinct_instants_only() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES ('a', 0.0), ('a', 0.0), ('a', 1000.0), ('a', 70000.0),"
        " ('a', 'NaN'::DOUBLE), ('a', 'NaN'::DOUBLE), ('b', NULL), ('b', NULL), ('b', 5.0)) AS t(serial, instant)"
    )
    gaps = compile_check({"kind": "gaps", "table": "r", "by": "serial", "at": "instant", "max_gap": 60000})
    # a's distinct instants 0, 1,000, 70,000 and NaN (greatest, as DuckDB orders it) give the steps
    # 1,000, 69,000 and NaN, the last two above the limit; b's only step is from 5 to NULL, unknown
    assert con.execute(gaps.sql).fetchall() == [(2, 69000.0)]


@pytest.mark.parametrize(
    ("rows", "conflicting"),
    [
        ([("a", 1, 5.0, "x"), ("a", 1, 5.0, "x")], 0),  # read twice alike
        ([("a", 1, None, "x"), ("a", 1, 5.0, "x")], 1),  # NULL is a value of its own, as DISTINCT counts it
        ([("a", 1, None, "x"), ("a", 1, None, "x")], 0),
        ([("a", 1, 1.0, "y"), ("a", 1, 2.0, "x")], 1),  # both columns differ
        ([("a", 1, 1.0, None), ("a", 1, 1.0, "x"), ("b", 1, 1.0, "x"), ("b", 2, 9.0, "x")], 1),
        ([("a", 1, 0.0, "x"), ("a", 1, -0.0, "x")], 0),  # equal numbers, as DISTINCT groups them
        ([(None, 1, 1.0, "x"), (None, 1, 2.0, "x")], 1),  # NULL keys form one key, as in GROUP BY
    ],
)
def test_conflicts_are_keys_whose_rows_hold_more_than_one_set_of_values(rows, conflicting) -> None:
    import duckdb

    from stedi.contract.checks import compile_check

    con = duckdb.connect()
    con.execute("CREATE TABLE r (serial VARCHAR, instant BIGINT, distance DOUBLE, unit VARCHAR)")
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?)", rows)
    check = compile_check(
        {"kind": "conflicts", "table": "r", "columns": ["serial", "instant"], "values": ["distance", "unit"]}
    )
    assert _count(con, check.sql) == conflicting


def _held_and_fresh(name: str, value: str, held: list[tuple], fresh: list[tuple]) -> duckdb.DuckDBPyConnection:
    """Tables `held` (rows of before) and `fresh` (new rows) of (serial, t, value), and view `name`
    over both: a table that grew."""
    con = duckdb.connect()
    for table, rows in (("held", held), ("fresh", fresh)):
        con.execute(f"CREATE TABLE {table} (serial VARCHAR, t BIGINT, {value})")
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM held UNION ALL SELECT * FROM fresh")
    return con


@pytest.mark.parametrize(
    ("new_rows", "violations"),
    [
        ([], 0),  # no new rows: nothing to count
        ([("s1", 1, "b")], 1),  # a second owner of an old instant
        ([("s9", 5, "a"), ("s9", 5, "b"), ("s9", 5, "b"), ("s1", 2, "b")], 2),  # a new and an old instant
        ([(None, 1, "b"), (None, 1, "c")], 1),  # NULLs form one key, as in GROUP BY
        ([(None, None, "z")], 1),  # an old NULL key gets another owner
        ([("s2", 2, "c"), ("s3", 3, "c")], 0),  # new rows that break nothing
    ],
)
def test_a_scoped_cardinality_check_counts_what_the_whole_table_check_counts(
    new_rows: list[tuple], violations: int
) -> None:
    """Over rows that passed (each instant one owner), the count among the groups the new rows touch
    is the count over the whole table."""
    held = [("s1", 1, "a"), ("s1", 2, "a"), ("s2", 2, "c"), (None, 1, "a"), (None, None, "y")]
    con = _held_and_fresh("owned", "owner VARCHAR", held, new_rows)
    check = compile_check(
        {"kind": "cardinality", "table": "owned", "columns": ["serial", "t"], "of": "owner", "max": 1}
    )
    assert check.scope is not None
    ((whole,),) = con.execute(check.sql).fetchall()
    ((scoped,),) = con.execute(check.scoped("fresh")).fetchall()
    assert scoped == whole == violations


@pytest.mark.parametrize(
    ("new_rows", "violations"),
    [
        ([], 2),  # no new rows: the conflicts of before
        ([("s2", 2, 100.0)], 3),  # an old key gets a second value
        ([("s1", 1, 300.0)], 2),  # an old conflict gets a third value: still one key
        ([("s1", 2, 100.0), ("s9", 9, 1.0), ("s9", 9, 2.0)], 3),  # a new key read twice, an old key alike
        ([(None, 1, 7.0)], 2),  # NULL keys form one key, as in GROUP BY: its conflict was there
        ([(None, 5, None), (None, 5, 1.0)], 3),  # NULL beside a value disagrees
    ],
)
def test_a_scoped_warning_counts_the_whole_table_from_the_count_of_before(
    new_rows: list[tuple], violations: int
) -> None:
    """Over rows of before that hold violations (a warning publishes), the whole table's count is the
    count of before, less the violations of before among the keys the new rows hold, plus those now."""
    held = [("s1", 1, 100.0), ("s1", 1, 200.0), ("s1", 2, 100.0), ("s2", 2, 50.0), (None, 1, 1.0), (None, 1, 2.0)]
    con = _held_and_fresh("readings", "distance DOUBLE", held, new_rows)
    check = compile_check(
        {
            "kind": "conflicts",
            "table": "readings",
            "columns": ["serial", "t"],
            "values": ["distance"],
            "severity": "warn",
        }
    )
    ((before,),) = con.execute(check.sql.replace('"readings"', '"held"')).fetchall()
    ((then,),) = con.execute(check.scoped("fresh", "held")).fetchall()
    ((now,),) = con.execute(check.scoped("fresh")).fetchall()
    ((whole,),) = con.execute(check.sql).fetchall()
    assert before == 2  # ('s1', 1) and the NULL key at 1
    assert before - then + now == whole == violations


def _readings_and_phones() -> duckdb.DuckDBPyConnection:
    """Four subjects' step-trainer readings and phone readings, with step_trainer_matching built from
    its declared SQL."""
    con = duckdb.connect()
    con.execute("CREATE TABLE step_trainer_trusted (sensorReadingTime BIGINT, email VARCHAR)")
    con.execute(
        "INSERT INTO step_trainer_trusted VALUES (1, 'a'), (2, 'a'), (3, 'a'), (1, 'b'), (2, 'b'), "
        "(1, 'c'), (2, 'c'), (1, NULL)"
    )
    con.execute("CREATE TABLE accelerometer_trusted (user VARCHAR, timestamp BIGINT)")
    con.execute(
        # a: 1 of 3 (the reading of b at 2 is not a's); b: 2 of 2, one instant read twice; c: 1 of 2;
        # the reading without an owner's email matches nothing
        "INSERT INTO accelerometer_trusted VALUES ('a', 1), ('b', 2), ('b', 1), ('b', 1), ('c', 2), (NULL, 1)"
    )
    con.execute(f"CREATE TABLE step_trainer_matching AS {load()['step_trainer_matching'].sql}")
    return con


def test_the_clock_check_gives_each_subject_the_share_of_readings_their_own_phone_matched() -> None:
    (check,) = [c for c in declared_checks(load()) if c.table == "step_trainer_trusted" and c.kind == "at_least"]
    con = _readings_and_phones()
    ((count, median),) = con.execute(check.sql).fetchall()
    assert count == 2  # a (1/3) and the reading without an email (0); c's half is not fewer than half
    assert median == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert check.histogram is not None
    con.execute(f"CREATE TABLE shares AS {check.histogram.values}")
    assert con.execute(check.histogram.answer.replace(HISTOGRAM, "shares")).fetchall() == [(count, median)]


def test_the_owner_rows_of_the_clock_check_come_from_each_owners_rows_alone() -> None:
    """step_trainer_matching declares its groups: an owner's row from their own readings alone, so the
    rows of the owners new readings touch, as they were and are, take the place of theirs before."""
    table = load()["step_trainer_matching"]
    assert dict(table.groups) == {"step_trainer_trusted": "email", "accelerometer_trusted": "user"}
    con = _readings_and_phones()
    con.execute("CREATE TABLE new_phones AS SELECT * FROM (VALUES ('a', 2), ('c', 1)) AS v(user, timestamp)")
    was = con.execute(f"SELECT * FROM ({table.sql}) WHERE email IN ('a', 'c') ORDER BY email").fetchall()
    con.execute("INSERT INTO accelerometer_trusted SELECT * FROM new_phones")
    now = con.execute(f"SELECT * FROM ({table.sql}) ORDER BY email NULLS LAST").fetchall()
    assert was == [("a", 3, 2), ("c", 2, 1)]
    assert now == [
        ("a", 3, 1),
        ("b", 2, 0),
        ("c", 2, 0),
        (None, 1, 1),
    ]  # b and the reading without an email as they were


@pytest.mark.parametrize(
    ("values", "count", "median"),
    [
        ([0.25, 0.75, None, 0.5], 1, 0.5),  # NULL neither counted nor in the median
        ([None, None], 0, None),
        ([1.0, 1.0, 0.0, 0.4999], 2, 0.74995),
        ([], 0, None),
    ],
)
def test_an_at_least_check_counts_the_rows_below_and_gives_the_median_from_its_values_too(
    values: list[float | None], count: int, median: float | None
) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE groups (share DOUBLE)")
    if values:
        con.executemany("INSERT INTO groups VALUES (?)", [(v,) for v in values])
    check = compile_check(
        {"kind": "at_least", "table": "t", "over": "groups", "value": "share", "min": 0.5, "description": "d"}
    )
    ((found, middle),) = con.execute(check.sql).fetchall()
    assert found == count and (middle == pytest.approx(median) if median is not None else middle is None)
    assert check.histogram is not None and check.histogram.relation == "groups"
    con.execute(f"CREATE TABLE pairs AS {check.histogram.values}")
    assert con.execute(check.histogram.answer.replace(HISTOGRAM, "pairs")).fetchall() == [(found, middle)]


def test_an_at_least_check_needs_a_number() -> None:
    from stedi.errors import SettingsError

    with pytest.raises(SettingsError, match="min must be a number"):
        compile_check({"kind": "at_least", "table": "t", "over": "g", "value": "v", "min": "half", "description": "d"})


def test_the_owner_join_counts_the_readings_no_phone_reading_of_their_owner_matches() -> None:
    drop = next(d for d in load()["machine_learning_curated"].drops if d.only == {"ml_join": "owner"})
    # a's 2 and 3, c's 1 and the reading without an email; b's reading at 2 is matched by b's own phone
    assert _readings_and_phones().execute(drop.sql).fetchall() == [(4,)]


_SERIALS = st.sampled_from(["a", "b", "c", None])
_READINGS = st.lists(st.tuples(_SERIALS, st.integers(0, 200_000)), max_size=25)


@settings(max_examples=120, deadline=None)
@given(_READINGS, _READINGS)
def test_the_gaps_follow_from_the_last_values_less_the_touched_devices_plus_theirs_now(
    before: list[tuple[str | None, int]], new: list[tuple[str | None, int]]
) -> None:
    """The gaps check's count and median from its multiset of steps equal its own SQL's; and the
    multiset of a table that gained rows is that of its rows of before, less the steps of the devices
    the new rows touch as they were, plus theirs now."""
    con = duckdb.connect()
    for name, rows in (("before", before), ("delta", new)):
        con.execute(f"CREATE TABLE {name} (serial VARCHAR, instant BIGINT)")
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)
    con.execute("CREATE TABLE now AS SELECT * FROM before UNION ALL SELECT * FROM delta")
    spec = {"kind": "gaps", "by": "serial", "at": "instant", "max_gap": 60000}
    gaps, gaps_before = (compile_check({**spec, "table": name}) for name in ("now", "before"))
    assert gaps.histogram is not None and gaps_before.histogram is not None
    con.execute(f"CREATE TABLE recorded AS {gaps_before.histogram.values}")
    con.execute(f"CREATE TABLE merged AS {gaps.histogram.merged('recorded', 'delta', 'before', 'now')}")
    whole = sorted(con.execute(gaps.histogram.values).fetchall())
    assert sorted(con.execute("SELECT value, n FROM merged").fetchall()) == whole
    answer = con.execute(gaps.histogram.answer.replace(HISTOGRAM, "merged")).fetchall()
    assert answer == con.execute(gaps.sql).fetchall()


_SHARES = st.lists(
    st.tuples(st.integers(0, 4), st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 1.0]))), max_size=12
)


@settings(max_examples=100, deadline=None)
@given(_SHARES, st.sets(st.integers(0, 4)), _SHARES)
def test_an_at_least_check_follows_from_the_last_values_less_the_touched_groups_plus_theirs_now(
    before: list[tuple[int, float | None]], touched: set[int], new: list[tuple[int, float | None]]
) -> None:
    """A relation of groups (g) whose touched groups' rows were `was` and are `now`: its pairs are the
    last run's less those of `was`, plus those of `now`, and the check's answer from them is its own SQL's."""
    con = duckdb.connect()
    rows = {
        "before": before,
        "was": [r for r in before if r[0] in touched],
        "now": [r for r in new if r[0] in touched],
        "groups": [r for r in before if r[0] not in touched] + [r for r in new if r[0] in touched],
    }
    for name, values in rows.items():
        con.execute(f"CREATE TABLE {name} (g INTEGER, share DOUBLE)")
        if values:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?)", values)
    spec = {"kind": "at_least", "table": "t", "value": "share", "min": 0.5, "description": "d"}
    check, check_before = (compile_check({**spec, "over": name}) for name in ("groups", "before"))
    assert check.histogram is not None and check_before.histogram is not None
    con.execute(f"CREATE TABLE recorded AS {check_before.histogram.values}")
    con.execute(f"CREATE TABLE merged AS {check.histogram.regrouped('recorded', 'was', 'now')}")
    assert sorted(con.execute("SELECT value, n FROM merged").fetchall()) == sorted(
        con.execute(check.histogram.values).fetchall()
    )
    assert (
        con.execute(check.histogram.answer.replace(HISTOGRAM, "merged")).fetchall() == con.execute(check.sql).fetchall()
    )
