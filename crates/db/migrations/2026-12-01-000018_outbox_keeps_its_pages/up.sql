-- Vacuum no longer gives the outbox's empty tail pages back to the file system. The outbox is a
-- queue: vacuum often finds it empty and truncated it to no pages at all. The relay's statements
-- are prepared once per connection and planned again only when the table's statistics change, so
-- a plan made then took the table for empty and read it whole on every claim and delete (33 ms a
-- claim under batches of sales, after the other scenarios of a `make bench` had grown it). With
-- its pages kept, a scan of the whole table is costed at its real size and the plans walk the
-- primary key (3 ms a claim in the same scenario). Truncating also took an exclusive lock on the
-- table, which every sale writing an event waited for. What stays is the largest size the queue
-- reached, as empty pages that new events fill again.
SET LOCAL lock_timeout = '5s';
ALTER TABLE outbox SET (vacuum_truncate = false);
