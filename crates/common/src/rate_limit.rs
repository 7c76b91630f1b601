//! Per-client rate limiting (actix-governor): keyed by the authenticated user when the request carries
//! a valid token, else by the client address. The address is the TCP peer, or — only when the peer is
//! a trusted proxy (the gateway) — the address the proxy put in `X-Forwarded-For`. A client cannot
//! choose its key by sending that header itself. Limited requests get a 429 problem+json with
//! `Retry-After` and `x-ratelimit-*` headers.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor,
    governor::{
        DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter,
        clock::{Clock, DefaultClock, QuantaInstant},
        middleware::StateInformationMiddleware,
    },
};
use actix_web::{HttpResponse, HttpResponseBuilder, dev::ServiceRequest, web};

use crate::{ApiError, auth::JwtVerifier, config::IpNet};

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

/// The client's address: the peer, or the gateway's `X-Forwarded-For` when the peer is trusted.
pub fn client_address(req: &ServiceRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if !trusted_proxies.iter().any(|net| net.contains(peer)) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        // The proxy appends the address it saw last; anything before it is the client's claim.
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    Some(forwarded.unwrap_or(peer))
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
        match client_address(req, &self.trusted_proxies) {
            Some(ip) => Ok(format!("ip:{ip}")),
            None => Ok("ip:unknown".to_owned()),
        }
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

/// Counts attempts per key (a username) in-process: `per_minute` sustained, `burst` at once.
pub struct AttemptLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl AttemptLimiter {
    pub fn per_minute(per_minute: u32, burst: u32) -> Result<Self, String> {
        let rate = NonZeroU32::new(per_minute).ok_or("attempt limits must be positive")?;
        let burst = NonZeroU32::new(burst).ok_or("attempt limits must be positive")?;
        Ok(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
        })
    }

    /// Records an attempt for `key`; a 429 with the wait when over the limit.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| {
                metrics::counter!("rate_limited_total").increment(1);
                ApiError::TooManyRequests {
                    retry_after: not_until
                        .wait_time_from(DefaultClock::default().now())
                        .as_secs()
                        .max(1),
                }
            })
    }

    /// Forgets keys that are back to a full allowance (call periodically).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}
