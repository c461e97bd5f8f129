//! One TLS crypto provider for the whole process.
//!
//! reqwest and tokio-tungstenite both use rustls. When more than one rustls crypto backend is
//! compiled in (sqlx or webrtc bring `ring`, reqwest brings `aws-lc-rs`), rustls cannot pick one
//! by itself and the first `wss://` or `https://` connection panics. Installing one explicitly,
//! before any connection, removes the ambiguity.

use std::sync::Once;

pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another part of the process installed one first; that one is used.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}
