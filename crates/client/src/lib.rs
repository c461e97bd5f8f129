//! Natter client core: everything a Natter client does that is not drawing, shared by the
//! desktop app and the `natter` command-line client. No Tauri here.
//!
//! - [`api`]: the REST calls, typed by `natter-protocol`;
//! - [`session`]: the realtime session as a state machine without I/O (reconnect, resume from
//!   cursors, outbox order and retries);
//! - [`sync`]: how an event changes the cached picture of a conversation (pure);
//! - [`cache`]: the account's local SQLite cache and outbox;
//! - [`session_shell`]: the task that runs the session over real sockets;
//! - [`client`]: [`Client`], the handle the apps hold (its facade over both tasks);
//! - [`view`]: conversations and messages shaped for display;
//! - [`credentials`]: the session token in the OS credential store;
//! - [`files`]: uploads that resume (tus) and downloads that resume (ranges);
//! - [`call_machine`]: one device's call as a state machine without I/O;
//! - [`call_shell`]: the task that runs it with the media engine (`natter-media`).

mod account_state;
pub mod api;
pub mod cache;
pub mod call_machine;
pub mod call_shell;
pub mod client;
pub mod credentials;
pub mod files;
pub mod invites;
mod outbox_posts;
pub mod session;
pub mod session_shell;
pub mod sync;
pub mod tls;
pub mod view;

pub use api::{Api, ApiError};
pub use client::{Client, ClientError, ClientEvent, ClientOptions};
pub use credentials::{CredentialError, CredentialStore, StoredSession};
pub use session::{ConnectionStatus, SessionConfig};
