-- The protobuf varint of a non-negative bigint, as protobuf encoders write it (the shortest form:
-- seven bits a byte, low bits first, the high bit set on all but the last byte; 63 bits fit in nine
-- bytes). The stock service's one-step statement appends the event fields only the changed level
-- knows with it.
--
-- Plain expressions only (all nine bytes with the high bit set, cut to the value's length, the last
-- byte's high bit cleared), in IMMUTABLE single-SELECT SQL functions: the planner inlines them into
-- the statement's plan, which each connection prepares once, so a call costs what the expression
-- costs (the events tests check that the plan holds no call). They were written into the statement
-- before, 7 KB of text the service built and hashed on every execution.

-- How many bytes the varint of v (>= 0) takes: 1 plus one per 7 bits beyond the first 7.
CREATE FUNCTION protobuf_varint_len(v bigint) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT 1 + (v >= 128)::int + (v >= 16384)::int + (v >= 2097152)::int + (v >= 268435456)::int
         + (v >= 34359738368)::int + (v >= 4398046511104)::int + (v >= 562949953421312)::int
         + (v >= 72057594037927936)::int
$$;

-- The seven bits of v from bit k with the continuation bit set, as one byte.
CREATE FUNCTION protobuf_varint_byte(v bigint, k int) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT set_byte('\x00'::bytea, 0, (((v >> k) & 127) | 128)::int)
$$;

CREATE FUNCTION protobuf_varint(v bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT set_byte(
    substring(protobuf_varint_byte(v, 0) || protobuf_varint_byte(v, 7) || protobuf_varint_byte(v, 14)
              || protobuf_varint_byte(v, 21) || protobuf_varint_byte(v, 28) || protobuf_varint_byte(v, 35)
              || protobuf_varint_byte(v, 42) || protobuf_varint_byte(v, 49) || protobuf_varint_byte(v, 56)
              FROM 1 FOR protobuf_varint_len(v)),
    protobuf_varint_len(v) - 1,
    ((v >> (7 * (protobuf_varint_len(v) - 1))) & 127)::int)
$$;
