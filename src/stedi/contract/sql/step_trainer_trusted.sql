-- Distinct step-trainer readings whose owner is a curated customer; under policy as-of only those
-- taken at or after the owner's consent. `email` is the owner's normalised email (one owner per
-- serial and instant, so the rows stay distinct).
SELECT o.sensorReadingTime, o.serialNumber, o.distanceFromObject, o.email
FROM step_trainer_owner AS o
JOIN customer_curated AS c ON c.email = o.email
CROSS JOIN run_parameters AS p
WHERE p.consent_policy = 'all' OR o.sensorReadingTime >= c.shareWithResearchAsOfDate
ORDER BY serialNumber, sensorReadingTime, distanceFromObject
