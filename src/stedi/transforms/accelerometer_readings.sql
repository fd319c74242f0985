-- Distinct phone readings with the user's email normalised, of every customer (any consent).
SELECT DISTINCT
    LOWER(TRIM(BOTH ' ' || CHR(9) || CHR(10) || CHR(13) FROM user)) AS user,
    timestamp, x, y, z
FROM accelerometer_landing
