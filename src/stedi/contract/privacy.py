"""Pseudonyms and the privacy invariants every run checks before it publishes a table.

`subject_id` is HMAC-SHA256 of the normalised email under the warehouse's subject key (see
`stedi.subject_key`). The invariants are derived from the tables' declarations: `consent` (every row's
email is a consenting customer's), `pseudonym` (every subject_id is a consenting customer's) and
`no_personal_columns` (no column that holds a direct identifier).
"""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa

from stedi.contract.tables import SUBJECT_KEYS, Models, Table

CONSENT_INVARIANT = "no trusted or curated row of a customer without standing consent"
PII_INVARIANT = "machine_learning_curated has no direct PII column"
PSEUDONYM_INVARIANT = "every subject_id is a keyed hash of a consenting customer's email"
KEY_INVARIANT = "the subject key is kept outside the warehouse"
_CONSENTING = "(SELECT email FROM customer_standing WHERE shareWithResearchAsOfDate IS NOT NULL)"


def subject_id(key: bytes, email: str) -> str:
    """The pseudonym of one normalised email: hex HMAC-SHA256."""
    return hmac.new(key, email.encode("utf-8"), hashlib.sha256).hexdigest()


def subject_keys(emails: list[str], key: bytes) -> pa.Table:
    """The `subject_keys` relation a table with a pseudonym joins: email -> subject_id."""
    return pa.table(
        {
            "email": pa.array(emails, pa.string()),
            "subject_id": pa.array([subject_id(key, e) for e in emails], pa.string()),
        }
    )


def invariant_queries(table: Table) -> list[tuple[str, str]]:
    """(invariant, SQL counting the rows that break it) for the table's declared invariants."""
    queries = []
    if table.consent:
        queries.append(
            (CONSENT_INVARIANT, f"SELECT COUNT(*) FROM {table.name} WHERE {table.consent} NOT IN {_CONSENTING}")
        )
    if table.pseudonym:
        queries.append(
            (PSEUDONYM_INVARIANT,
             f"SELECT COUNT(*) FROM {table.name} WHERE {table.pseudonym.column} NOT IN (SELECT subject_id FROM {SUBJECT_KEYS})")
        )  # fmt: skip
    return queries


def broken_invariants(table: Table, models: Models, columns: list[str], violations: list[int]) -> list[str]:
    """The invariants a just-built table breaks (with why), given its columns and the counts of
    `invariant_queries`."""
    broken = [
        f"{invariant} ({n} rows in {table.name})" if invariant == CONSENT_INVARIANT else f"{invariant} ({n} rows)"
        for (invariant, _), n in zip(invariant_queries(table), violations, strict=True)
        if n
    ]
    if table.no_personal_columns and (leaked := sorted(c for c in columns if c.lower() in models.personal_columns)):
        broken.append(f"{PII_INVARIANT} (found {', '.join(leaked)})")
    return broken
