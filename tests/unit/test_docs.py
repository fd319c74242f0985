"""Docs that cannot rot: the command reference matches --help, the README starts with the two commands."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_generated_from_the_current_help() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "docs" / "generate_cli_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "cli.md").read_text() == module.reference(), "run `make docs` to regenerate docs/cli.md"


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    code = lines[lines.index("```") + 1 : lines.index("```", lines.index("```") + 1)]
    assert code == ["make run", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
