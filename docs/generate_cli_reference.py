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
    parts += [
        "Every command that reports what it did takes `--format json` (`stedi export`: `--output-format json`,",
        "its `--format` being the file format), for scripts. Errors are one line on stderr starting",
        "`error:`, with exit code 1 (2 for a usage error).",
        "",
        "## Shell completion",
        "",
        "Commands, options and choices complete with Tab in bash, zsh and fish; add one line to your",
        "shell's start-up file:",
        "",
        "```",
        'eval "$(_STEDI_COMPLETE=bash_source stedi)"     # ~/.bashrc',
        'eval "$(_STEDI_COMPLETE=zsh_source stedi)"      # ~/.zshrc',
        "_STEDI_COMPLETE=fish_source stedi | source       # ~/.config/fish/completions/stedi.fish",
        "```",
        "",
    ]
    for name in sorted(main.commands):
        command = main.commands[name]
        sub = click.Context(command, info_name=name, parent=context, terminal_width=80, max_content_width=80)
        parts += [f"## stedi {name}", "", "```", command.get_help(sub), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    TARGET.write_text(reference())
