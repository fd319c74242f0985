/* @table
zone = "internal"
description = "Each standing customer's serial number, with how many standing customers hold it."
input = "customer_landing"
person = [{kind = "email", column = "email"}]
*/
-- Each standing customer (consenting or not) with the serial number of their standing record and
-- how many standing customers hold that serial: serials are not unique.
SELECT serialNumber, email, COUNT(*) OVER (PARTITION BY serialNumber) AS holder_count
FROM customer_standing
