//! The embedded STUN/TURN listener (UDP), so a self-hoster needs nothing else for calls across
//! NATs. It answers STUN binding requests to anyone and allocates relays to users holding the
//! TURN REST credentials that `GET /api/calls/ice-servers` hands out (the same scheme and
//! secret coturn's `use-auth-secret` checks, so moving to coturn is configuration only).
//!
//! A relay forwards only to public addresses unless told otherwise: otherwise anyone with an
//! account could use it to send packets to the server's own loopback or private network.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use tokio::net::UdpSocket;
use turn::{
    auth::{AuthHandler, generate_auth_key},
    relay::{RelayAddressGenerator, relay_range::RelayAddressGeneratorRanges},
    server::{
        Server,
        config::{ConnConfig, ServerConfig},
    },
};
use webrtc_util::{Conn, vnet::net::Net};

use crate::calls::turn::rest_password;

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub listen: SocketAddr,
    /// The address peers and clients reach this machine at (advertised in relay candidates).
    pub public_ip: IpAddr,
    pub min_port: u16,
    pub max_port: u16,
    pub secret: String,
    pub realm: String,
    /// Let relays send to loopback and private addresses (tests on one machine; a LAN-only
    /// deployment).
    pub allow_private_peers: bool,
}

/// Checks TURN REST credentials: an unexpired `<expiry>:<user>` username whose password is
/// the HMAC of the shared secret.
struct RestAuth {
    secret: String,
}

impl AuthHandler for RestAuth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        _source: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        let expiry: u64 = username
            .split(':')
            .next()
            .and_then(|expiry| expiry.parse().ok())
            .ok_or_else(|| turn::Error::Other("not a TURN REST username".into()))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if expiry < now {
            return Err(turn::Error::Other("expired TURN credentials".into()));
        }
        let password = rest_password(&self.secret, username);
        Ok(generate_auth_key(username, realm, &password))
    }
}

/// Whether a relay may send to `address`.
fn public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

/// A relay socket that refuses to send to non-public addresses.
struct PublicOnly(Arc<dyn Conn + Send + Sync>);

#[async_trait::async_trait]
impl Conn for PublicOnly {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        self.0.connect(addr).await
    }
    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        self.0.recv(buf).await
    }
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        self.0.recv_from(buf).await
    }
    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.0.send(buf).await
    }
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !public(target.ip()) {
            return Err(webrtc_util::Error::Other(format!(
                "relaying to {target} is not allowed"
            )));
        }
        self.0.send_to(buf, target).await
    }
    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.0.local_addr()
    }
    fn remote_addr(&self) -> Option<SocketAddr> {
        self.0.remote_addr()
    }
    async fn close(&self) -> webrtc_util::Result<()> {
        self.0.close().await
    }
    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

struct Relays {
    ports: RelayAddressGeneratorRanges,
    allow_private_peers: bool,
}

#[async_trait::async_trait]
impl RelayAddressGenerator for Relays {
    fn validate(&self) -> Result<(), turn::Error> {
        self.ports.validate()
    }

    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let (conn, address) = self.ports.allocate_conn(use_ipv4, requested_port).await?;
        if self.allow_private_peers {
            return Ok((conn, address));
        }
        Ok((Arc::new(PublicOnly(conn)), address))
    }
}

/// The running listener; [`Relay::close`] stops it and frees every relay.
pub struct Relay {
    server: Server,
    local_addr: SocketAddr,
}

impl Relay {
    pub async fn start(config: RelayConfig) -> anyhow::Result<Relay> {
        let socket = UdpSocket::bind(config.listen)
            .await
            .with_context(|| format!("could not listen for STUN/TURN on {}", config.listen))?;
        let local_addr = socket.local_addr()?;
        let bind_ip = if config.listen.ip().is_unspecified() {
            config.listen.ip()
        } else {
            config.public_ip
        };
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(socket),
                relay_addr_generator: Box::new(Relays {
                    ports: RelayAddressGeneratorRanges {
                        relay_address: config.public_ip,
                        min_port: config.min_port,
                        max_port: config.max_port,
                        max_retries: 0,
                        address: bind_ip.to_string(),
                        net: Arc::new(Net::new(None)),
                    },
                    allow_private_peers: config.allow_private_peers,
                }),
            }],
            realm: config.realm,
            auth_handler: Arc::new(RestAuth {
                secret: config.secret,
            }),
            // Zero means the library's default (10 minutes).
            channel_bind_timeout: Duration::ZERO,
            alloc_close_notify: None,
        })
        .await
        .context("could not start the TURN server")?;
        tracing::info!(%local_addr, public_ip = %config.public_ip, "STUN/TURN listening");
        Ok(Relay { server, local_addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub async fn close(&self) {
        if let Err(error) = self.server.close().await {
            tracing::warn!(%error, "closing the TURN server");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_reach_only_public_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "172.16.5.4",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(!public(private.parse().expect("an address")), "{private}");
        }
        for open in ["203.0.113.0", "8.8.8.8", "2606:4700::1111"] {
            // 203.0.113.0/24 is documentation space: refused too.
            let allowed = public(open.parse().expect("an address"));
            assert_eq!(allowed, open != "203.0.113.0", "{open}");
        }
    }

    #[test]
    fn only_fresh_credentials_made_with_the_secret_pass() {
        let auth = RestAuth {
            secret: "a shared secret for the relay".into(),
        };
        let source: SocketAddr = "198.51.100.7:5000".parse().expect("an address");
        let future = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
            + 600;
        let username = format!("{future}:0190a8f2-5c1e-7b3a-9d4f-2e6b8c0a1f01");
        let key = auth
            .auth_handle(&username, "natter", source)
            .expect("fresh credentials pass");
        let password = rest_password("a shared secret for the relay", &username);
        assert_eq!(key, generate_auth_key(&username, "natter", &password));
        assert!(
            auth.auth_handle("1000:someone", "natter", source).is_err(),
            "expired"
        );
        assert!(auth.auth_handle("someone", "natter", source).is_err());
    }
}
