"""A deterministic, streaming generator of STEDI-shaped landing data (JSON Lines).

Scale 1 is about the size of the starter data: 956 customers, ~81k phone readings, ~29k step-trainer
readings; scale N multiplies it. About half the customers consent to research, some days after they
register; readings come in sessions, and each step-trainer instant has 2-4 phone readings at exactly
that instant. Some customers never used their device.

Customers are made in blocks; each block has its own random stream (seed, block), so the output is
the same for a seed whatever the scale's block count, and memory stays flat in the scale. Reading
lines are formatted by Arrow compute kernels into one buffer per file (no Python loop per line).
`defects=True` adds, per block, files with what real exports have (see `_defect_lines`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stedi.errors import UsageError
from stedi.storage import require_location

FIRST = ("Santosh", "Ben", "Frank", "Trevor", "Jacob", "Bobby", "Christina", "Danny", "Sarah", "Lyn",
         "Chris", "Jo", "Ed", "Liz", "Spencer", "Steph", "Senthil", "Neeraj", "John", "Suresh")  # fmt: skip
LAST = ("Clayton", "Khatib", "Doshi", "Lincoln", "Clark", "Mitra", "Phillips", "Huey", "Lewis", "Jones",
        "Davis", "Wu", "Hansen", "Anandh", "Olsen", "Aristotle", "Habschied", "Stark", "Taylor", "Gonzales")  # fmt: skip
START_MS = 1_655_293_787_000
CUSTOMERS_PER_SCALE = 956
BLOCK = 2_000  # customers per block: ~60k step-trainer and ~180k phone lines
DAY_MS = 86_400_000


@dataclass
class GenerateResult:
    customers: int = 0
    lines: dict[str, int] = field(default_factory=lambda: {"customer": 0, "accelerometer": 0, "step_trainer": 0})
    files: int = 0
    bytes: int = 0

    @property
    def accelerometer(self) -> int:
        return self.lines["accelerometer"]

    @property
    def step_trainer(self) -> int:
        return self.lines["step_trainer"]


def generate(out: str | Path, scale: float = 1.0, seed: int = 0, defects: bool = False) -> GenerateResult:
    """Write ROOT/{customer,accelerometer,step_trainer}/landing/*.json under `out`, a new or empty
    folder: generated records mixed into a real landing folder (or an older generation) would be
    read with it."""
    root = Path(require_location(str(out), "output"))
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        what = "a file" if not root.is_dir() else "not empty"
        raise UsageError(f"{out} is {what}: stedi generate writes into a new or empty folder")
    for source in ("customer", "accelerometer", "step_trainer"):
        (root / source / "landing").mkdir(parents=True, exist_ok=True)
    total = max(1, round(CUSTOMERS_PER_SCALE * scale))
    result = GenerateResult(customers=total)
    for block, first in enumerate(range(0, total, BLOCK)):
        rng = np.random.default_rng([seed, block])
        lines = _block(rng, first, min(BLOCK, total - first))
        if defects:
            extra = _defect_lines(np.random.default_rng([seed, block, 1]), lines)
            for source, text in extra.items():
                _write(root, source, f"{source}-{block:06d}-export.json", text.encode("utf-8"), result, 0)
        for source, array in lines.items():
            _write(root, source, f"{source}-{block:06d}.json", _buffer(array), result, len(array))
    return result


def _write(root: Path, source: str, name: str, data: bytes | pa.Buffer, result: GenerateResult, n: int) -> None:
    with open(root / source / "landing" / name, "wb") as f:
        f.write(data)
    result.files += 1
    result.bytes += len(data) if isinstance(data, bytes) else data.size
    result.lines[source] += n if n else bytes(data).count(b"\n")


def _buffer(lines: pa.Array) -> pa.Buffer:
    """The file's bytes: the string array's value buffer (each value is one line with its LF)."""
    lines = lines.cast(pa.large_string()) if not pa.types.is_large_string(lines.type) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1, offset=lines.offset * 8)
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]


def _join(*parts: object) -> pa.Array:
    pieces = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*pieces, "")


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


def _block(rng: np.random.Generator, first: int, n: int) -> dict[str, pa.Array]:
    ids = np.arange(first, first + n)
    registered = START_MS + ids * 45_000 + rng.integers(0, 30_000, n)
    consents = rng.random(n) < 0.5
    consent_at = registered + rng.integers(0, 3 * DAY_MS, n)
    serials = rng.integers(0, 2**63, (n, 2), dtype=np.int64)
    customers, emails, serial_text = [], [], []
    for i in range(n):
        cid = int(ids[i])
        name = f"{FIRST[cid % len(FIRST)]} {LAST[(cid // len(FIRST)) % len(LAST)]}"
        email = f"{name.replace(' ', '.')}{cid}@test.com"
        h = f"{int(serials[i, 0]):016x}{int(serials[i, 1]):016x}"
        serial = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
        record = {
            "customerName": name, "email": email, "phone": f"801555{cid % 10_000:04d}",
            "birthDay": f"{1930 + cid % 75}-{1 + cid % 12:02d}-{1 + cid % 28:02d}", "serialNumber": serial,
            "registrationDate": int(registered[i]), "lastUpdateDate": int(registered[i]),
            "shareWithResearchAsOfDate": int(consent_at[i]) if consents[i] else None,
            "shareWithPublicAsOfDate": int(registered[i]) if cid % 3 == 0 else None,
            "shareWithFriendsAsOfDate": int(registered[i]) if cid % 4 == 0 else None,
        }  # fmt: skip
        customers.append(json.dumps(record, separators=(",", ":")) + "\n")
        emails.append(email)
        serial_text.append(serial)

    # Step-trainer instants: 0 for one customer in ten, else 10-50 in sessions of 10, 3 s apart.
    per_customer = np.where(rng.random(n) < 0.1, 0, rng.integers(10, 51, n))
    owner = np.repeat(np.arange(n), per_customer)
    j = np.arange(len(owner)) - np.repeat(np.cumsum(per_customer) - per_customer, per_customer)
    starts = registered + rng.integers(-DAY_MS, 4 * DAY_MS, n)
    times = starts[owner] + j * 3_000 + (j // 10) * 3_600_000 + rng.integers(0, 1_000, len(owner))
    distance = rng.integers(150, 400, len(owner))
    serial_array = pa.array(serial_text)
    step = _join('{"sensorReadingTime":', _text(times), ',"serialNumber":"', serial_array.take(pa.array(owner)),
                 '","distanceFromObject":', _text(distance), "}\n")  # fmt: skip

    # Phone readings: 2-4 at each step-trainer instant.
    k = rng.integers(2, 5, len(owner))
    reading = np.repeat(np.arange(len(owner)), k)
    xyz = [_text(rng.integers(-5, 6, len(reading))) for _ in range(3)]
    accel = _join('{"user":"', pa.array(emails).take(pa.array(owner[reading])), '","timestamp":',
                  _text(times[reading]), ',"x":', xyz[0], '.0,"y":', xyz[1], '.0,"z":', xyz[2], ".0}\n")  # fmt: skip
    return {"customer": pa.array(customers, pa.large_string()), "accelerometer": accel, "step_trainer": step}


def _defect_lines(rng: np.random.Generator, lines: dict[str, pa.Array]) -> dict[str, str]:
    """What real exports have: duplicate customer records with changed consent, case-varied emails,
    shared serial numbers, run-together objects, trailing commas, truncated lines and bad types."""
    customers = [json.loads(line) for line in lines["customer"].to_pylist()]
    picks = rng.choice(len(customers), size=min(len(customers), 12), replace=False)
    out: dict[str, list[str]] = {"customer": [], "accelerometer": [], "step_trainer": []}
    for n, i in enumerate(picks):
        c = dict(customers[int(i)])
        kind = n % 4
        if kind == 0:  # a later record of the same person that withdraws or grants consent
            c["lastUpdateDate"] += DAY_MS
            c["shareWithResearchAsOfDate"] = None if c["shareWithResearchAsOfDate"] else c["lastUpdateDate"]
        elif kind == 1:  # the same person with a case- and space-varied email, updated later
            c["email"] = "  " + c["email"].upper()
            c["lastUpdateDate"] += 2 * DAY_MS
        elif kind == 2:  # fulfilment gave this customer another customer's serial number
            c["serialNumber"] = customers[int(picks[0])]["serialNumber"]
            c["email"] = f"shared{int(i)}.{c['email']}"
        else:  # bad types
            c["registrationDate"] = str(c["registrationDate"]) + ".5"
        out["customer"].append(json.dumps(c))
    accel = lines["accelerometer"].slice(0, 40).to_pylist()
    step = lines["step_trainer"].slice(0, 40).to_pylist()
    if len(accel) >= 4:
        out["accelerometer"] += [
            accel[0].strip() + accel[1].strip(),
            accel[2].strip().upper().replace('"USER"', '"user"'),
        ]
        out["accelerometer"].append(accel[3].strip().replace(',"x":', ',"x":"abc","X2":'))
        out["accelerometer"].append(accel[3].strip().replace('"timestamp":', '"timeStamp":'))
    if len(step) >= 3:
        out["step_trainer"] += [s.strip() + "," for s in step[:2]]
        out["step_trainer"].append(step[2].strip().replace('"distanceFromObject":', '"distanceFromObject":true,"d":'))
    texts = {source: "".join(line + "\n" for line in found) for source, found in out.items() if found}
    for source, text in texts.items():  # the export was cut off mid-line
        texts[source] = text + text.splitlines()[0][:-5]
    return texts
