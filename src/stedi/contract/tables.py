"""The pipeline's tables as data: one SQL file per table, listed in the order they are built.

The SQL is written in DuckDB's dialect; other engines get it through SQLGlot. Each published table
also lists how its input shrinks on the way: one count query per reason, shown in the run output.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources


class Zone(Enum):
    LANDING = "landing"
    TRUSTED = "trusted"
    CURATED = "curated"
    INTERNAL = "internal"  # built for other tables, never published


@dataclass(frozen=True)
class Drop:
    """Why rows fell away between a table's input and output: `{n}` is filled from `count_sql`.

    `only`: the run parameters (name, value) under which the reason exists; under others it drops
    nothing, and its count is not computed (a query over the largest tables, at scale, saved).
    """

    reason: str
    count_sql: str
    only: tuple[str, str] | None = None

    def applies(self, parameters: dict[str, str]) -> bool:
        return self.only is None or parameters.get(self.only[0]) == self.only[1]


@dataclass(frozen=True)
class Transform:
    name: str
    zone: Zone
    input: str  # the table its rows come from, for rows-in / rows-out
    drops: tuple[Drop, ...] = ()
    view: bool = False  # internal only: a view its readers compute through, never materialised

    @property
    def sql(self) -> str:
        return _sql(self.name)


@cache
def _sql(name: str) -> str:
    return resources.files("stedi.contract").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


AS_OF = ("consent_policy", "as-of")

TRANSFORMS: tuple[Transform, ...] = (
    Transform("customer_standing", Zone.INTERNAL, "customer_landing"),
    Transform(
        "customer_trusted",
        Zone.TRUSTED,
        "customer_landing",
        (
            Drop(
                "{n} superseded customer records (a later record of the same email stands)",
                "SELECT (SELECT COUNT(*) FROM customer_landing) - (SELECT COUNT(*) FROM customer_standing)",
            ),
            Drop(
                "{n} customers without research consent",
                "SELECT COUNT(*) FROM customer_standing WHERE shareWithResearchAsOfDate IS NULL",
            ),
        ),
    ),
    Transform("accelerometer_readings", Zone.INTERNAL, "accelerometer_landing", view=True),
    Transform(
        "accelerometer_trusted",
        Zone.TRUSTED,
        "accelerometer_landing",
        (
            Drop(
                "{n} readings of users without research consent",
                "SELECT COUNT(*) FROM accelerometer_readings WHERE user NOT IN (SELECT email FROM customer_trusted)",
            ),
            Drop(
                "{n} readings taken before the user's consent (policy as-of)",
                "SELECT COUNT(*) FROM accelerometer_readings AS a JOIN customer_trusted AS c ON c.email = a.user"
                " WHERE a.timestamp < c.shareWithResearchAsOfDate",
                only=AS_OF,
            ),
            # Counted among the readings kept: deduplicating the readings no table keeps costs a pass.
            Drop(
                "{n} duplicate readings",
                "SELECT (SELECT COUNT(*) FROM accelerometer_readings AS a JOIN customer_trusted AS c ON c.email = a.user"
                " CROSS JOIN run_parameters AS p"
                " WHERE p.consent_policy = 'all' OR a.timestamp >= c.shareWithResearchAsOfDate)"
                " - (SELECT COUNT(*) FROM accelerometer_trusted)",
            ),
        ),
    ),
    Transform(
        "customer_curated",
        Zone.CURATED,
        "customer_trusted",
        (
            Drop(
                "{n} consenting customers without trusted phone readings",
                "SELECT (SELECT COUNT(*) FROM customer_trusted) - (SELECT COUNT(*) FROM customer_curated)",
            ),
        ),
    ),
    Transform("step_trainer_readings", Zone.INTERNAL, "step_trainer_landing"),
    Transform("step_trainer_owner", Zone.INTERNAL, "step_trainer_landing"),
    Transform(
        "step_trainer_trusted",
        Zone.TRUSTED,
        "step_trainer_landing",
        (
            Drop(
                "{n} duplicate readings",
                "SELECT (SELECT COUNT(*) FROM step_trainer_landing) - (SELECT COUNT(*) FROM step_trainer_readings)",
            ),
            Drop(
                "{n} readings whose serial number no customer holds",
                "SELECT (SELECT COUNT(*) FROM step_trainer_readings) - (SELECT COUNT(*) FROM step_trainer_readings"
                " WHERE serialNumber IN (SELECT serialNumber FROM customer_standing))",
            ),
            Drop(
                "{n} readings of a shared serial number with no single owner at that instant",
                "SELECT (SELECT COUNT(*) FROM step_trainer_readings"
                " WHERE serialNumber IN (SELECT serialNumber FROM customer_standing))"
                " - (SELECT COUNT(*) FROM step_trainer_owner)",
            ),
            Drop(
                "{n} readings whose owner is not a curated customer (no consent or no phone readings)",
                "SELECT COUNT(*) FROM step_trainer_owner WHERE email NOT IN (SELECT email FROM customer_curated)",
            ),
            Drop(
                "{n} readings taken before the owner's consent (policy as-of)",
                "SELECT COUNT(*) FROM step_trainer_owner AS o JOIN customer_curated AS c ON c.email = o.email"
                " WHERE o.sensorReadingTime < c.shareWithResearchAsOfDate",
                only=AS_OF,
            ),
        ),
    ),
    Transform(
        "machine_learning_curated",
        Zone.CURATED,
        "step_trainer_trusted",
        (
            Drop(
                "{n} step-trainer readings with no matching phone reading at that instant",
                "SELECT COUNT(*) FROM step_trainer_trusted AS s WHERE NOT EXISTS (SELECT 1 FROM accelerometer_trusted AS a"
                " WHERE a.timestamp = s.sensorReadingTime AND a.user = s.email)",
                only=("ml_join", "owner"),
            ),
            Drop(
                "{n} step-trainer readings with no matching phone reading at that instant",
                "SELECT COUNT(*) FROM step_trainer_trusted AS s WHERE NOT EXISTS (SELECT 1 FROM accelerometer_trusted AS a"
                " WHERE a.timestamp = s.sensorReadingTime)",
                only=("ml_join", "timestamp"),
            ),
        ),
    ),
)

PUBLISHED: tuple[str, ...] = tuple(t.name for t in TRANSFORMS if t.zone is not Zone.INTERNAL)
