-- The owner of each distinct (serialNumber, sensorReadingTime). Serials are not unique: when several
-- standing customers hold a serial, the owner is the one holder whose phone has a reading at exactly
-- that instant; with none or several such holders the reading has no owner (and no row here).
WITH holders AS (
    SELECT serialNumber, email, COUNT(*) OVER (PARTITION BY serialNumber) AS holder_count
    FROM customer_standing
),
readings AS (
    SELECT DISTINCT serialNumber, sensorReadingTime FROM step_trainer_readings
),
-- Only holders who share their serial need their phone's instants looked up.
phone_instants AS (
    SELECT DISTINCT user, timestamp FROM accelerometer_readings
    WHERE user IN (SELECT email FROM holders WHERE holder_count > 1)
)
-- A serial's only holder owns all its readings (no grouping needed for these, the most of them).
SELECT r.serialNumber, r.sensorReadingTime, h.email
FROM readings AS r
JOIN holders AS h ON h.serialNumber = r.serialNumber
WHERE h.holder_count = 1
UNION ALL
SELECT r.serialNumber, r.sensorReadingTime, MIN(h.email) AS email
FROM readings AS r
JOIN holders AS h ON h.serialNumber = r.serialNumber
JOIN phone_instants AS p ON p.user = h.email AND p.timestamp = r.sensorReadingTime
WHERE h.holder_count > 1
GROUP BY r.serialNumber, r.sensorReadingTime
HAVING COUNT(*) = 1
