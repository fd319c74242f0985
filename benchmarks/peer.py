"""The pipeline a DuckDB user would write instead of STEDI Lakehouse: plain SQL over `read_json` with
declared columns, the same eight tables, each COPY'd to Parquet. No quarantine, no exact reading
contract, no catalog, no checks, no history.

    python benchmarks/peer.py LANDING OUT

Prints the rows of each table as JSON on the last line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

KEY = "benchmark-subject-key"
SOURCES = {
    "customer": "{'customerName': 'VARCHAR', 'email': 'VARCHAR', 'phone': 'VARCHAR', 'birthDay': 'VARCHAR', "
    "'serialNumber': 'VARCHAR', 'registrationDate': 'BIGINT', 'lastUpdateDate': 'BIGINT', "
    "'shareWithResearchAsOfDate': 'BIGINT', 'shareWithPublicAsOfDate': 'BIGINT', 'shareWithFriendsAsOfDate': 'BIGINT'}",
    "accelerometer": "{'user': 'VARCHAR', 'timestamp': 'BIGINT', 'x': 'DOUBLE', 'y': 'DOUBLE', 'z': 'DOUBLE'}",
    "step_trainer": "{'sensorReadingTime': 'BIGINT', 'serialNumber': 'VARCHAR', 'distanceFromObject': 'BIGINT'}",
}
TABLES = {
    "customer_standing": """
        SELECT * EXCLUDE (recency) FROM (
            SELECT lower(trim(email)) AS email, * EXCLUDE (email),
                   row_number() OVER (PARTITION BY lower(trim(email))
                                      ORDER BY lastUpdateDate DESC, registrationDate DESC) AS recency
            FROM customer_landing)
        WHERE recency = 1""",
    "customer_trusted": "SELECT * FROM customer_standing WHERE shareWithResearchAsOfDate IS NOT NULL",
    "accelerometer_trusted": """
        SELECT DISTINCT lower(trim(a.user)) AS user, a.timestamp, a.x, a.y, a.z
        FROM accelerometer_landing AS a JOIN customer_trusted AS c ON c.email = lower(trim(a.user))""",
    "customer_curated": "SELECT * FROM customer_trusted WHERE email IN (SELECT user FROM accelerometer_trusted)",
    "holders": "SELECT serialNumber, email, count(*) OVER (PARTITION BY serialNumber) AS n FROM customer_standing",
    "step_readings": "SELECT DISTINCT sensorReadingTime, serialNumber, distanceFromObject FROM step_trainer_landing",
    "step_owner": """
        SELECT s.*, h.email FROM step_readings AS s JOIN holders AS h USING (serialNumber) WHERE h.n = 1
        UNION ALL
        SELECT s.*, o.email FROM step_readings AS s JOIN (
            SELECT h.serialNumber, r.sensorReadingTime, min(h.email) AS email
            FROM holders AS h
            JOIN (SELECT DISTINCT serialNumber, sensorReadingTime FROM step_readings) AS r USING (serialNumber)
            JOIN (SELECT DISTINCT lower(trim(user)) AS user, timestamp FROM accelerometer_landing) AS p
              ON p.user = h.email AND p.timestamp = r.sensorReadingTime
            WHERE h.n > 1
            GROUP BY 1, 2 HAVING count(*) = 1) AS o USING (serialNumber, sensorReadingTime)""",
    "step_trainer_trusted": "SELECT * FROM step_owner WHERE email IN (SELECT email FROM customer_curated)",
    "machine_learning_curated": f"""
        SELECT sha256('{KEY}' || s.email) AS subject_id, s.serialNumber, s.sensorReadingTime, s.distanceFromObject,
               a.x, a.y, a.z
        FROM step_trainer_trusted AS s
        JOIN accelerometer_trusted AS a ON a.timestamp = s.sensorReadingTime AND a.user = s.email""",
}
OUTPUT = ("customer_landing", "accelerometer_landing", "step_trainer_landing", "customer_trusted",
          "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated")  # fmt: skip


def main(landing: str, out: str) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for source, columns in SOURCES.items():
        con.execute(
            f"CREATE TABLE {source}_landing AS SELECT * FROM read_json('{landing}/{source}/landing/**/*.json*', "
            f"format = 'newline_delimited', columns = {columns}, ignore_errors = true)"
        )
    for name, sql in TABLES.items():
        con.execute(f"CREATE TABLE {name} AS {sql}")
    counts = {}
    for name in OUTPUT:
        con.execute(f"COPY {name} TO '{out}/{name}.parquet' (FORMAT parquet)")
        counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    print(json.dumps(counts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
