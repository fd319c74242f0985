"""Terminal progress: a Rich bar on a terminal; off a terminal, only what a person must see."""

from __future__ import annotations

import io

from stedi.cli.progress import terminal_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_only_waiting_is_printed() -> None:
    out = io.StringIO()
    with terminal_progress(out) as say:
        say("reading customer")
        say("waiting for another run on this warehouse to finish")
    assert out.getvalue() == "waiting for another run on this warehouse to finish\n"


def test_on_a_terminal_a_progress_bar_shows_the_step() -> None:
    out = Terminal()
    with terminal_progress(out) as say:
        say("building customer_trusted")
    assert "building customer_trusted" in out.getvalue() and "━" in out.getvalue()
