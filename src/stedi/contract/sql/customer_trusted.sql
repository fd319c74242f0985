/* @table
zone = "trusted"
description = "The standing record of each customer whose research consent is set."
input = "customer_landing"
key = ["email"]
person = [{kind = "email", column = "email"}]
consent = "email"

[[drop]]
code = "superseded"
one = "superseded customer record (a later record of the same email stands)"
many = "superseded customer records (a later record of the same email stands)"
sql = "SELECT (SELECT COUNT(*) FROM customer_landing) - (SELECT COUNT(*) FROM customer_standing)"

[[drop]]
code = "no_consent"
one = "customer without research consent"
many = "customers without research consent"
sql = "SELECT COUNT(*) FROM customer_standing WHERE shareWithResearchAsOfDate IS NULL"

[[check]]
kind = "not_null"
columns = ["email", "serialNumber", "shareWithResearchAsOfDate"]

[[check]]
kind = "funnel"
from = "customer_landing"
*/
-- Customers whose standing record consents to research. A later record that withdraws consent
-- (shareWithResearchAsOfDate null) stands, so that customer is out.
SELECT email, customerName, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
FROM customer_standing
WHERE shareWithResearchAsOfDate IS NOT NULL
