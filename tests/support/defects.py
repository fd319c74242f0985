"""A small landing area with every defect the contract describes, for parity and end-to-end tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def _c(email: str, serial: str, updated: int, consent: int | None, **extra: Any) -> dict[str, Any]:
    return {
        "customerName": "Some One",
        "email": email,
        "phone": "8015551212",
        "birthDay": "1970-01-01",
        "serialNumber": serial,
        "registrationDate": 1,
        "lastUpdateDate": updated,
        "shareWithResearchAsOfDate": consent,
        **extra,
    }


def _a(user: str, t: int, x: float = 0.0) -> dict[str, Any]:
    return {"user": user, "timestamp": t, "x": x, "y": 1.0, "z": -1.0}


def _s(serial: str, t: int, d: int = 250) -> dict[str, Any]:
    return {"sensorReadingTime": t, "serialNumber": serial, "distanceFromObject": d}


def write_defect_landing(root: Path) -> Path:
    """Write the landing area under root and return root."""
    customer = root / "customer" / "landing"
    accel = root / "accelerometer" / "landing"
    step = root / "step_trainer" / "landing"
    for folder in (customer, accel, step):
        folder.mkdir(parents=True, exist_ok=True)
    d = json.dumps
    # Customers: withdrawn consent, case-varied emails, shared serials, consent after some readings.
    (customer / "a.json").write_text(
        "\n".join(
            [
                d(_c("Ann@X.com", "S-SHARED", 1, 100)),
                d(_c("bob@x.com", "S-SHARED", 1, 100)) + d(_c("cat@x.com", "S-CAT", 1, 5000)),
                d(_c("dan@x.com", "S-DAN", 1, 100)) + ",",
                d(_c("dan@x.com", "S-DAN", 2, None)),  # withdraws
                '{"email":"eve@x.com","serialNumber":"S-EVE","registrationDate":"1","lastUpdateDate":1.0,'
                '"shareWithResearchAsOfDate":"100","phone":8015551212}',
                '{"email":"bad@x.com","serialNumber":"S-BAD","registrationDate":1,"lastUpdateDate":1,'
                '"shareWithResearchAsOfDate":"soon"}',
                '{"email":"dup@x.com","EMAIL":"dup2@x.com","serialNumber":"S","registrationDate":1,"lastUpdateDate":1}',
                '{"email": null, "serialNumber": "S", "registrationDate": 1, "lastUpdateDate": 1}',
                "",
                '{"email":"trunc@x.com","serialNumber":"S-T',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    (customer / "b.json").write_text(
        "[\n"
        + ",\n".join(d(c) for c in [_c(" ANN@x.com ", "S-SHARED", 5, 100), _c("fay@x.com", "S-FAY", 1, 1)])
        + "\n]\n"
    )
    (customer / "_SUCCESS").write_text("")
    # Phone readings: keyed timeStamp, duplicates, CRLF, BOM, gzip, garbage, NaN, invalid UTF-8.
    lines = [
        d(_a("ann@x.com", 1000)),
        d(_a("ANN@X.COM", 1000)),  # same reading after normalisation
        d(_a("bob@x.com", 2000, 1.0)),
        d(_a("bob@x.com", 1000, 2.0)),  # both holders of S-SHARED have a reading at 1000
        d(_a("cat@x.com", 3000)),
        d(_a("cat@x.com", 6000)),
        d(_a("dan@x.com", 4000)),
        d(_a("eve@x.com", 50)),
        d(_a("eve@x.com", 150)),
        d(_a("fay@x.com", 7000)),
        '{"user":"cat@x.com","timeStamp":6000,"x":"1e0","y":2,"z":"-3.5"}',
        '{"user":"cat@x.com","timestamp":6000,"x":NaN,"y":0,"z":0}',
        "not json at all",
        "[1, 2, 3]",
    ]
    (accel / "one.json").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n" + b'{"user":"\xff"}\n')
    (accel / "more").mkdir()
    (accel / "more" / "two.json.gz").write_bytes(gzip.compress((d(_a("ann@x.com", 9000)) + "\n").encode()))
    (accel / "more" / "three.jsonl.gz").write_bytes(gzip.compress((d(_a("fay@x.com", 8000)) * 50).encode())[:-30])
    # Step-trainer readings: trailing commas, run-together objects, an array file, ambiguity, no owner.
    (step / "s1.json").write_text(
        "\n".join(
            [
                d(_s("S-SHARED", 2000)) + ",",  # only bob's phone at 2000: bob owns it
                d(_s("S-SHARED", 1000)) + ",",  # both phones at 1000: no owner
                d(_s("S-CAT", 3000)) + d(_s("S-CAT", 6000)) + d(_s("S-CAT", 6000)),
                d(_s("S-DAN", 4000)),
                d(_s("S-EVE", 50)) + "," + d(_s("S-EVE", 150)),
                d(_s("S-NOBODY", 3000)),
                '{"sensorReadingTime":true,"serialNumber":"S-CAT","distanceFromObject":1}',
                '{"sensorReadingTime":1,"serialNumber":"S-CAT","distanceFromObject":1,"SerialNumber":"x"}',
                "{",
            ]
        )
        + "\n"
    )
    (step / "s2.json").write_text(d([_s("S-FAY", 7000), _s("S-FAY", 8000), _s("S-SHARED", 9000)]))
    (step / "README.txt").write_text("not data")
    return root
