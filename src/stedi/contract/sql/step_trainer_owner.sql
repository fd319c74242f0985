/* @table
zone = "internal"
description = "Each distinct step-trainer reading that has an owner, with the owner's email."
input = "step_trainer_landing"
person = [{kind = "email", column = "email"}]
*/
-- Each distinct step-trainer reading that has an owner, with the owner's email. Serials are not
-- unique: when several standing customers hold a serial, the owner of a reading is the one holder
-- whose phone has a reading at exactly that instant; with none or several such holders the reading
-- has no owner (and no row here).
WITH holders AS (
    SELECT serialNumber, email, COUNT(*) OVER (PARTITION BY serialNumber) AS holder_count
    FROM customer_standing
),
sharing AS (
    SELECT serialNumber, email FROM holders WHERE holder_count > 1
),
shared AS (
    SELECT DISTINCT serialNumber, sensorReadingTime FROM step_trainer_readings
    WHERE serialNumber IN (SELECT serialNumber FROM sharing)
),
-- Only holders who share their serial need their phone's instants looked up.
phone_instants AS (
    SELECT DISTINCT user, timestamp FROM accelerometer_readings
    WHERE user IN (SELECT email FROM sharing)
),
shared_owners AS (
    SELECT r.serialNumber, r.sensorReadingTime, MIN(h.email) AS email
    FROM shared AS r
    JOIN sharing AS h ON h.serialNumber = r.serialNumber
    JOIN phone_instants AS p ON p.user = h.email AND p.timestamp = r.sensorReadingTime
    GROUP BY r.serialNumber, r.sensorReadingTime
    HAVING COUNT(*) = 1
)
-- A serial's only holder owns all its readings (most readings: a join with the small holders table).
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, h.email
FROM step_trainer_readings AS s
JOIN holders AS h ON h.serialNumber = s.serialNumber
WHERE h.holder_count = 1
UNION ALL
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, o.email
FROM step_trainer_readings AS s
JOIN shared_owners AS o ON o.serialNumber = s.serialNumber AND o.sensorReadingTime = s.sensorReadingTime
