"""The embedded engine's table writer: write-audit-publish through the run's warehouse session.

Each staged table is written (in the background, on the session's thread) to the audit branch of
its Iceberg table, so nothing is visible before the checks pass; `publish_staged` then makes every
staged snapshot current.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stedi.engines.base import Capabilities, TableWriter, publish_commits
from stedi.warehouse.writes import ANY_SNAPSHOT

if TYPE_CHECKING:
    from stedi.engines.duckdb import DuckDBEngine
    from stedi.warehouse.session import Session
    from stedi.warehouse.writes import Commit


class IcebergWriter(TableWriter):
    """Stages tables on the audit branch through the run's warehouse session (in the background)."""

    capabilities = Capabilities(
        skips_unchanged=True, stages_on_branch=True, checks_expected=True, appends=True, extends=True
    )

    def __init__(self, engine: DuckDBEngine, session: Session, verify_current: bool = False) -> None:
        self.engine, self.session, self.verify_current = engine, session, verify_current

    def stage(
        self,
        name: str,
        *,
        append_from: str | None = None,
        properties: dict[str, str] | None = None,
        expected: object = ANY_SNAPSHOT,
    ) -> None:
        append = self.engine.rows_of(append_from) if append_from is not None else None
        self.session.submit(
            name, self.engine.rows_of(name), append=append, properties=properties, expected=expected, stage=True,
            verify_current=self.verify_current,
        )  # fmt: skip

    def staged(self) -> dict[str, Commit]:
        return self.session.wait()

    def publish_staged(self) -> dict[str, Commit]:
        return publish_commits(self.session, self.session.wait())
