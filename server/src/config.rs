//! Server configuration: flags, environment variables, and defaults that need no setup at all.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;
use natter_protocol::SignupMode;

/// Every flag and environment variable of the server (`console::Cli` adds the subcommands).
#[derive(Debug, Clone, Parser)]
#[command(name = "natter-server", version, about, long_about = None)]
pub struct Config {
    /// Address and port to listen on. Use 0.0.0.0:8080 to accept connections from other machines
    /// (put a TLS-terminating reverse proxy in front when exposed to the internet).
    #[arg(long, env = "NATTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the server's data: the SQLite database (when no --database-url is given).
    /// Created if missing.
    #[arg(long, env = "NATTER_DATA_DIR", default_value = "natter-data")]
    pub data_dir: PathBuf,

    /// Database to use instead of the embedded SQLite file, e.g.
    /// postgres://natter:secret@db.example/natter or sqlite:///var/lib/natter/natter.db?mode=rwc
    /// (`mode=rwc` creates the file if it does not exist).
    /// Read from the environment or flag only; never logged.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "NATTER_DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: u32,

    /// Sign-up and log-in attempts allowed per client IP address per minute (bursts up to this
    /// many). 0 disables the limit: only for load tests on a private network.
    #[arg(
        long,
        env = "NATTER_AUTH_ATTEMPTS_PER_IP_PER_MINUTE",
        default_value_t = 20
    )]
    pub auth_attempts_per_ip_per_minute: u32,

    /// Log-in attempts allowed per account per minute (bursts up to this many). 0 disables it.
    #[arg(
        long,
        env = "NATTER_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
        default_value_t = 10
    )]
    pub login_attempts_per_account_per_minute: u32,

    /// Who may create an account: `open` (anyone who can reach the server), `invite` (only with
    /// an invite code from an admin, or from a user when --users-can-invite) or `closed` (only
    /// `natter-server admin create-user`). Invite-only unless told otherwise, so a server put
    /// on the internet is not open to everyone by surprise.
    #[arg(long, env = "NATTER_SIGNUP", default_value = "invite", value_parser = parse_signup_mode)]
    pub signup: SignupMode,

    /// Let every user, not only admins, create invites.
    #[arg(long, env = "NATTER_USERS_CAN_INVITE", value_parser = clap::builder::BoolishValueParser::new())]
    pub users_can_invite: bool,

    /// Messages one user may send per minute (bursts up to this many); more get
    /// `rate_limited` with Retry-After, which clients wait out. 0 disables the limit.
    #[arg(long, env = "NATTER_USER_MESSAGES_PER_MINUTE", default_value_t = 120)]
    pub user_messages_per_minute: u32,

    /// Calls one user may place per minute; more are refused with `rate_limited`. 0 disables
    /// the limit.
    #[arg(long, env = "NATTER_USER_CALLS_PER_MINUTE", default_value_t = 10)]
    pub user_calls_per_minute: u32,

    /// Take the client address for rate limiting from the X-Forwarded-For header set by a
    /// reverse proxy. Only enable this when every request comes through such a proxy.
    #[arg(long, env = "NATTER_TRUST_FORWARDED_FOR", value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_forwarded_for: bool,

    /// Seconds between WebSocket pings. A connection that answers nothing for three intervals
    /// is closed and its user may go offline.
    #[arg(long, env = "NATTER_HEARTBEAT_SECONDS", default_value_t = 10.0)]
    pub heartbeat_seconds: f64,

    /// Frames queued for one WebSocket before its client counts as too slow and is
    /// disconnected (it resumes from its cursors when it reconnects).
    #[arg(long, env = "NATTER_WS_QUEUE_FRAMES", default_value_t = 1024)]
    pub ws_queue_frames: usize,

    /// Largest file a user may send, in bytes (a larger upload is refused before any byte is
    /// read).
    #[arg(long, env = "NATTER_MAX_FILE_BYTES", default_value_t = natter_protocol::limits::UPLOAD_DEFAULT_MAX_BYTES)]
    pub max_file_bytes: u64,

    /// Bytes of files one user may keep on the server (sent or not, and uploads in progress).
    #[arg(long, env = "NATTER_USER_QUOTA_BYTES", default_value_t = 10 * 1024 * 1024 * 1024)]
    pub user_quota_bytes: u64,

    /// Where files' bytes go: `s3://bucket/prefix` for an S3-compatible store shared by several
    /// nodes (endpoint, region and credentials from `AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`; `AWS_ALLOW_HTTP=true` for a plain-HTTP
    /// endpoint). Default: `files/` in the data directory.
    #[arg(long, env = "NATTER_FILE_STORE")]
    pub file_store: Option<url::Url>,

    /// Options for `--file-store` besides the `AWS_*` variables (embedders and tests).
    #[arg(skip)]
    pub file_store_options: Vec<(String, String)>,

    /// Most events replayed per conversation when a client resumes; beyond that the client
    /// is told to reload the conversation through the REST API.
    #[arg(long, env = "NATTER_RESUME_BACKLOG_LIMIT", default_value_t = 1000)]
    pub resume_backlog_limit: i64,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "NATTER_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub log_json: bool,

    /// STUN server handed to clients for calls, e.g. stun:turn.example.org:3478 (repeat the
    /// flag, or separate with commas in the environment variable).
    #[arg(
        long = "stun-url",
        env = "NATTER_STUN_URLS",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub stun_urls: Vec<String>,

    /// TURN server handed to clients for calls, e.g. turn:turn.example.org:3478?transport=udp
    /// (repeatable). Offered only with --turn-secret.
    #[arg(
        long = "turn-url",
        env = "NATTER_TURN_URLS",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub turn_urls: Vec<String>,

    /// Secret shared with the TURN server (coturn: `use-auth-secret` with the same
    /// `static-auth-secret`). Clients get credentials derived from it, never the secret.
    #[arg(long, env = "NATTER_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<Secret>,

    /// How long the TURN credentials given to a client stay valid, in seconds.
    #[arg(
        long,
        env = "NATTER_TURN_CREDENTIAL_TTL_SECONDS",
        default_value_t = 21_600
    )]
    pub turn_credential_ttl_seconds: u64,

    /// Run the embedded STUN/TURN listener on this UDP address (e.g. 0.0.0.0:3478). Without
    /// --stun-url/--turn-url, clients are then pointed at it; without --turn-secret, a random
    /// secret is made at start.
    #[arg(long, env = "NATTER_TURN_LISTEN", value_name = "ADDR")]
    pub turn_listen: Option<std::net::SocketAddr>,

    /// The address clients and peers reach this machine at, advertised for the embedded
    /// listener and its relays (default: the --turn-listen address, if it is not 0.0.0.0).
    #[arg(long, env = "NATTER_TURN_PUBLIC_IP", value_name = "IP")]
    pub turn_public_ip: Option<std::net::IpAddr>,

    /// UDP ports the embedded TURN listener relays on (open them in the firewall).
    #[arg(long, env = "NATTER_TURN_MIN_PORT", default_value_t = 49_152)]
    pub turn_min_port: u16,
    #[arg(long, env = "NATTER_TURN_MAX_PORT", default_value_t = 65_535)]
    pub turn_max_port: u16,

    /// Let the embedded relays send to loopback and private addresses. Off by default: an
    /// account holder could otherwise reach services on the server's own network.
    #[arg(long, env = "NATTER_TURN_ALLOW_PRIVATE_PEERS", value_parser = clap::builder::BoolishValueParser::new())]
    pub turn_allow_private_peers: bool,

    /// How long a call rings before it ends as missed, in seconds.
    #[arg(long, env = "NATTER_CALL_RING_SECONDS", default_value_t = 30.0)]
    pub call_ring_seconds: f64,

    /// How long a device in a call may lose its connection to the server before the call ends
    /// as failed, in seconds (the media may still flow meanwhile: it is peer to peer).
    #[arg(
        long,
        env = "NATTER_CALL_OFFLINE_GRACE_SECONDS",
        default_value_t = 15.0
    )]
    pub call_offline_grace_seconds: f64,

    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection is kept, and how long a request body may pause. A connection
    /// that sends nothing, or only part of a request, is closed after this.
    #[arg(long, env = "NATTER_CLIENT_TIMEOUT_SECONDS", default_value_t = 15.0)]
    pub client_timeout_seconds: f64,

    /// Open connections (WebSockets included) allowed from one client address; further ones
    /// are closed at once. 0 removes the cap. Default: 256, or no cap with
    /// --trust-forwarded-for (behind a proxy every connection comes from the proxy's address:
    /// let the proxy limit clients).
    #[arg(long, env = "NATTER_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,

    /// Web origins allowed to open the realtime WebSocket from a browser, comma-separated
    /// (e.g. https://chat.example.org). The desktop app's own origins and the server's own
    /// origin are always allowed, and clients that send no Origin (native apps) are not
    /// affected.
    #[arg(long, env = "NATTER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Folder of desktop app releases this server offers its users' apps (`latest.json`, the
    /// installers and their signatures; docs/operations.md, "Desktop app updates"). Without it
    /// the apps are told there is nothing newer.
    #[arg(long, env = "NATTER_UPDATES_DIR", value_name = "DIR")]
    pub updates_dir: Option<PathBuf>,
}

/// An SQLite URL that opens (and creates) the file at `path`, whatever the path holds: every
/// byte but letters and digits is percent-encoded, which sqlx decodes back. Formatting the
/// path into the URL as is broke on Windows (`sqlite://C:\…` reads as a host and a port) and
/// on any system for a folder with `?` or `%` in its name.
fn sqlite_url(path: &std::path::Path) -> String {
    let path = path.to_string_lossy();
    let encoded = percent_encoding::utf8_percent_encode(&path, percent_encoding::NON_ALPHANUMERIC);
    format!("sqlite:{encoded}?mode=rwc")
}

fn parse_signup_mode(text: &str) -> Result<SignupMode, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "open" => Ok(SignupMode::Open),
        "invite" => Ok(SignupMode::Invite),
        "closed" => Ok(SignupMode::Closed),
        _ => Err("use open, invite or closed".to_owned()),
    }
}

/// Connections one address may hold when the operator says nothing and no proxy is in front.
const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

/// Seconds from a flag as milliseconds, between 50 ms and a day.
fn clamped_millis(seconds: f64) -> i64 {
    (seconds.clamp(0.05, 86_400.0) * 1000.0) as i64
}

/// A secret from the command line or environment: usable, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() < 16 {
            return Err("use at least 16 characters".to_owned());
        }
        Ok(Secret(text.to_owned()))
    }
}

impl Config {
    /// The database to open: the given URL, or the embedded SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => sqlite_url(&self.data_dir.join("natter.db")),
        }
    }

    /// How long a call rings before it ends as missed, in milliseconds (for the referee).
    pub fn call_ring_timeout_ms(&self) -> i64 {
        clamped_millis(self.call_ring_seconds)
    }

    /// How long a device in a call may be offline before the call ends, in milliseconds.
    pub fn call_offline_grace_ms(&self) -> i64 {
        clamped_millis(self.call_offline_grace_seconds)
    }

    /// Open connections allowed from one client address (0: no cap): the flag, or the default
    /// that fits whether a proxy is in front.
    pub fn effective_max_connections_per_ip(&self) -> usize {
        self.max_connections_per_ip
            .unwrap_or(if self.trust_forwarded_for {
                0
            } else {
                DEFAULT_MAX_CONNECTIONS_PER_IP
            })
    }

    pub fn client_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.client_timeout_seconds.clamp(0.05, 3600.0))
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs_f64(self.heartbeat_seconds.clamp(0.05, 3600.0))
    }

    /// Defaults suitable for tests and embedding: everything as with no flags, but listening on
    /// an ephemeral loopback port with data in `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["natter-server"]);
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir.into();
        config.database_url = None;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_database_url_keeps_any_path_intact() {
        for path in [
            "/var/lib/natter/natter.db",
            "/tmp/odd ?#%20&=; names/natter.db",
            r"C:\Users\Zoë\AppData\Roaming\natter\natter.db",
            "relative dir/natter.db",
        ] {
            let url = sqlite_url(std::path::Path::new(path));
            let parsed = url::Url::parse(&url).unwrap_or_else(|error| panic!("{url}: {error}"));
            assert_eq!(parsed.scheme(), "sqlite");
            assert_eq!(parsed.query(), Some("mode=rwc"), "{url}");
            let decoded = percent_encoding::percent_decode_str(parsed.path())
                .decode_utf8()
                .expect("UTF-8");
            assert_eq!(decoded, path, "{url}");
        }
    }
}
