//! Request headers the write endpoints read: `Idempotency-Key` and the W3C trace context.

use inventory_common::ApiError;

/// The header that makes a write safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// A client's idempotency key: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header value (already known to be present).
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        // The draft allows a quoted string (sf-string); the quotes are not part of the key.
        let key = raw
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .unwrap_or(raw);
        if key.is_empty() || key.len() > 255 {
            return Err(ApiError::field(
                IDEMPOTENCY_KEY_HEADER,
                "must be 1 to 255 characters",
            ));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::field(
                IDEMPOTENCY_KEY_HEADER,
                "may contain only visible ASCII characters",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The W3C trace context of a request, carried into the event so the ledger worker continues the
/// trace. Malformed values are dropped rather than rejected: tracing must never fail a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// `traceparent`: `00-<32 hex>-<16 hex>-<2 hex>`.
    pub traceparent: Option<String>,
    /// `tracestate`, only kept alongside a valid `traceparent`.
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// Keeps well-formed values only.
    pub fn parse(traceparent: Option<&str>, tracestate: Option<&str>) -> Self {
        let traceparent = traceparent.map(str::trim).filter(|t| valid_traceparent(t));
        let tracestate = traceparent.and(tracestate).map(str::trim).filter(|s| {
            !s.is_empty() && s.len() <= 512 && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        });
        Self {
            traceparent: traceparent.map(str::to_owned),
            tracestate: tracestate.map(str::to_owned),
        }
    }
}

fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() == 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("\"\"").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
        assert_eq!(
            IdempotencyKey::parse("\"8e03978e-40d5\"").ok().map(|k| k.0),
            Some("8e03978e-40d5".to_owned())
        );
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn trace_context_keeps_valid_values_only() {
        let good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let ctx = TraceContext::parse(Some(good), Some("vendor=x"));
        assert_eq!(ctx.traceparent.as_deref(), Some(good));
        assert_eq!(ctx.tracestate.as_deref(), Some("vendor=x"));
        for bad in [
            "garbage",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        ] {
            let ctx = TraceContext::parse(Some(bad), Some("vendor=x"));
            assert_eq!(ctx, TraceContext::default(), "{bad}");
        }
    }
}
