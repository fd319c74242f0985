"""A deterministic generator of STEDI-shaped landing data (JSON Lines), for samples and benchmarks.

Scale 1 is about the size of the starter data: 956 customers, ~81k phone readings, ~29k step-trainer
readings. About half the customers consent to research, after they register; readings come in
sessions, and each step-trainer instant has a few phone readings at exactly that instant.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIRST = ("Santosh", "Ben", "Frank", "Trevor", "Jacob", "Bobby", "Christina", "Danny", "Sarah", "Lyn",
         "Chris", "Jo", "Ed", "Liz", "Spencer", "Steph", "Senthil", "Neeraj", "John", "Suresh")  # fmt: skip
LAST = ("Clayton", "Khatib", "Doshi", "Lincoln", "Clark", "Mitra", "Phillips", "Huey", "Lewis", "Jones",
        "Davis", "Wu", "Hansen", "Anandh", "Olsen", "Aristotle", "Habschied", "Stark", "Taylor", "Gonzales")  # fmt: skip
START_MS = 1_655_293_787_000
LINES_PER_FILE = 10_000
CUSTOMERS_PER_SCALE = 956


@dataclass(frozen=True)
class GenerateResult:
    customers: int
    accelerometer: int
    step_trainer: int
    files: int


def generate(out: str | Path, scale: float = 1.0, seed: int = 0) -> GenerateResult:
    rng = np.random.default_rng(seed)
    root = Path(out)
    writers = {s: _Writer(root / s / "landing", s) for s in ("customer", "accelerometer", "step_trainer")}
    n = max(1, round(CUSTOMERS_PER_SCALE * scale))
    registered = START_MS + np.cumsum(rng.integers(1_000, 60_000, size=n))
    consents = rng.random(n) < 0.5
    for i in range(n):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
        email = f"{name.replace(' ', '.')}{i}@test.com"
        serial = str(uuid.UUID(bytes=rng.bytes(16), version=4))
        reg = int(registered[i])
        record = {
            "customerName": name,
            "email": email,
            "phone": "8015551212",
            "birthDay": f"{1930 + int(rng.integers(0, 75))}-01-01",
            "serialNumber": serial,
            "registrationDate": reg,
            "lastUpdateDate": reg,
            "shareWithResearchAsOfDate": reg + int(rng.integers(0, 5_000)) if consents[i] else None,
            "shareWithPublicAsOfDate": reg if rng.random() < 0.5 else None,
            "shareWithFriendsAsOfDate": reg if rng.random() < 0.5 else None,
        }
        writers["customer"].write(json.dumps({k: v for k, v in record.items() if v is not None}))
        _sessions(rng, writers, email, serial, reg)
    for w in writers.values():
        w.close()
    return GenerateResult(
        n, writers["accelerometer"].lines, writers["step_trainer"].lines, sum(w.files for w in writers.values())
    )


def _sessions(rng: np.random.Generator, writers: dict[str, _Writer], email: str, serial: str, reg: int) -> None:
    """About 30 step-trainer instants in sessions, each with 2-4 phone readings at that instant."""
    t = reg - int(rng.integers(0, 20_000))
    for _ in range(int(rng.integers(2, 4))):
        t += int(rng.integers(10_000, 60_000))
        for _ in range(int(rng.integers(5, 16))):
            t += int(rng.integers(2_000, 4_000))
            writers["step_trainer"].write(
                f'{{"sensorReadingTime":{t},"serialNumber":"{serial}","distanceFromObject":{int(rng.integers(200, 300))}}}'
            )
            for x, y, z in rng.integers(-1, 2, size=(int(rng.integers(2, 5)), 3)):
                writers["accelerometer"].write(f'{{"user":"{email}","timestamp":{t},"x":{x}.0,"y":{y}.0,"z":{z}.0}}')


class _Writer:
    def __init__(self, folder: Path, prefix: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.prefix = folder, prefix
        self.buffer: list[str] = []
        self.lines = 0
        self.files = 0

    def write(self, line: str) -> None:
        self.buffer.append(line)
        self.lines += 1
        if len(self.buffer) >= LINES_PER_FILE:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            path = self.folder / f"{self.prefix}-{self.files:05d}.json"
            path.write_text("\n".join(self.buffer) + "\n", encoding="utf-8")
            self.files += 1
            self.buffer = []

    def close(self) -> None:
        self.flush()
