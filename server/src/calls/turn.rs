//! ICE servers for clients: STUN addresses, and TURN addresses with short-lived credentials in
//! the TURN REST API scheme that coturn accepts with `use-auth-secret`: the username is
//! `<expiry unix seconds>:<user id>` and the password is base64(HMAC-SHA1(secret, username)).
//! The TURN server checks the HMAC with the same shared secret and refuses expired usernames,
//! so the Natter server never has to tell it about users.

use base64::Engine;
use hmac::{Hmac, Mac};
use natter_protocol::{IceServer, IceServers, Timestamp, UserId};
use sha1::Sha1;

/// TURN REST credentials for `user`, valid for `ttl_seconds` from `now` (milliseconds).
pub fn turn_credentials(
    secret: &str,
    user: UserId,
    now: Timestamp,
    ttl_seconds: u64,
) -> (String, String, Timestamp) {
    let expires_at_seconds = now.div_euclid(1000) + ttl_seconds as i64;
    let username = format!("{expires_at_seconds}:{user}");
    let credential = rest_password(secret, &username);
    (username, credential, expires_at_seconds * 1000)
}

/// The TURN password of a REST username: base64(HMAC-SHA1(secret, username)).
pub fn rest_password(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What to tell a client: STUN servers as they are, TURN servers with fresh credentials when a
/// secret is configured (TURN without credentials is useless, so it is left out otherwise).
pub fn ice_servers(
    stun_urls: &[String],
    turn_urls: &[String],
    turn_secret: Option<&str>,
    ttl_seconds: u64,
    user: UserId,
    now: Timestamp,
) -> IceServers {
    let mut servers = Vec::new();
    if !stun_urls.is_empty() {
        servers.push(IceServer {
            urls: stun_urls.to_vec(),
            username: None,
            credential: None,
        });
    }
    let mut expires_at = None;
    if let (false, Some(secret)) = (turn_urls.is_empty(), turn_secret) {
        let (username, credential, expiry) = turn_credentials(secret, user, now, ttl_seconds);
        expires_at = Some(expiry);
        servers.push(IceServer {
            urls: turn_urls.to_vec(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    IceServers {
        ice_servers: servers,
        expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "0190a8f2-5c1e-7b3a-9d4f-2e6b8c0a1f01";

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        let user: UserId = ALICE.parse().unwrap();
        // Expected value computed independently (Python's hmac module).
        let (username, credential, expires_at) =
            turn_credentials("north-wind-secret", user, 1_720_000_000_123, 3600);
        assert_eq!(username, format!("1720003600:{ALICE}"));
        assert_eq!(credential, "CHJuBLZGKwcpmkWB8sTUGrFMbII=");
        assert_eq!(expires_at, 1_720_003_600_000);
    }

    #[test]
    fn turn_is_offered_only_with_a_secret() {
        let user: UserId = ALICE.parse().unwrap();
        let stun = vec!["stun:turn.example.org:3478".to_owned()];
        let turn = vec!["turn:turn.example.org:3478?transport=udp".to_owned()];
        let without = ice_servers(&stun, &turn, None, 3600, user, 0);
        assert_eq!(without.ice_servers.len(), 1);
        assert_eq!(without.ice_servers[0].username, None);
        assert_eq!(without.expires_at, None);
        let with = ice_servers(&stun, &turn, Some("s"), 3600, user, 0);
        assert_eq!(with.ice_servers.len(), 2);
        assert_eq!(with.ice_servers[1].urls, turn);
        assert!(with.ice_servers[1].credential.is_some());
        assert_eq!(with.expires_at, Some(3_600_000));
    }
}
