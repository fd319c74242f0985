-- Distinct step-trainer readings (a reading exported twice counts once), of every device.
SELECT DISTINCT sensorReadingTime, serialNumber, distanceFromObject
FROM step_trainer_landing
