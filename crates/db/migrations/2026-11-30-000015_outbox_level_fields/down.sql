-- Rows queued in parts get their whole payload, as the statement wrote it before (migration 000013's
-- varint functions; field tags 5, 9, 10 and 11).
UPDATE outbox
SET payload = payload_head || '\x2a24'::bytea || convert_to(level_id::text, 'UTF8')
              || '\x48'::bytea || protobuf_varint(quantity_after)
              || '\x50'::bytea || protobuf_varint(level_version)
              || '\x58'::bytea || protobuf_varint(reorder_level)
WHERE payload IS NULL;
ALTER TABLE outbox
    DROP CONSTRAINT outbox_payload_whole_or_in_parts,
    DROP COLUMN payload_head,
    DROP COLUMN level_id,
    DROP COLUMN quantity_after,
    DROP COLUMN level_version,
    DROP COLUMN reorder_level,
    ALTER COLUMN payload SET NOT NULL;
