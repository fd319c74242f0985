/* @table
zone = "internal"
description = "Each distinct step-trainer reading that has an owner, with the owner's email (a view: its readers each join it)."
input = "step_trainer_landing"
view = true
person = [{kind = "email", column = "email"}]
*/
-- Each distinct step-trainer reading that has an owner, with the owner's email. Serials are not
-- unique: a serial's only holder owns all its readings (most readings); when several standing
-- customers hold a serial, the owner of a reading is the one holder whose phone has a reading at
-- exactly that instant (shared_serial_owners); with none or several such holders the reading has no
-- owner (and no row here). Two select-project-joins added together: a run that extends its tables
-- derives the new owned readings from the new readings of each. A view: its readers (the trusted
-- readings, two reason counts) each join it with the curated customers, which costs no more than
-- materialising every owned reading once, and a run with new readings joins only the new curated
-- customers' readings through it (scale 100, one new file: 0.1-0.15 s less).
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, h.email
FROM step_trainer_readings AS s
JOIN serial_holders AS h ON h.serialNumber = s.serialNumber
WHERE h.holder_count = 1
UNION ALL
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, o.email
FROM step_trainer_readings AS s
JOIN shared_serial_owners AS o ON o.serialNumber = s.serialNumber AND o.sensorReadingTime = s.sensorReadingTime
