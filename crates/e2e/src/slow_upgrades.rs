//! A TCP proxy in front of the server that holds every WebSocket upgrade for a while and
//! passes everything else at once: the app's realtime connection takes that long to come
//! online, as on the slow start of issue 14, while its REST calls are as fast as ever.
//!
//! It runs on a thread and runtime of its own, so that the story's blocking waits (on the
//! `natter` processes' output) never hold it up.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head read before deciding; the app's are far smaller.
const HEAD_LIMIT: usize = 16 * 1024;

pub struct SlowUpgrades {
    /// The address to give the app instead of the server's.
    pub url: String,
    /// Dropped with the proxy: its thread then stops.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl SlowUpgrades {
    /// Listens on a free loopback port and forwards to `server` (`http://host:port`).
    pub fn start(server: &str, delay: Duration) -> Result<Self> {
        let server: SocketAddr = server
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("{server} is not http://<ip>:<port>"))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("the slow-upgrade proxy cannot listen")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("no runtime for the slow-upgrade proxy")?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("slow-upgrades".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        eprintln!("slow-upgrade proxy: the listener does not work with tokio");
                        return;
                    };
                    tokio::select! {
                        () = accept(listener, server, delay) => {}
                        _ = stopped => {}
                    }
                });
            })
            .context("no thread for the slow-upgrade proxy")?;
        Ok(Self { url, _stop: stop })
    }
}

async fn accept(listener: TcpListener, server: SocketAddr, delay: Duration) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                tokio::spawn(async move {
                    // A connection that breaks is the app's to notice, as with the server.
                    let _ = relay(client, server, delay).await;
                });
            }
            Err(error) => eprintln!("slow-upgrade proxy: accept failed: {error}"),
        }
    }
}

/// Reads the first request head; holds a WebSocket upgrade for `delay`; then relays both ways.
async fn relay(mut client: TcpStream, server: SocketAddr, delay: Duration) -> Result<()> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < HEAD_LIMIT {
        let read = client.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    if String::from_utf8_lossy(&head)
        .to_ascii_lowercase()
        .contains("upgrade: websocket")
    {
        tokio::time::sleep(delay).await;
    }
    let mut upstream = TcpStream::connect(server).await?;
    upstream.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
