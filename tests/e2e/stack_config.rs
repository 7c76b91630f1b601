//! How the stack is set up, checked on the running test stack: Redis requires its password and
//! evicts only keys with a TTL; secrets reach only the service that needs them and are kept in files
//! only their owner reads; every port lies outside the machine's ephemeral port range.

use std::os::unix::fs::PermissionsExt;

use inventory_e2e::stack::{env, recorded_pid};

use inventory_e2e::stack::state_dir;

/// The Redis URL the stack gives its services, and the same address without the password.
fn redis_urls() -> (String, String) {
    let url = env("REDIS_URL");
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (credentials, address) = rest.rsplit_once('@').expect("credentials in REDIS_URL");
    assert!(
        credentials.len() > 1,
        "REDIS_URL carries a password: {scheme}://…@{address}"
    );
    (url.clone(), format!("{scheme}://{address}"))
}

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

/// Why Redis at `url` refuses a command (on connecting, or on the command itself).
async fn refusal(url: &str) -> String {
    let connected = redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await;
    let mut conn = match connected {
        Ok(conn) => conn,
        Err(e) => return e.to_string(),
    };
    match redis::cmd("GET")
        .arg("anything")
        .query_async::<Option<String>>(&mut conn)
        .await
    {
        Ok(_) => panic!("Redis answered a client with no or a wrong password"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn redis_refuses_clients_without_the_password() {
    let (with_password, without) = redis_urls();
    let err = refusal(&without).await;
    assert!(
        err.contains("NOAUTH"),
        "refused for want of a password: {err}"
    );
    let err = refusal(&without.replacen("://", "://:wrong-password@", 1)).await;
    assert!(
        err.contains("WRONGPASS") || err.contains("AuthenticationFailed"),
        "a wrong password is refused: {err}"
    );
    let mut conn = redis(&with_password).await;
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .expect("ping");
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn redis_is_bounded_and_evicts_only_keys_with_a_ttl() {
    let (url, _) = redis_urls();
    let conn = redis(&url).await;
    let config = |name: &'static str| {
        let mut conn = conn.clone();
        async move {
            let pair: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg(name)
                .query_async(&mut conn)
                .await
                .expect("config get");
            pair.get(1).cloned().expect("a value")
        }
    };
    assert_eq!(config("maxmemory-policy").await, "volatile-lru");
    let maxmemory: u64 = config("maxmemory").await.parse().expect("bytes");
    assert!(maxmemory > 0, "maxmemory is set");
    let configured = env("INVENTORY_REDIS_MAXMEMORY").to_lowercase();
    let expected: u64 = match configured.strip_suffix("mb") {
        Some(mb) => mb.parse::<u64>().expect("a size") * 1024 * 1024,
        None => configured.parse().unwrap_or(maxmemory),
    };
    assert_eq!(maxmemory, expected, "maxmemory is REDIS_MAXMEMORY");
}

/// The environment of the stack's process `name`.
fn environment(name: &str) -> Vec<String> {
    let pid = recorded_pid(&state_dir(), name);
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("environ of an instance");
    raw.split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn has(environment: &[String], name: &str) -> bool {
    environment
        .iter()
        .any(|v| v.starts_with(&format!("{name}=")))
}

#[test]
fn only_auth_receives_the_admin_password_and_the_signing_key() {
    let auth = environment("auth-1");
    assert!(has(&auth, "INVENTORY_ADMIN_PASSWORD"));
    assert!(has(&auth, "INVENTORY_JWT_PRIVATE_KEY_FILE"));
    for name in ["catalog-1", "stock-1", "ledger-1"] {
        let environment = environment(name);
        for secret in [
            "INVENTORY_ADMIN_PASSWORD",
            "INVENTORY_JWT_PRIVATE_KEY_FILE",
            "INVENTORY_PG_SUPER_URL",
            "INVENTORY_PG_AUTH_PASSWORD",
        ] {
            assert!(!has(&environment, secret), "{name} does not get {secret}");
        }
        assert!(has(&environment, "DATABASE_URL"), "{name} gets its own URL");
    }
    assert!(!has(&auth, "INVENTORY_PG_SUPER_URL"));
}

#[test]
fn state_files_with_secrets_are_readable_by_their_owner_only() {
    let state = state_dir();
    for file in [
        "secrets.env",
        "stack.env",
        "keys/jwt-private.pem",
        "redis/redis.conf",
    ] {
        let mode = std::fs::metadata(state.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} has mode {:o}", mode & 0o777);
    }
}

#[test]
fn every_port_of_the_stack_is_outside_the_ephemeral_range() {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .expect("the ephemeral port range");
    let bounds: Vec<u32> = range
        .split_whitespace()
        .map(|p| p.parse().expect("a port"))
        .collect();
    let port_of = |url: &str| -> u32 {
        url.trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port")
    };
    let mut ports = vec![
        (
            "PostgreSQL".to_owned(),
            env("INVENTORY_PG_PORT").parse().expect("a port"),
        ),
        ("Redis".to_owned(), port_of(&env("REDIS_URL"))),
        ("gateway".to_owned(), port_of(&env("GATEWAY_URL"))),
    ];
    for svc in ["auth", "catalog", "stock", "ledger"] {
        for port in env(&format!("INVENTORY_{}_PORTS", svc.to_uppercase())).split(',') {
            ports.push((svc.to_owned(), port.trim().parse().expect("a port")));
        }
    }
    for (what, port) in ports {
        assert!(
            port < bounds[0] || port > bounds[1],
            "{what} listens on {port}, inside the ephemeral range {}-{}",
            bounds[0],
            bounds[1]
        );
    }
}
