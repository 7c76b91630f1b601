-- The service's trace id (32 hex digits) of the request that made the change, beside its request id:
-- an audit row leads straight to the whole trace.
ALTER TABLE audit_log ADD COLUMN trace_id text CHECK (trace_id ~ '^[0-9a-f]{32}$');
