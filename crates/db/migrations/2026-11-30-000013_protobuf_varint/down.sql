DROP FUNCTION protobuf_varint(bigint);
DROP FUNCTION protobuf_varint_byte(bigint, int);
DROP FUNCTION protobuf_varint_len(bigint);
