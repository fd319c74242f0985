/* @table
zone = "internal"
description = "Every phone reading with its user's email normalised (a view: its readers each filter it)."
input = "accelerometer_landing"
view = true
person = [{kind = "email", column = "user"}]
*/
-- Every phone reading with the user's email normalised, of every customer (any consent). A view: its
-- readers each filter it (consenting users; holders of a shared serial), so normalising on the way
-- costs less than materialising every reading (and deduplicating those no table keeps).
SELECT normalised_email(user) AS user, timestamp, x, y, z
FROM accelerometer_landing
