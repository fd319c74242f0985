"""`stedi forget`: erase people from every table and from the tables' history (see stages.forgetting)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from stedi.contract.identity import email_argument
from stedi.contract.privacy import subject_id
from stedi.contract.sources import SOURCES
from stedi.contract.tables import Models, load
from stedi.errors import UsageError
from stedi.reading.files import blocks
from stedi.reading.landing import discover, open_root
from stedi.stages import keys
from stedi.stages.forgetting import Erasure, erase
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.locking import writer_lock


@dataclass
class Person:
    email: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    in_paths: bool = False
    in_history: bool = False

    @property
    def found(self) -> bool:
        return bool(self.rows) or self.in_paths or self.in_history


@dataclass
class ForgetResult:
    people: list[Person]
    erasure: Erasure
    landing_files: list[str] = field(default_factory=list)  # landing files that still hold someone
    seconds: float = 0.0


def parse_emails(texts: list[str]) -> list[str]:
    """The normalised addresses; an argument that is not an email address is refused (nothing done)."""
    emails: list[str] = []
    bad: list[str] = []
    for text in texts:
        email = email_argument(text)
        (emails if email else bad).append(email or text)
    if bad:
        raise UsageError(f"not an email address: {bad[0]!r}; stedi forget takes whole email addresses")
    if not emails:
        raise UsageError("give at least one email address")
    return sorted(set(emails))


def forget(
    location: str,
    emails: list[str],
    catalog: str | None = None,
    landing: str | None = None,
    models: Models | None = None,
    memory_limit: str | None = None,
) -> ForgetResult:
    """Erase the people with these addresses (holding the warehouse's writer lock)."""
    started = time.perf_counter()
    wanted = parse_emails(emails)
    with writer_lock(location):
        warehouse = Warehouse(location, catalog=catalog)
        key, _ = keys.bind(warehouse, create=False)
        given = {email: subject_id(key.secret, email) for email in wanted}
        erasure = erase(warehouse, models or load(), key, given, memory_limit)
        from stedi.report import write_report

        write_report(warehouse)  # the report shows masked samples, but it is rebuilt from what is left
    people = [Person(e, erasure.removed.get(e, {}), e in erasure.in_paths, e in erasure.in_history) for e in wanted]
    result = ForgetResult(people, erasure)
    if landing:
        result.landing_files = landing_files_holding(landing, wanted)
    result.seconds = time.perf_counter() - started
    return result


def landing_files_holding(landing: str, emails: list[str]) -> list[str]:
    """Landing files that contain any of the emails (any case; .gz decompressed): not ours to delete."""
    needles = [e.encode("utf-8") for e in emails]
    longest = max(len(n) for n in needles)
    fs, _ = open_root(landing)
    found = []
    for source in SOURCES:
        for file in discover(landing, source.name).files:
            text_blocks, _ = blocks(fs, file)
            tail = b""
            for block in text_blocks:
                lowered = tail + bytes(block.data).lower()
                if any(n in lowered for n in needles):
                    found.append(file.relative)
                    break
                tail = lowered[-longest:]
    return found
