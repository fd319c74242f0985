"""The subject key: the secret behind every `subject_id` and every entry of the erasure ledger.

It comes from STEDI_SUBJECT_KEY, or from a key file outside the warehouse (STEDI_SUBJECT_KEY_FILE,
by default `$XDG_CONFIG_HOME/stedi/subject.key`, i.e. ~/.config/stedi/subject.key). A warehouse
records the key's fingerprint (never the key) on its first run; every command that writes or
pseudonymises then refuses a missing, empty, short or different key before it writes anything
(`stedi.pipeline.keys`). A key is generated only for a new warehouse.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from stedi.errors import SubjectKeyError

KEY_ENV = "STEDI_SUBJECT_KEY"
KEY_FILE_ENV = "STEDI_SUBJECT_KEY_FILE"
MIN_KEY_BYTES = 16
MAX_KEY_FILE_BYTES = 64 << 10  # a key file holds one line: never read more (a device, a log named by mistake)
_FINGERPRINT_MESSAGE = b"stedi subject-key fingerprint v1"


@dataclass(frozen=True)
class SubjectKey:
    secret: bytes
    origin: str  # where it came from, for messages: "STEDI_SUBJECT_KEY" or the key file's path

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)


def fingerprint(secret: bytes) -> str:
    """A short public fingerprint of a key: tells keys apart, and cannot be turned back into one."""
    return hmac.new(secret, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:32]


def default_key_file() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "stedi" / "subject.key"


def key_file() -> Path:
    """The key file looked at when STEDI_SUBJECT_KEY is not set."""
    return Path(os.environ.get(KEY_FILE_ENV) or default_key_file())


def find_env() -> bool:
    """Whether the key comes from the environment (not a file)."""
    return os.environ.get(KEY_ENV) is not None


def where() -> str:
    """Where the key is looked for, in words, for messages."""
    if os.environ.get(KEY_ENV) is not None:
        return f"the environment variable {KEY_ENV}"
    return f"the key file {key_file()} (set {KEY_FILE_ENV} or {KEY_ENV} to use another)"


def find() -> SubjectKey | None:
    """The configured key; None when there is none (no variable, no key file). A key that is there
    but unusable (empty, too short, a folder, unreadable) is an error, never silently replaced."""
    if (value := os.environ.get(KEY_ENV)) is not None:
        return _checked(value.encode("utf-8"), KEY_ENV)
    path = key_file()
    try:
        text = _read_key_file(path)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise SubjectKeyError(f"the subject key file {path} is a folder, not a file") from None
    except OSError as exc:
        raise SubjectKeyError(f"cannot read the subject key file {path}: {exc.strerror or exc}") from None
    return _checked(text.strip(), str(path))


def _read_key_file(path: Path) -> bytes:
    """The key file's bytes: a regular file (a link to one is followed) of at most MAX_KEY_FILE_BYTES,
    opened without blocking, so a pipe or a device named by mistake is an error, not a hang."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(st.st_mode):
            raise SubjectKeyError(f"the subject key file {path} is not a regular file (a pipe, a device or a socket)")
        if st.st_size > MAX_KEY_FILE_BYTES:
            raise SubjectKeyError(
                f"the subject key file {path} holds {st.st_size:,} bytes, more than any key file "
                f"(at most {MAX_KEY_FILE_BYTES:,}): is it the right file?"
            )
        return os.read(fd, MAX_KEY_FILE_BYTES + 1)
    finally:
        os.close(fd)


def _checked(secret: bytes, origin: str) -> SubjectKey:
    if not secret.strip():
        raise SubjectKeyError(f"the subject key in {origin} is empty; restore the key, or see docs/operations.md")
    if len(secret) < MIN_KEY_BYTES:
        raise SubjectKeyError(
            f"the subject key in {origin} is too short ({len(secret)} bytes; at least {MIN_KEY_BYTES})"
        )
    return SubjectKey(secret, origin)


def generate() -> SubjectKey:
    """Write a new random key to the key file (mode 0600) and return it. If another process made the
    file first, its key is used: two first runs at once must not end with two keys."""
    path = key_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        found = find()
        if found is None:
            raise SubjectKeyError(f"the subject key file {path} vanished while it was being made") from None
        return found
    except OSError as exc:
        raise SubjectKeyError(f"cannot create the subject key file {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    found = find()
    assert found is not None
    return found
