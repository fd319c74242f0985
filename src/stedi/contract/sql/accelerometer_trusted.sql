-- Distinct readings of consenting customers; under policy as-of only those taken at or after consent.
SELECT DISTINCT a.user, a.timestamp, a.x, a.y, a.z
FROM accelerometer_readings AS a
JOIN customer_trusted AS c ON c.email = a.user
CROSS JOIN run_parameters AS p
WHERE p.consent_policy = 'all' OR a.timestamp >= c.shareWithResearchAsOfDate
ORDER BY a.user, a.timestamp, a.x, a.y, a.z
