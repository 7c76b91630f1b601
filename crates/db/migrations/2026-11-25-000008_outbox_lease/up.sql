-- The relay leases rows for a short time instead of holding their row locks while it talks to
-- Redis: claim (short transaction) → XADD (no transaction) → delete. A relay that dies after
-- claiming leaves rows whose lease expires and another relay publishes them (at least once).
ALTER TABLE outbox ADD COLUMN claimed_until timestamptz;
