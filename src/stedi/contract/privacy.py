"""Pseudonyms for the ML table: subject_id is HMAC-SHA256 of the normalised email under a secret key.

The key comes from STEDI_SUBJECT_KEY, or from a key file created once outside the warehouse
(STEDI_SUBJECT_KEY_FILE, by default `$XDG_CONFIG_HOME/stedi/subject.key`, i.e. ~/.config/stedi/), so
ids stay stable across runs and the warehouse alone cannot be used to reverse them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pyarrow as pa

KEY_ENV = "STEDI_SUBJECT_KEY"
PII_COLUMNS = frozenset({"email", "user", "customername", "phone", "birthday"})
KEY_FILE_ENV = "STEDI_SUBJECT_KEY_FILE"


def default_key_file() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "stedi" / "subject.key"


def subject_key() -> bytes:
    """The configured key; generated once into the key file when none is configured."""
    if value := os.environ.get(KEY_ENV):
        return value.encode("utf-8")
    path = Path(os.environ.get(KEY_FILE_ENV) or default_key_file())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two first runs at once must not end with two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode("utf-8")


def subject_id(key: bytes, email: str) -> str:
    """The pseudonym of one normalised email: hex HMAC-SHA256."""
    return hmac.new(key, email.encode("utf-8"), hashlib.sha256).hexdigest()


def subject_keys(emails: list[str], key: bytes) -> pa.Table:
    """The `subject_keys` relation the ML transform joins: email -> subject_id."""
    return pa.table(
        {
            "email": pa.array(emails, pa.string()),
            "subject_id": pa.array([subject_id(key, e) for e in emails], pa.string()),
        }
    )


# The privacy invariants every run checks before it publishes a trusted or curated table.
CONSENT_INVARIANT = "no trusted or curated row of a customer without standing consent"
PII_INVARIANT = "machine_learning_curated has no direct PII column"
PSEUDONYM_INVARIANT = "every subject_id is a keyed hash of a consenting customer's email"
KEY_INVARIANT = "the subject key is kept outside the warehouse"

_CONSENTING = "(SELECT email FROM customer_standing WHERE shareWithResearchAsOfDate IS NOT NULL)"
# Per table, the rows that break the consent invariant.
CONSENT_QUERIES = {
    "customer_trusted": f"SELECT COUNT(*) FROM customer_trusted WHERE email NOT IN {_CONSENTING}",
    "customer_curated": f"SELECT COUNT(*) FROM customer_curated WHERE email NOT IN {_CONSENTING}",
    "accelerometer_trusted": f"SELECT COUNT(*) FROM accelerometer_trusted WHERE user NOT IN {_CONSENTING}",
    "step_trainer_trusted": f"SELECT COUNT(*) FROM step_trainer_trusted WHERE email NOT IN {_CONSENTING}",
}
ML_TABLE = "machine_learning_curated"
PSEUDONYM_QUERY = (
    "SELECT COUNT(*) FROM machine_learning_curated WHERE subject_id NOT IN (SELECT subject_id FROM subject_keys)"
)


def key_location() -> Path | None:
    """The key file in use, or None when the key comes from the environment."""
    if os.environ.get(KEY_ENV):
        return None
    return Path(os.environ.get(KEY_FILE_ENV) or default_key_file())


def key_invariant(warehouse: str) -> str | None:
    """The key invariant, broken (with why) or None."""
    key_file = key_location()
    if key_file is None or "://" in warehouse:
        return None
    root = Path(warehouse).resolve()
    if key_file.resolve() == root or root in key_file.resolve().parents:
        return f"{KEY_INVARIANT} (key file {key_file} is inside {warehouse})"
    return None


def table_invariants(table: str, consent_violations: int, columns: list[str], pseudonym_violations: int) -> list[str]:
    """The invariants a just-built table breaks (with why)."""
    broken = []
    if consent_violations:
        broken.append(f"{CONSENT_INVARIANT} ({consent_violations} rows in {table})")
    if table == ML_TABLE:
        if leaked := sorted(c for c in columns if c.lower() in PII_COLUMNS):
            broken.append(f"{PII_INVARIANT} (found {', '.join(leaked)})")
        if pseudonym_violations:
            broken.append(f"{PSEUDONYM_INVARIANT} ({pseudonym_violations} rows)")
    return broken
