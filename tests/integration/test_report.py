"""The run report: written by every run, rebuilt by `stedi report`, self-contained, no personal data,
and checked in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stedi.cli import main
from stedi.config import Settings
from stedi.errors import ChecksFailed
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.corpora import BATCHES, ROOT, copy_files, corpus, empty_landing, starter_files

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built from the starter data in two runs (so the history has two points)."""
    import os

    os.environ["STEDI_SUBJECT_KEY"] = "test-subject-key"
    root = tmp_path_factory.mktemp("report")
    landing = empty_landing(root / "landing")
    files = starter_files()
    copy_files(files[BATCHES[0]] + files[BATCHES[1]], corpus("stedi-starter"), landing)
    (landing / "customer" / "landing" / "bad.json").write_text(
        '{"customerName": "Zelda Quarantine", "phone": "8015550199", "birthDay": "1931-02-03", '
        '"email": "Broken.Person@test.com", "serialNumber": 5\n'
    )
    run(Settings(landing=str(landing), warehouse=str(root / "wh")))
    copy_files(files[BATCHES[2]], corpus("stedi-starter"), landing)
    run(
        Settings(
            landing=str(landing), warehouse=str(root / "wh"), expect=str(ROOT / "expectations" / "stedi-starter.toml")
        )
    )
    return root / "wh"


def test_report_is_self_contained_and_has_every_part(reported: Path) -> None:
    html = (reported / "report.html").read_text()
    for part in (
        "id='pipeline-graph'",
        "id='funnel'",
        "id='check-table'",
        "id='quarantine'",
        "id='history'",
        "id='tables'",
    ):
        assert part in html
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", html)  # nothing fetched from the network
    assert "<script" not in html
    assert "History over 2 runs" in html
    assert "474 customers without research consent" in html
    assert "row_count: row count (expectations stedi-starter)" in html


def test_report_shows_no_personal_data(reported: Path) -> None:
    html = (reported / "report.html").read_text().lower()
    people = [json.loads(line) for p in (corpus("stedi-starter") / "customer").rglob("*.json") for line in p.open()]
    for field in ("email", "customerName", "phone", "birthDay"):
        values = {str(person[field]).lower() for person in people if person.get(field)}
        assert values and not [v for v in values if v in html], field
    for value in ("broken.person@test.com", "zelda", "8015550199", "1931-02-03"):  # the quarantined line
        assert value not in html, value
    assert '"customername": "•••"' in html.replace("&quot;", '"')  # its shape is kept: why it was refused


def test_stedi_report_rewrites_the_report(reported: Path) -> None:
    (reported / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", "--warehouse", str(reported)])
    assert result.exit_code == 0, result.output
    assert (reported / "report.html").exists() and "report.html" in result.output


def test_rows_and_checks_are_in_zone_then_build_order_and_times_are_iso(reported: Path) -> None:
    from stedi.report import write_report_for

    write_report_for(str(reported), None)  # as `stedi report` writes it (a run's page adds the run's notes)
    first = (reported / "report.html").read_text()
    funnel = re.findall(r"<tr><td>([a-z_]+)</td><td class='n'>", first.split("id='funnel'")[1].split("</table>")[0])
    assert funnel[:6] == ["customer_landing", "accelerometer_landing", "step_trainer_landing",
                          "customer_quarantine", "accelerometer_quarantine", "step_trainer_quarantine"]  # fmt: skip
    assert funnel[6:11] == ["customer_trusted", "accelerometer_trusted", "step_trainer_trusted",
                            "customer_curated", "machine_learning_curated"]  # fmt: skip
    checks = first.split("id='check-table'")[1].split("</table>")[0]
    tables = re.findall(r"</td><td>(?:warn|error)</td><td>([a-z_]+)</td>", checks)
    assert tables.index("customer_trusted") < tables.index("machine_learning_curated")
    write_report_for(str(reported), None)
    assert (reported / "report.html").read_text() == first  # the same warehouse, the same page
    assert re.search(r"published by run [0-9a-f]{12} at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first)


@pytest.fixture(scope="module")
def failed_after_published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse whose last run failed a check after a published one."""
    root = tmp_path_factory.mktemp("failed")
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(root / "wh")))
    expect = root / "expect.toml"
    expect.write_text('dataset = "strict"\nseverity = "error"\n[rows]\ncustomer_trusted = 7\n')
    with pytest.raises(ChecksFailed):
        run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(root / "wh"), consent_policy="as-of",
                     expect=str(expect)))  # fmt: skip
    return root / "wh"


def _open(page: Any, report: Path, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(report.as_uri())


@pytest.mark.browser
def test_report_in_a_real_browser(reported: Path, failed_after_published: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make test` installs it (scripts/install-system-deps.sh)"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for width in (1400, 800):  # a desktop and a narrow window: nothing wider than the window
            _open(page, reported / "report.html", width)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
        nodes = page.locator("#pipeline-graph g.node")
        assert nodes.count() == 19  # 12 warehouse tables (not run_history) + 7 internal steps
        assert page.locator("#pipeline-graph path.edge").count() == 21
        ml_node = page.locator("#pipeline-graph g.node[data-table='machine_learning_curated']")
        assert "40,981 rows" in (ml_node.text_content() or "")
        first = page.locator("#funnel table tbody tr td:first-child").all_text_contents()
        assert first[:3] == ["customer_landing", "accelerometer_landing", "step_trainer_landing"]
        assert first.index("customer_trusted") < first.index("machine_learning_curated")
        checks = page.locator("#check-table tbody tr")  # 29 declared checks + 8 row counts
        assert checks.count() == 37 and page.locator("#check-table tr.check-fail").count() == 0
        assert page.locator("#banner").count() == 0
        _open(page, failed_after_published / "report.html", 1400)
        banner = page.locator("#banner")
        assert banner.is_visible() and "customer_trusted" in (banner.text_content() or "")
        assert banner.bounding_box()["y"] < page.locator("#graph").bounding_box()["y"]  # over the published state
        published_ml = page.locator("#pipeline-graph g.node[data-table='accelerometer_trusted']")
        assert "40,981 rows" in (published_ml.text_content() or "")  # not the failed as-of run's 32,025
        page.screenshot(path=str(tmp_path / "report-failed.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all((tmp_path / f"report-{n}.png").stat().st_size > 10_000 for n in (1400, 800, "failed"))


def test_an_empty_ml_table_is_a_warning_that_names_the_filter(tmp_path: Path) -> None:
    """The October 2022 export has no step-trainer reading with a single owner: an empty result that
    can be right, said loudly; `--require-rows` makes it an error."""
    result = run(Settings(landing=str(corpus("stedi-2022-10")), warehouse=str(tmp_path / "wh")))
    assert result.published and result.table("machine_learning_curated").rows_out == 0
    [empty] = [c for c in result.checks if c.kind == "min_rows"]
    assert empty.status == "warn"
    assert "step_trainer_trusted kept none of its 239,760 rows (209,790 readings whose serial number" in empty.detail
    html = (tmp_path / "wh" / "report.html").read_text()
    assert "id='empty-warning'" in html and "step_trainer_trusted kept none" in html
    with pytest.raises(ChecksFailed, match="machine_learning_curated: at least 1 row"):
        run(Settings(landing=str(corpus("stedi-2022-10")), warehouse=str(tmp_path / "strict"), require_rows=True))


def test_the_history_shows_the_last_runs_and_says_how_many_there_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stedi.report as report
    from tests.support.landing import phone, small_landing, write_landing

    monkeypatch.setattr(report, "REPORT_RUNS", 2)
    landing = small_landing(tmp_path / "landing")
    for i in range(4):
        write_landing(landing, accelerometer={f"later-{i}.json": phone("jane@x.com", 100 + i) + "\n"})
        last = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    html = (tmp_path / "wh" / "report.html").read_text()
    assert "History over the last 2 of 4 runs" in html and "4 runs recorded" in html
    assert last.run_id[:12] in html  # the state shown is the last run's
    data = report.collect(Warehouse(tmp_path / "wh"))
    assert len(data.runs) == 2 and data.recorded == 4
    assert data.runs[-1]["run_id"] == last.run_id
