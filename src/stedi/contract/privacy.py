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

from stedi.config import SPLITS
from stedi.contract.tables import SUBJECT_KEYS, Models, Table

CONSENT_INVARIANT = "no trusted or curated row of a customer without standing consent"
PII_INVARIANT = "machine_learning_curated has no direct PII column"
PSEUDONYM_INVARIANT = "every subject_id is a keyed hash of a consenting customer's email"
KEY_INVARIANT = "the subject key is kept outside the warehouse"
_SPLIT_PREFIX = b"stedi split\x00"
_CONSENTING = "(SELECT email FROM customer_standing WHERE shareWithResearchAsOfDate IS NOT NULL)"


def subject_id(key: bytes, email: str) -> str:
    """The pseudonym of one normalised email: hex HMAC-SHA256."""
    return hmac.new(key, email.encode("utf-8"), hashlib.sha256).hexdigest()


class _Keyed:
    """HMAC-SHA256 (RFC 2104) under one key for many messages: the key's inner and outer states are
    hashed once, and each message costs two copies of them (half of what `hmac.new` costs per message,
    which keys the hash again each time; a table's keys are computed for every consenting customer)."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, message: bytes) -> bytes:
        inner, outer = self.inner.copy(), self.outer.copy()
        inner.update(message)
        outer.update(inner.digest())
        return outer.digest()


def split_of(key: bytes, subject: str, shares: tuple[float, float, float]) -> str:
    """The split (train, validation or test) of a subject: a keyed hash of its subject_id taken as a
    point in [0, 1), against the cumulative shares. It depends on nothing else, so a subject keeps
    its split whatever other subjects or readings arrive, and every engine gives the same."""
    return _split_at(hmac.new(key, _SPLIT_PREFIX + subject.encode(), hashlib.sha256).digest(), shares)


def _split_at(digest: bytes, shares: tuple[float, float, float]) -> str:
    point = int.from_bytes(digest[:8], "big") / 2**64
    bound = 0.0
    for name, share in zip(SPLITS, shares, strict=True):
        bound += share
        if point < bound:
            return name
    return next(name for name, share in reversed(list(zip(SPLITS, shares, strict=True))) if share > 0)


def subject_keys(emails: list[str], key: bytes, shares: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> pa.Table:
    """The `subject_keys` relation a table with a pseudonym joins: email -> subject_id and split."""
    keyed = _Keyed(key)
    ids = [keyed.digest(e.encode("utf-8")).hex() for e in emails]
    splits = [_split_at(keyed.digest(_SPLIT_PREFIX + s.encode()), shares) for s in ids]
    return pa.table(
        {
            "email": pa.array(emails, pa.string()),
            "subject_id": pa.array(ids, pa.string()),
            "split": pa.array(splits, pa.string()),
        }
    )


def invariant_queries(table: Table, rows: str | None = None) -> list[tuple[str, str]]:
    """(invariant, SQL counting the rows that break it) for the table's declared invariants, over
    the rows of relation `rows` (default: the table). A row breaks one when a value of it is not
    found in another relation, so a row that keeps it keeps it while that relation only gains rows."""
    rows = rows or table.name
    queries = []
    if table.consent:
        queries.append((CONSENT_INVARIANT, f"SELECT COUNT(*) FROM {rows} WHERE {table.consent} NOT IN {_CONSENTING}"))
    if table.pseudonym:
        queries.append(
            (PSEUDONYM_INVARIANT,
             f"SELECT COUNT(*) FROM {rows} WHERE {table.pseudonym.column} NOT IN (SELECT subject_id FROM {SUBJECT_KEYS})")
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
