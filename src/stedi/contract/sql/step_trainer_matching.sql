/* @table
zone = "internal"
description = "Per owner of trusted step-trainer readings: how many readings, and how many of them have no phone reading of the owner at that instant."
input = "step_trainer_trusted"
person = [{kind = "email", column = "email"}]
# An owner's row follows from their own trusted readings and phone readings alone: a run that adds
# readings counts again only the owners they touch (see docs/runs.md).
groups = {step_trainer_trusted = "email", accelerometer_trusted = "user"}
*/
-- Per owner: their trusted step-trainer readings, and those without a phone reading of theirs at the
-- same instant. The reason `no_phone_reading` of machine_learning_curated and the clock check of
-- step_trainer_trusted both read it, so the anti join between the two largest trusted tables runs once.
-- A reading without an owner's email (never, with this pipeline's SQL) is its own group and matches nothing.
WITH unmatched AS (
    SELECT s.email, COUNT(*) AS n
    FROM step_trainer_trusted AS s
    WHERE NOT EXISTS (
        SELECT 1 FROM accelerometer_trusted AS a WHERE a.user = s.email AND a.timestamp = s.sensorReadingTime
    )
    GROUP BY s.email
)
SELECT r.email, r.readings, COALESCE(u.n, 0) AS unmatched
FROM (SELECT email, COUNT(*) AS readings FROM step_trainer_trusted GROUP BY email) AS r
LEFT JOIN unmatched AS u ON u.email IS NOT DISTINCT FROM r.email
