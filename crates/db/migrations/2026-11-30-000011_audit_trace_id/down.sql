ALTER TABLE audit_log DROP COLUMN trace_id;
