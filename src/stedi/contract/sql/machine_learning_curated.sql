/* @table
zone = "curated"
description = "Each trusted step-trainer reading paired with its owner's phone readings at the same instant."
input = "step_trainer_trusted"
person = [{kind = "subject_id", column = "subject_id"}]
pseudonym = {column = "subject_id", of = "customer_curated.email"}
no_personal_columns = true
growth = "each step-trainer reading pairs with every phone reading of its owner at that instant (the phone app records several per instant), so the table can have more rows than step_trainer_trusted"

[[drop]]
code = "no_phone_reading"
one = "step-trainer reading with no matching phone reading at that instant"
many = "step-trainer readings with no matching phone reading at that instant"
only = {ml_join = "owner"}
sql = "SELECT COALESCE(SUM(unmatched), 0) FROM step_trainer_matching"

[[drop]]
code = "no_phone_reading"
one = "step-trainer reading with no matching phone reading at that instant"
many = "step-trainer readings with no matching phone reading at that instant"
only = {ml_join = "timestamp"}
sql = """SELECT COUNT(*) FROM step_trainer_trusted AS s WHERE NOT EXISTS (SELECT 1 FROM accelerometer_trusted AS a
WHERE a.timestamp = s.sensorReadingTime)"""

# An empty table can be right (no consenting owner's readings, as in some exports): a warning that
# names the filter that removed everything. `stedi run --require-rows` makes it an error.
[[check]]
kind = "min_rows"
min = 1
severity = "warn"

[[check]]
kind = "not_null"
columns = ["subject_id", "serialNumber", "sensorReadingTime", "distanceFromObject", "x", "y", "z", "split"]

# No subject in two splits: training and evaluation never share a person.
[[check]]
kind = "cardinality"
columns = ["subject_id"]
of = "split"
max = 1

# Every ML row's phone reading belongs to the step trainer's owner at that instant (owner join).
[[check]]
kind = "cardinality"
columns = ["serialNumber", "sensorReadingTime"]
of = "subject_id"
max = 1
*/
-- Each trusted step-trainer reading with its owner's trusted phone readings at the same instant.
-- ml_join = 'timestamp' is compatibility with the original AWS Glue project: any consenting phone at that instant.
-- No direct PII: the owner appears only as subject_id, a keyed hash of the normalised email.
-- split: the subject's train/validation/test split (a keyed hash of subject_id, see --split).
SELECT k.subject_id, s.serialNumber, s.sensorReadingTime, s.distanceFromObject, a.x, a.y, a.z, k.split
FROM step_trainer_trusted AS s
JOIN accelerometer_trusted AS a ON a.timestamp = s.sensorReadingTime
JOIN subject_keys AS k ON k.email = s.email
CROSS JOIN run_parameters AS p
WHERE p.ml_join = 'timestamp' OR a.user = s.email
