-- intake_tried (the door's repeat probe: one key per (system, local id)
-- ever tried) was the one table growing with history and never dropped:
-- at 7 M documents a day ~0.7 GB a day, ~250 GB a year of random-key B-tree
-- whose leaves, once out of memory, cost a random read per insert (issue
-- 16, docs/performance.md "Growth"). Each key now carries the day it was
-- first tried, and the retention upkeep deletes the keys of a month when
-- it drops that month's partitions. A document tried again after its first
-- try's month was dropped counts as a first try again: "repeat" means
-- tried before within the retention period.
--
-- The default is evaluated once for the existing rows (a non-volatile
-- default needs no rewrite) and per insert afterwards, so the door's
-- statements do not change. BRIN: keys arrive in day order, so a block
-- range summary finds a month's keys at a few kilobytes of index for
-- billions of rows, instead of a second B-tree written on every insert.
ALTER TABLE intake_tried ADD COLUMN first_tried date NOT NULL DEFAULT current_date;
CREATE INDEX intake_tried_first_tried_idx ON intake_tried USING brin (first_tried);
