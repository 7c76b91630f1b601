//! Per-client rate limiting (actix-governor): keyed by the authenticated user when the request carries
//! a valid token, else by the client address. The address is the TCP peer, or — only when the peer is
//! a trusted proxy (the gateway) — the address the proxy put in `X-Forwarded-For`. A client cannot
//! choose its key by sending that header itself. Limited requests get a 429 problem+json with
//! `Retry-After` and `x-ratelimit-*` headers.
//!
//! Bounds: an address key is an IPv4 address or an IPv6 /64 ([`address_key`]). A limiter keeps a
//! key only while it is short of a full allowance — at most `burst × interval` after the client's
//! last request — plus the sweep period of [`forget_idle_keys`] (10 s); so a limiter holds at most
//! the clients seen in that window, about 100 bytes each. Login failures are counted per
//! (username, address) by [`AttemptLimiter`], which is bounded the same way and capped.

mod address;
mod attempts;

use std::{sync::Arc, time::Duration};

use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor,
    governor::{
        NotUntil,
        clock::{Clock, DefaultClock, QuantaInstant},
        middleware::StateInformationMiddleware,
    },
};
use actix_web::{HttpResponse, HttpResponseBuilder, dev::ServiceRequest, web};

pub use address::{address_key, client_address, client_key};
pub use attempts::{AttemptLimiter, DEFAULT_MAX_KEYS};

use crate::{ApiError, auth::JwtVerifier, config::IpNet};

/// How often the limiters drop the keys that are back to a full allowance.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(10);

/// How a limiter picks the client of a request.
#[derive(Clone)]
pub struct ClientKey {
    verifier: Option<web::Data<JwtVerifier>>,
    trusted_proxies: Arc<Vec<IpNet>>,
}

impl ClientKey {
    /// Keys by user when `verifier` accepts the request's token, by address otherwise.
    pub fn user_or_address(verifier: web::Data<JwtVerifier>, trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            verifier: Some(verifier),
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }

    /// Keys by address only (login, register).
    pub fn address(trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            verifier: None,
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }
}

impl KeyExtractor for ClientKey {
    type Key = String;
    type KeyExtractionError = ApiError;

    fn extract(&self, req: &ServiceRequest) -> Result<String, ApiError> {
        if let Some(verifier) = &self.verifier
            && let Some(token) = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
            && let Ok(claims) = verifier.verify(token.trim())
        {
            let key = format!("user:{}", claims.sub);
            // The caller extractor reuses these instead of verifying the signature a second time.
            actix_web::HttpMessage::extensions_mut(req).insert(crate::auth::VerifiedClaims(claims));
            return Ok(key);
        }
        Ok(client_key(req.request(), &self.trusted_proxies))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1);
        metrics::counter!("rate_limited_total").increment(1);
        response.content_type("application/problem+json").body(
            ApiError::TooManyRequests { retry_after: wait }
                .problem()
                .to_string(),
        )
    }
}

/// A limiter's configuration.
pub type LimiterConfig = GovernorConfig<ClientKey, StateInformationMiddleware>;

/// `per_second` requests per second sustained, bursts of `burst`, per client.
pub fn limiter(key: ClientKey, per_second: u32, burst: u32) -> Result<LimiterConfig, String> {
    if per_second == 0 {
        return Err("rate limits must be positive".into());
    }
    limiter_every(key, Duration::from_secs(1) / per_second, burst)
}

/// One request every `interval` sustained, bursts of `burst`, per client.
pub fn limiter_every(
    key: ClientKey,
    interval: Duration,
    burst: u32,
) -> Result<LimiterConfig, String> {
    if interval.is_zero() || burst == 0 {
        return Err("rate limits must be positive".into());
    }
    let nanos_per_request = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    GovernorConfigBuilder::default()
        .nanoseconds_per_request(nanos_per_request.max(1))
        .burst_size(burst)
        .key_extractor(key)
        .use_headers()
        .finish()
        .ok_or_else(|| "invalid rate limit".to_owned())
}

/// The middleware for a limiter configuration.
pub fn middleware(config: &LimiterConfig) -> Governor<ClientKey, StateInformationMiddleware> {
    Governor::new(config)
}

/// Every [`SWEEP_PERIOD`], drops the keys of `config`'s limiter that are back to a full allowance
/// (they are indistinguishable from a client never seen) and publishes how many remain as
/// `rate_limiter_keys{limiter}`. Call it once per limiter, inside the runtime.
pub fn forget_idle_keys(config: &LimiterConfig, name: &'static str) {
    let limiter = config.limiter();
    // At zero from the start: "nobody limited" rather than "no data" on the dashboard.
    metrics::counter!("rate_limited_total").increment(0);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_PERIOD);
        loop {
            tick.tick().await;
            limiter.retain_recent();
            limiter.shrink_to_fit();
            metrics::gauge!("rate_limiter_keys", "limiter" => name).set(limiter.len() as f64);
        }
    });
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point
mod tests {
    use super::*;

    #[actix_web::test]
    async fn idle_clients_are_forgotten() {
        let config = limiter(ClientKey::address(vec![]), 1000, 1).expect("config");
        let limiter = config.limiter();
        for i in 0..1000u32 {
            let key = address_key(std::net::IpAddr::from(i.to_be_bytes()));
            assert!(limiter.check_key(&key).is_ok());
        }
        assert_eq!(limiter.len(), 1000);
        // One request per millisecond refills a client within a millisecond: poll for the sweep
        // to drop every key.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            limiter.retain_recent();
            if limiter.is_empty() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} keys left",
                limiter.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A busy client is kept.
        let busy = address_key("192.0.2.1".parse().expect("address"));
        let slow = limiter_every(ClientKey::address(vec![]), Duration::from_secs(60), 1)
            .expect("config")
            .limiter();
        assert!(slow.check_key(&busy).is_ok());
        slow.retain_recent();
        assert_eq!(slow.len(), 1);
    }
}
