/* @table
zone = "trusted"
description = "Distinct phone readings of consenting customers (policy as-of: taken at or after consent)."
input = "accelerometer_landing"
key = ["user", "timestamp", "x", "y", "z"]
person = [{kind = "email", column = "user"}]
consent = "user"

[[drop]]
code = "no_consent"
one = "reading of a user without research consent"
many = "readings of users without research consent"
sql = "SELECT COUNT(*) FROM accelerometer_readings WHERE user NOT IN (SELECT email FROM customer_trusted)"

[[drop]]
code = "before_consent"
one = "reading taken before the user's consent (policy as-of)"
many = "readings taken before the user's consent (policy as-of)"
only = {consent_policy = "as-of"}
sql = """SELECT COUNT(*) FROM accelerometer_readings AS a JOIN customer_trusted AS c ON c.email = a.user
WHERE a.timestamp < c.shareWithResearchAsOfDate"""

# Counted among the readings kept: deduplicating the readings no table keeps costs a pass.
[[drop]]
code = "duplicate"
one = "duplicate reading"
many = "duplicate readings"
sql = """SELECT (SELECT COUNT(*) FROM accelerometer_readings AS a JOIN customer_trusted AS c ON c.email = a.user
CROSS JOIN run_parameters AS p WHERE p.consent_policy = 'all' OR a.timestamp >= c.shareWithResearchAsOfDate)
- (SELECT COUNT(*) FROM accelerometer_trusted)"""

[[check]]
kind = "range"
column = "x"
min = -100.0
max = 100.0
severity = "warn"

[[check]]
kind = "range"
column = "y"
min = -100.0
max = 100.0
severity = "warn"

[[check]]
kind = "range"
column = "z"
min = -100.0
max = 100.0
severity = "warn"

# Epoch milliseconds between 2015 and 2035: catches seconds or microseconds sent as milliseconds.
[[check]]
kind = "range"
column = "timestamp"
min = 1420070400000
max = 2051222400000
severity = "warn"

[[check]]
kind = "references"
column = "user"
to_table = "customer_trusted"
to_column = "email"

[[check]]
kind = "funnel"
from = "accelerometer_landing"

# Sensor checks: warnings, with their figures beside the counts. No "conflicts" check here: a phone
# records several readings in the same millisecond (about three per step-trainer instant), so
# different values at one instant are how this sensor reports, not a fault.
[[check]]
kind = "outliers"
column = "x"
mads = 6
severity = "warn"

[[check]]
kind = "outliers"
column = "y"
mads = 6
severity = "warn"

[[check]]
kind = "outliers"
column = "z"
mads = 6
severity = "warn"
*/
-- Distinct readings of consenting customers; under policy as-of only those taken at or after consent.
SELECT DISTINCT a.user, a.timestamp, a.x, a.y, a.z
FROM accelerometer_readings AS a
JOIN customer_trusted AS c ON c.email = a.user
CROSS JOIN run_parameters AS p
WHERE p.consent_policy = 'all' OR a.timestamp >= c.shareWithResearchAsOfDate
