/* @table
zone = "curated"
description = "Consenting customers with at least one trusted phone reading."
input = "customer_trusted"
key = ["email"]
person = [{kind = "email", column = "email"}]
consent = "email"

[[drop]]
code = "no_readings"
one = "consenting customer without trusted phone readings"
many = "consenting customers without trusted phone readings"
sql = "SELECT (SELECT COUNT(*) FROM customer_trusted) - (SELECT COUNT(*) FROM customer_curated)"

[[check]]
kind = "references"
column = "email"
to_table = "customer_trusted"
to_column = "email"

[[check]]
kind = "funnel"
from = "customer_trusted"
*/
-- Consenting customers with at least one trusted phone reading.
SELECT email, customerName, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
FROM customer_trusted
WHERE email IN (SELECT user FROM accelerometer_trusted)
