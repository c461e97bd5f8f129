//! Accepting TCP connections and serving HTTP/1.1 on them, with the limits a server exposed to
//! the internet without a proxy needs: a deadline for a request's headers (which also closes
//! idle keep-alive connections), a cap on open connections per client address, and graceful
//! shutdown. `axum::serve` has none of the first two: a client that connects and sends nothing,
//! or half a request, kept its file descriptor for as long as it liked.
//!
//! HTTP/1.1 only: a reverse proxy terminates TLS and HTTP/2 in front of the server, and the
//! realtime WebSocket is an HTTP/1.1 upgrade.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    pin::{Pin, pin},
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

/// Limits applied to every connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, counted from the end of the
    /// previous response (or from the connection's start): so also how long an idle keep-alive
    /// connection is kept.
    pub header_timeout: Duration,
    /// Open connections (WebSockets included) allowed from one client address; 0 for no cap.
    pub per_address: usize,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then stops accepting, lets
/// requests in progress finish and waits for their connections to close. Upgraded connections
/// (WebSockets) are the application's to close.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let counts = AddressCounts::default();
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // pause briefly instead of spinning on the same error.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = counts.take(peer.ip(), limits.per_address) else {
            tracing::debug!(%peer, "refused a connection: too many from this address");
            // Dropping the stream closes it at once: the cheapest answer to a flood.
            continue;
        };
        // Realtime frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm
        // and delayed ACKs hold some of them back ~40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let stream = Counted {
            stream,
            _slot: slot,
        };
        connections.spawn(serve_connection(
            stream,
            peer,
            app.clone(),
            limits,
            shutdown.clone(),
        ));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

async fn serve_connection(
    stream: Counted,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let service = app.map_request(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut connection = pin!(
        builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades()
    );
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            // Finish the request in progress (if any), then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// Open connections per client address.
#[derive(Clone, Default)]
struct AddressCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl AddressCounts {
    /// A place for one more connection from `address`, unless it has `cap` already.
    fn take(&self, address: IpAddr, cap: usize) -> Option<Slot> {
        let mut counts = self.lock();
        let count = counts.entry(address).or_default();
        if cap != 0 && *count >= cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: self.clone(),
            address,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Only plain counters are behind this lock: a panic elsewhere leaves them usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One connection's place in its address's count, given back when the connection is dropped.
struct Slot {
    counts: AddressCounts,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// A TCP stream that holds its address's slot for as long as it is open: through an upgrade
/// to a WebSocket too, since the upgraded connection owns this stream.
struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_and_slots_come_back_when_dropped() {
        let counts = AddressCounts::default();
        let one = IpAddr::from([192, 0, 2, 1]);
        let other = IpAddr::from([192, 0, 2, 2]);
        let first = counts.take(one, 2).expect("first");
        let _second = counts.take(one, 2).expect("second");
        assert!(counts.take(one, 2).is_none(), "the third is over the cap");
        assert!(
            counts.take(other, 2).is_some(),
            "other addresses are not affected"
        );
        drop(first);
        assert!(
            counts.take(one, 2).is_some(),
            "a closed connection frees its place"
        );
        assert!(counts.take(one, 0).is_some(), "0 means no cap");
    }

    #[test]
    fn counts_are_forgotten_when_an_address_has_no_connection_left() {
        let counts = AddressCounts::default();
        let slot = counts.take(IpAddr::from([192, 0, 2, 1]), 0);
        drop(slot);
        assert!(counts.lock().is_empty());
    }
}
