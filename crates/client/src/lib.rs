//! Natter client core: everything a Natter client does that is not drawing, shared by the
//! desktop app and the `natter` command-line client. No Tauri here.
//!
//! - [`api`]: the REST calls, typed by `natter-protocol`;
//! - [`session`]: the realtime session as a state machine without I/O (reconnect, resume from
//!   cursors, outbox order and retries);
//! - [`sync`]: how an event changes the cached picture of a conversation (pure);
//! - [`cache`]: the account's local SQLite cache and outbox;
//! - [`runtime`]: [`Client`], the task that runs the session over real sockets;
//! - [`view`]: conversations and messages shaped for display;
//! - [`credentials`]: the session token in the OS credential store;
//! - [`call`]: one device's call as a state machine without I/O;
//! - [`calls`]: the task that runs it with the media engine (`natter-media`).

pub mod api;
pub mod cache;
pub mod call;
pub mod calls;
pub mod credentials;
pub mod invites;
pub mod runtime;
pub mod session;
pub mod sync;
pub mod tls;
pub mod view;

pub use api::{Api, ApiError};
pub use credentials::{CredentialError, CredentialStore, StoredSession};
pub use runtime::{Client, ClientError, ClientEvent, ClientOptions};
pub use session::{ConnectionStatus, SessionConfig};
