"""Write docs/cli.md from the commands' own --help text (run by `make docs`; checked by the tests)."""

from __future__ import annotations

from pathlib import Path

import click

from stedi.cli import main

TARGET = Path(__file__).with_name("cli.md")


def reference() -> str:
    parts = ["# Command reference", "", "Generated from `stedi --help` by `make docs`; do not edit by hand.", ""]
    context = click.Context(main, info_name="stedi", terminal_width=80, max_content_width=80)
    parts += ["```", main.get_help(context), "```", ""]
    for name in sorted(main.commands):
        command = main.commands[name]
        sub = click.Context(command, info_name=name, parent=context, terminal_width=80, max_content_width=80)
        parts += [f"## stedi {name}", "", "```", command.get_help(sub), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    TARGET.write_text(reference())
