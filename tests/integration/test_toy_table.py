"""Adding a table is adding one SQL file with its declaration: it is built, checked, erased from and
reported, with no other change anywhere."""

from __future__ import annotations

from pathlib import Path

from stedi.config import Settings
from stedi.contract.tables import load
from stedi.pipeline.forget import forget
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.bytesearch import files_holding
from tests.support.landing import models_folder, small_landing

TOY = """/* @table
zone = "curated"
description = "Phone readings per consenting customer."
input = "accelerometer_trusted"
key = ["email"]
person = [{kind = "email", column = "email"}]
consent = "email"

[[drop]]
code = "one_per_customer"
one = "reading folded into its customer's count"
many = "readings folded into their customer's count"
sql = "SELECT (SELECT COUNT(*) FROM accelerometer_trusted) - (SELECT COUNT(*) FROM toy_reading_counts)"

[[check]]
kind = "range"
column = "readings"
min = 1
max = 1000
*/
SELECT user AS email, COUNT(*) AS readings
FROM accelerometer_trusted
GROUP BY user
ORDER BY email
"""


def test_a_toy_table_in_its_own_sql_file_is_built_checked_erased_from_and_reported(tmp_path: Path) -> None:
    folder = models_folder(tmp_path / "sql", add={"toy_reading_counts": TOY})
    assert "toy_reading_counts" in load(folder).published
    landing = small_landing(tmp_path / "landing")
    result = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), models=str(folder)))
    toy = result.table("toy_reading_counts")
    assert (toy.zone, toy.rows_in, toy.rows_out) == ("curated", 3, 2)
    assert [(d.code, d.count) for d in toy.drops] == [("one_per_customer", 1)]
    checks = {(c.table, c.kind): c.status for c in result.checks}
    assert checks[("toy_reading_counts", "unique")] == checks[("toy_reading_counts", "range")] == "pass"
    wh = Warehouse(tmp_path / "wh")
    assert sorted(r["email"] for r in wh.read("toy_reading_counts").to_pylist()) == ["bob@x.com", "jane@x.com"]
    report = (tmp_path / "wh" / "report.html").read_text()
    assert "data-table='toy_reading_counts'" in report and "1 reading folded into its customer&#x27;s count" in report

    erased = forget(str(tmp_path / "wh"), ["jane@x.com"], models=load(folder))
    assert erased.people[0].rows["toy_reading_counts"] == 1
    assert [r["email"] for r in Warehouse(tmp_path / "wh").read("toy_reading_counts").to_pylist()] == ["bob@x.com"]
    assert files_holding(tmp_path / "wh", "jane@x.com") == []


def test_forget_refuses_a_warehouse_table_it_has_no_declaration_for(tmp_path: Path) -> None:
    import pytest

    from stedi.errors import WarehouseError

    folder = models_folder(tmp_path / "sql", add={"toy_reading_counts": TOY})
    run(Settings(landing=str(small_landing(tmp_path / "landing")), warehouse=str(tmp_path / "wh"), models=str(folder)))
    with pytest.raises(WarehouseError, match=r"table toy_reading_counts .* has no declaration"):
        forget(str(tmp_path / "wh"), ["jane@x.com"])  # the package's declarations only: refused, not skipped
    assert files_holding(tmp_path / "wh", "jane@x.com")
