/* @table
zone = "internal"
description = "The standing record of each customer (one normalised email), consenting or not."
input = "customer_landing"
key = ["email"]
person = [{kind = "email", column = "email"}]
*/
-- The standing record of each customer (one normalised email): the greatest lastUpdateDate, then the
-- greatest registrationDate, then the record read last (path, line, position on the line).
-- Every customer, consenting or not: ownership of step-trainer readings looks at all of them.
-- The email is normalised once, in the subquery, for both the row and its partition.
SELECT email, customerName, phone, birthDay, serialNumber, registrationDate,
       lastUpdateDate, shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
FROM (
    SELECT normalised_email(email) AS email, customerName, phone, birthDay, serialNumber, registrationDate,
           lastUpdateDate, shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate,
           source_file, source_line, source_index
    FROM customer_landing
) AS normalised
QUALIFY ROW_NUMBER() OVER (
    PARTITION BY email
    ORDER BY lastUpdateDate DESC, registrationDate DESC, source_file DESC, source_line DESC, source_index DESC
) = 1
