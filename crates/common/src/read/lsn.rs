//! WAL positions: what a `Consistency-Token` carries and what Redis keeps for read-your-writes.

use std::{fmt, str::FromStr};

/// A position in PostgreSQL's write-ahead log, written as PostgreSQL writes a `pg_lsn`
/// (`16/B374D848`). Used as the `Consistency-Token` a write answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Larger than any real position: "only the primary is fresh enough".
    pub const MAX: Lsn = Lsn(u64::MAX);

    /// The zero-padded hex form stored in Redis, whose text order is the positions' order.
    pub(crate) fn to_key_value(self) -> String {
        format!("{:016X}", self.0)
    }

    pub(crate) fn from_key_value(text: &str) -> Option<Lsn> {
        u64::from_str_radix(text, 16).ok().map(Lsn)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl FromStr for Lsn {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected a token of a previous response, such as `16/B374D848`";
        let (high, low) = s.trim().split_once('/').ok_or(EXPECTED)?;
        let part = |p: &str| {
            (!p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(p, 16).ok())
                .flatten()
                .ok_or(EXPECTED)
        };
        Ok(Lsn((part(high)? << 32) | part(low)?))
    }
}

/// Stores position ARGV[1] (zero-padded hex) under KEYS[1] for ARGV[2] ms unless a later one is
/// there already (which keeps its own expiry): positions stored never go back.
pub(crate) const KEEP_MAX: &str = r"
local current = redis.call('GET', KEYS[1])
if current and current >= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// The position stored in Redis for an invalidated cache key (zero-padded hex, see [`Lsn`]).
pub fn position_value(lsn: Lsn) -> String {
    lsn.to_key_value()
}

/// The position read back from Redis for a cache key; `None` when absent or unreadable.
pub fn position_from_value(text: &str) -> Option<Lsn> {
    Lsn::from_key_value(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_print_like_postgres() {
        let lsn: Lsn = "16/B374D848".parse().unwrap_or(Lsn(0));
        assert_eq!(lsn, Lsn((0x16 << 32) | 0xB374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!("0/0".parse::<Lsn>(), Ok(Lsn(0)));
        assert!("0/3000148".parse::<Lsn>().is_ok_and(|l| l < lsn));
        for bad in [
            "",
            "/",
            "16",
            "16/",
            "/1",
            "x/1",
            "1/123456789",
            "-1/2",
            "1/2/3",
            "1 /2",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn stored_positions_sort_as_text_in_position_order() {
        let small = Lsn(0xF_FFFF_FFFF).to_key_value();
        let large = Lsn(0x10_0000_0000).to_key_value();
        assert!(small < large);
        assert_eq!(Lsn::from_key_value(&large), Some(Lsn(0x10_0000_0000)));
    }
}
