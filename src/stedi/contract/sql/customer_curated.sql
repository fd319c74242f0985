-- Consenting customers with at least one trusted phone reading.
SELECT email, customerName, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
FROM customer_trusted
WHERE email IN (SELECT user FROM accelerometer_trusted)
ORDER BY email
