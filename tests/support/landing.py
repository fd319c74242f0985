"""Small hand-built landing data: record lines and a landing root from them."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

SOURCES = ("customer", "accelerometer", "step_trainer")
KEY = b"test-subject-key"


def customer(
    email: str, serial: str, updated: int = 1, consent: int | None = 1, registered: int = 1, **extra: Any
) -> str:
    record = {
        "customerName": "Someone",
        "email": email,
        "serialNumber": serial,
        "registrationDate": registered,
        "lastUpdateDate": updated,
        "shareWithResearchAsOfDate": consent,
        **extra,
    }
    return json.dumps(record)


def phone(user: str, t: int, x: float = 0.0) -> str:
    return json.dumps({"user": user, "timestamp": t, "x": x, "y": 0.0, "z": 0.0})


def step(serial: str, t: int, distance: int = 100) -> str:
    return json.dumps({"sensorReadingTime": t, "serialNumber": serial, "distanceFromObject": distance})


def sid(email: str) -> str:
    """The test key's subject_id of a normalised email, computed here (not by the code under test)."""
    return hmac.new(KEY, email.encode(), hashlib.sha256).hexdigest()


def write_landing(root: Path, **sources: list[str] | dict[str, str | bytes]) -> Path:
    """A landing root: SOURCE=[lines] (one file) or {file: text or bytes}; every source folder made."""
    for source in SOURCES:
        folder = root / source / "landing"
        folder.mkdir(parents=True, exist_ok=True)
        content = sources.get(source, [])
        if isinstance(content, list):
            files: dict[str, str | bytes] = {f"{source}.json": "\n".join(content) + "\n"} if content else {}
        else:
            files = content
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
    return root


def models_folder(target: Path, replace: dict[str, str] | None = None, add: dict[str, str] | None = None) -> Path:
    """A copy of the package's SQL files in `target`: `replace` swaps a table's SQL body (its
    declaration kept), `add` adds files (name -> whole text, declaration included)."""
    import re
    from importlib import resources

    target.mkdir(parents=True, exist_ok=True)
    for item in resources.files("stedi.contract").joinpath("sql").iterdir():
        if not item.name.endswith(".sql"):
            continue
        text = item.read_text(encoding="utf-8")
        name = item.name.removesuffix(".sql")
        if replace and name in replace:
            header = re.match(r"\A\s*/\*.*?\*/", text, re.DOTALL)
            assert header is not None
            text = header.group(0) + "\n" + replace[name] + "\n"
        (target / item.name).write_text(text, encoding="utf-8")
    for name, text in (add or {}).items():
        (target / f"{name}.sql").write_text(text, encoding="utf-8")
    return target


def small_landing(root: Path) -> Path:
    """Three customers: jane (consents, phone and step trainer), bob (consents, phone), carl (no
    consent); jane's file name holds no address."""
    return write_landing(
        root,
        customer=[
            customer("jane@x.com", "S1", consent=1, customerName="Jane Roe", phone="8015551212"),
            customer("bob@x.com", "S2", consent=1),
            customer("carl@x.com", "S3", consent=None),
        ],
        accelerometer=[
            phone("jane@x.com", 10),
            phone("jane@x.com", 20),
            phone("bob@x.com", 10),
            phone("carl@x.com", 10),
        ],
        step_trainer=[step("S1", 10), step("S1", 20), step("S2", 30), step("S3", 10)],
    )
