//! Movement ids are UUIDv7: their first 48 bits are the Unix time in milliseconds. A movement's
//! `created_at` is that time, so a time range of the history is exactly a range of ids, which the
//! primary key and `(store_id, id DESC)` indexes serve (no index on `created_at` needed).

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// The largest millisecond count a UUIDv7 can hold (48 bits).
const MAX_MILLIS: i64 = (1 << 48) - 1;

/// A new movement id and its time (the `created_at` recorded with it).
pub fn new_movement_id() -> (Uuid, DateTime<Utc>) {
    let id = Uuid::now_v7();
    (id, time_of(id))
}

/// The time (milliseconds) of a UUIDv7.
pub fn time_of(id: Uuid) -> DateTime<Utc> {
    let bytes = id.as_bytes();
    let millis = bytes[..6]
        .iter()
        .fold(0_i64, |acc, b| (acc << 8) | i64::from(*b));
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The smallest UUIDv7 whose time is at or after `t`: `time_of(id) >= t` ⟺ `id >= bound(t)`, and
/// `time_of(id) < t` ⟺ `id < bound(t)`.
pub fn lower_bound(t: DateTime<Utc>) -> Uuid {
    // Round up to the next whole millisecond: an id of millisecond m is at or after t iff m ≥ ⌈t⌉.
    let millis =
        t.timestamp_millis() + i64::from(!t.timestamp_subsec_nanos().is_multiple_of(1_000_000));
    let millis = millis.clamp(0, MAX_MILLIS);
    let mut bytes = [0_u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn an_id_and_its_time_agree() {
        let (id, at) = new_movement_id();
        assert_eq!(time_of(id), at);
        assert!(id >= lower_bound(at));
        assert!(id < lower_bound(at + Duration::milliseconds(1)));
    }

    #[test]
    fn bounds_round_up_to_the_millisecond() {
        let (id, at) = new_movement_id();
        // A bound a microsecond after the id's millisecond excludes it; at the millisecond includes it.
        assert!(id < lower_bound(at + Duration::microseconds(1)));
        assert!(id >= lower_bound(at - Duration::microseconds(1)));
        assert_eq!(time_of(lower_bound(at)), at);
    }

    #[test]
    fn times_outside_the_v7_range_are_clamped() {
        let before_1970 = Utc
            .with_ymd_and_hms(1900, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(lower_bound(before_1970), Uuid::nil());
        let far = Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .single()
            .unwrap_or_default();
        assert!(lower_bound(far) > Uuid::now_v7());
    }
}
