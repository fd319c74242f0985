/* @table
zone = "internal"
description = "Each step-trainer instant of a serial several customers hold, with its one owner: the one holder whose phone has a reading at that instant."
input = "step_trainer_landing"
person = [{kind = "email", column = "email"}]
*/
-- The instants of the serials several standing customers hold at which exactly one holder's phone
-- has a reading: that holder owns the readings of that instant. With none or several such holders
-- an instant has no owner (and no row here). Only holders who share their serial need their phone's
-- instants looked up.
WITH sharing AS (
    SELECT serialNumber, email FROM serial_holders WHERE holder_count > 1
),
shared AS (
    SELECT DISTINCT serialNumber, sensorReadingTime FROM step_trainer_readings
    WHERE serialNumber IN (SELECT serialNumber FROM sharing)
),
phone_instants AS (
    SELECT DISTINCT user, timestamp FROM accelerometer_readings
    WHERE user IN (SELECT email FROM sharing)
)
SELECT r.serialNumber, r.sensorReadingTime, MIN(h.email) AS email
FROM shared AS r
JOIN sharing AS h ON h.serialNumber = r.serialNumber
JOIN phone_instants AS p ON p.user = h.email AND p.timestamp = r.sensorReadingTime
GROUP BY r.serialNumber, r.sensorReadingTime
HAVING COUNT(*) = 1
