"""The run report: written by every run, rebuilt by `stedi report`, self-contained, no personal data,
and checked in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from stedi.cli import main
from stedi.config import Settings
from stedi.pipeline.run import run
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
        '{"email": "Broken.Person@test.com", "serialNumber": 5\n'
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
    emails = {
        json.loads(line)["email"].lower()
        for p in (corpus("stedi-starter") / "customer").rglob("*.json")
        for line in p.open()
    }
    assert not [e for e in emails if e in html]
    assert "broken.person@test.com" not in html  # quarantined raw text is masked too
    assert "•••@•••" in html


def test_stedi_report_rewrites_the_report(reported: Path) -> None:
    (reported / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", "--warehouse", str(reported)])
    assert result.exit_code == 0, result.output
    assert (reported / "report.html").exists() and "report.html" in result.output


def test_rows_and_checks_are_in_zone_then_build_order_and_times_are_iso(reported: Path) -> None:
    from stedi.report import write_report_for

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
    assert re.search(r"last run \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first)


@pytest.mark.browser
def test_report_in_a_real_browser(reported: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make test` installs it (scripts/install-system-deps.sh)"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})  # a laptop screen
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((reported / "report.html").as_uri())
        graph = page.locator("#pipeline-graph")
        assert graph.is_visible()
        nodes = page.locator("#pipeline-graph g.node")
        assert nodes.count() == 16  # 12 warehouse tables (not run_history) + 4 internal steps
        assert page.locator("#pipeline-graph path.edge").count() >= 10
        ml_node = page.locator("#pipeline-graph g.node[data-table='machine_learning_curated']")
        assert "40,981 rows" in (ml_node.text_content() or "")
        funnel = page.locator("#funnel table tbody tr")
        assert funnel.count() >= 12
        checks = page.locator("#check-table tbody tr")  # 28 declared checks + 8 row counts
        assert checks.count() == 36 and page.locator("#check-table tr.check-fail").count() == 0
        assert graph.bounding_box()["width"] <= 1366  # fits the screen
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
