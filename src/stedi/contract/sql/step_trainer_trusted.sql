/* @table
zone = "trusted"
description = "Distinct step-trainer readings whose owner is a curated customer, with the owner's email."
input = "step_trainer_landing"
person = [{kind = "email", column = "email"}]
consent = "email"

[[drop]]
code = "duplicate"
one = "duplicate reading"
many = "duplicate readings"
sql = "SELECT (SELECT COUNT(*) FROM step_trainer_landing) - (SELECT COUNT(*) FROM step_trainer_readings)"

[[drop]]
code = "unheld_serial"
one = "reading whose serial number no customer holds"
many = "readings whose serial number no customer holds"
sql = """SELECT (SELECT COUNT(*) FROM step_trainer_readings) - (SELECT COUNT(*) FROM step_trainer_readings
WHERE serialNumber IN (SELECT serialNumber FROM customer_standing))"""

[[drop]]
code = "no_single_owner"
one = "reading of a shared serial number with no single owner at that instant"
many = "readings of a shared serial number with no single owner at that instant"
# The held readings without an owner are all of shared serials (a serial's only holder owns all its
# readings): the readings of shared serials less those shared_serial_owners gives an owner, two
# small counts where held readings less owned readings counted every reading twice.
sql = """SELECT (SELECT COUNT(*) FROM step_trainer_readings
WHERE serialNumber IN (SELECT serialNumber FROM serial_holders WHERE holder_count > 1))
- (SELECT COUNT(*) FROM step_trainer_readings AS s JOIN shared_serial_owners AS o
ON o.serialNumber = s.serialNumber AND o.sensorReadingTime = s.sensorReadingTime)"""

[[drop]]
code = "owner_not_curated"
one = "reading whose owner is not a curated customer (no consent or no phone readings)"
many = "readings whose owner is not a curated customer (no consent or no phone readings)"
sql = "SELECT COUNT(*) FROM step_trainer_owner WHERE email NOT IN (SELECT email FROM customer_curated)"

[[drop]]
code = "before_consent"
one = "reading taken before the owner's consent (policy as-of)"
many = "readings taken before the owner's consent (policy as-of)"
only = {consent_policy = "as-of"}
sql = """SELECT COUNT(*) FROM step_trainer_owner AS o JOIN customer_curated AS c ON c.email = o.email
WHERE o.sensorReadingTime < c.shareWithResearchAsOfDate"""

[[check]]
kind = "range"
column = "distanceFromObject"
min = 0
max = 10000
severity = "warn"

# Epoch milliseconds between 2015 and 2035.
[[check]]
kind = "range"
column = "sensorReadingTime"
min = 1420070400000
max = 2051222400000
severity = "warn"

[[check]]
kind = "references"
column = "email"
to_table = "customer_curated"
to_column = "email"

# One owner per step-trainer reading.
[[check]]
kind = "cardinality"
columns = ["serialNumber", "sensorReadingTime"]
of = "email"
max = 1

[[check]]
kind = "funnel"
from = "step_trainer_landing"

# Sensor checks: warnings, with their figures beside the counts.
[[check]]
kind = "gaps"
by = "serialNumber"
at = "sensorReadingTime"
max_gap = 60000
severity = "warn"

[[check]]
kind = "conflicts"
columns = ["serialNumber", "sensorReadingTime"]
values = ["distanceFromObject"]
severity = "warn"

[[check]]
kind = "outliers"
column = "distanceFromObject"
mads = 6
severity = "warn"

# Phone and step-trainer clocks aligned: the share of each subject's step-trainer readings that have
# a phone reading of the same person at that instant (counted once per owner in step_trainer_matching).
[[check]]
kind = "at_least"
over = "step_trainer_matching"
value = "CAST(readings - unmatched AS DOUBLE) / readings"
min = 0.5
severity = "warn"
description = "subjects with fewer than half their step-trainer readings matched by a phone reading at that instant"
figure = "median share per subject {value:.0%}"
*/
-- Distinct step-trainer readings whose owner is a curated customer; under policy as-of only those
-- taken at or after the owner's consent. `email` is the owner's normalised email (one owner per
-- serial and instant, so the rows stay distinct).
SELECT o.sensorReadingTime, o.serialNumber, o.distanceFromObject, o.email
FROM step_trainer_owner AS o
JOIN customer_curated AS c ON c.email = o.email
CROSS JOIN run_parameters AS p
WHERE p.consent_policy = 'all' OR o.sensorReadingTime >= c.shareWithResearchAsOfDate
