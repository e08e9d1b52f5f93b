//! Accepting connections and serving HTTP/1.1 on each, with the limits
//! that keep slow or numerous clients from holding the server: a cap on
//! open connections, a deadline for the TLS handshake and for each
//! request's headers, a bound on the header size, and an idle timeout.
//!
//! Each connection is watched by hyper's graceful shutdown, so at shutdown
//! a connection finishes the response it is writing and then closes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::TlsAcceptor;

use super::front::Front;
use super::idle::Idle;
use super::settings::Limits;

/// Serve one accepted connection until it closes; `permit` holds its place
/// under the connection cap until then.
pub(crate) async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    front: Arc<Front>,
    limits: Limits,
    watcher: Watcher,
    permit: OwnedSemaphorePermit,
) {
    let _permit = permit;
    // Small JSON-RPC answers should not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let io = Idle::new(tcp, limits.idle_timeout);
    match tls {
        None => http(io, peer, front, limits, watcher).await,
        Some(acceptor) => {
            match tokio::time::timeout(limits.header_timeout, acceptor.accept(io)).await {
                Ok(Ok(stream)) => http(stream, peer, front, limits, watcher).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn http<T>(io: T, peer: SocketAddr, front: Arc<Front>, limits: Limits, watcher: Watcher)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let front = front.clone();
        async move { Ok::<_, Infallible>(front.handle(request, peer).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(connection).await {
        // Timeouts, resets and malformed requests end here: the client's
        // problem, not the server's.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
