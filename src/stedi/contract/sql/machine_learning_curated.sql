-- Each trusted step-trainer reading with its owner's trusted phone readings at the same instant.
-- ml_join = 'timestamp' is the seed's compatibility mode: any consenting phone at that instant.
-- No direct PII: the owner appears only as subject_id, a keyed hash of the normalised email.
SELECT k.subject_id, s.serialNumber, s.sensorReadingTime, s.distanceFromObject, a.x, a.y, a.z
FROM step_trainer_trusted AS s
JOIN accelerometer_trusted AS a ON a.timestamp = s.sensorReadingTime
JOIN subject_keys AS k ON k.email = s.email
CROSS JOIN run_parameters AS p
WHERE p.ml_join = 'timestamp' OR a.user = s.email
ORDER BY s.serialNumber, s.sensorReadingTime, s.distanceFromObject, k.subject_id, a.x, a.y, a.z
