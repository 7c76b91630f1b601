//! Which client a request comes from, as a limiter key.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;

use crate::config::IpNet;

/// The client's address: the peer, or the gateway's `X-Forwarded-For` when the peer is trusted.
pub fn client_address(req: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
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

/// The limiter key of an address. IPv4 as is; IPv6 by its /64 network, since one subscriber is
/// handed a whole /64 and could otherwise take a fresh key (and a fresh allowance) for each of its
/// 2^64 addresses; an IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX));
            format!("ip:{network}/64")
        }
    }
}

/// The limiter key of the client of `req` (`ip:unknown` when the peer address is not known).
pub fn client_key(req: &HttpRequest, trusted_proxies: &[IpNet]) -> String {
    client_address(req, trusted_proxies).map_or_else(|| "ip:unknown".to_owned(), address_key)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point
mod tests {
    use super::*;

    fn key(ip: &str) -> String {
        address_key(ip.parse().expect("an address"))
    }

    #[test]
    fn ipv4_clients_are_keyed_by_address() {
        assert_eq!(key("192.0.2.10"), "ip:192.0.2.10");
        assert_ne!(key("192.0.2.10"), key("192.0.2.11"));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let first = key("2001:db8:1:2::1");
        assert_eq!(first, "ip:2001:db8:1:2::/64");
        // Every address of the /64 shares the key: no fresh allowance per address.
        for other in [
            "2001:db8:1:2::2",
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
            "2001:db8:1:2:1234:5678:9abc:def0",
        ] {
            assert_eq!(key(other), first, "{other}");
        }
        // The neighbouring /64 is another client.
        assert_ne!(key("2001:db8:1:3::1"), first);
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_client() {
        assert_eq!(key("::ffff:192.0.2.10"), key("192.0.2.10"));
    }

    #[test]
    fn the_forwarded_address_counts_only_from_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1".parse().expect("net")];
        let via_gateway = actix_web::test::TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().expect("socket"))
            .insert_header(("x-forwarded-for", "198.51.100.1, 2001:db8:1:2::7"))
            .to_http_request();
        assert_eq!(client_key(&via_gateway, &trusted), "ip:2001:db8:1:2::/64");
        let direct = actix_web::test::TestRequest::default()
            .peer_addr("203.0.113.9:5000".parse().expect("socket"))
            .insert_header(("x-forwarded-for", "198.51.100.1"))
            .to_http_request();
        assert_eq!(client_key(&direct, &trusted), "ip:203.0.113.9");
    }
}
