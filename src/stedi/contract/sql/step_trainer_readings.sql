/* @table
zone = "internal"
description = "Distinct step-trainer readings of every device."
input = "step_trainer_landing"
*/
-- Distinct step-trainer readings (a reading exported twice counts once), of every device.
SELECT DISTINCT sensorReadingTime, serialNumber, distanceFromObject
FROM step_trainer_landing
