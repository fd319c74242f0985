-- Customers whose standing record consents to research. A later record that withdraws consent
-- (shareWithResearchAsOfDate null) stands, so that customer is out.
SELECT email, customerName, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
FROM customer_standing
WHERE shareWithResearchAsOfDate IS NOT NULL
ORDER BY email
