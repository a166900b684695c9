//! Serving HTTP on accepted sockets: one hyper connection per socket (HTTP/1.1 only, or HTTP/1.1
//! plus HTTP/2 detected from the preface, over TCP or TLS), with the peer address, the TLS session
//! and a handle that can tear the connection down (with a TCP reset) given to every request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::TlsInfo;

/// A handshake that has not finished by then is dropped, so stuck clients cost nothing.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP versions a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocols {
    /// HTTP/1.x only, like Go's plain `ListenAndServe`.
    Http1,
    /// HTTP/1.x and HTTP/2 (prior knowledge in cleartext, or after ALPN over TLS).
    Auto,
}

/// Per-connection facts, inserted into every request's extensions.
#[derive(Clone, Debug)]
pub struct Conn {
    /// The client's address.
    pub remote: SocketAddr,
    /// The TLS session, on TLS listeners.
    pub tls: Option<Arc<TlsInfo>>,
    /// Ends the connection without an answer.
    pub abort: Abort,
}

/// Ends a connection from inside a handler, as Go's hijack-and-close does.
#[derive(Clone, Debug)]
pub struct Abort(Arc<AbortInner>);

#[derive(Debug)]
struct AbortInner {
    /// A duplicate of the socket's descriptor: socket options set on it apply to the connection,
    /// and it is dropped when the connection ends.
    socket: Mutex<Option<socket2::Socket>>,
    fired: Notify,
}

impl Abort {
    fn new(tcp: &TcpStream) -> Self {
        Abort(Arc::new(AbortInner {
            socket: Mutex::new(socket2::SockRef::from(tcp).try_clone().ok()),
            fired: Notify::new(),
        }))
    }

    /// Closes the connection with `SO_LINGER` 0, so the client sees a TCP RST.
    pub fn reset(&self) {
        if let Some(s) = self
            .0
            .socket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            // Best effort: without it the client sees a plain close, still a failure.
            let _ = s.set_linger(Some(Duration::ZERO));
        }
        self.0.fired.notify_one();
    }

    /// Closes the connection without answering (a plain FIN).
    pub fn close(&self) {
        self.0.fired.notify_one();
    }

    fn release(&self) {
        self.0
            .socket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// Accepts connections forever and serves `app` on each, over TLS when `tls` is given.
pub async fn serve_http(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    protocols: Protocols,
    app: Router,
) -> std::io::Error {
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return e,
        };
        let (tls, app) = (tls.clone(), app.clone());
        tokio::spawn(async move {
            let abort = Abort::new(&tcp);
            match tls {
                None => {
                    let conn = Conn {
                        remote,
                        tls: None,
                        abort,
                    };
                    serve_connection(tcp, conn, protocols, app).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(s)) => s,
                            _ => return,
                        };
                    let info = TlsInfo::from_connection(stream.get_ref().1);
                    let conn = Conn {
                        remote,
                        tls: Some(Arc::new(info)),
                        abort,
                    };
                    serve_connection(stream, conn, protocols, app).await
                }
            }
        });
    }
}

/// Errors of `accept` that concern one connection or a passing shortage, not the listener.
pub(crate) fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || e.raw_os_error().is_some_and(|c| c == 23 || c == 24) // ENFILE, EMFILE
}

async fn serve_connection<IO>(io: IO, conn: Conn, protocols: Protocols, app: Router)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let abort = conn.abort.clone();
    let svc = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(conn.remote));
        req.extensions_mut().insert(conn.clone());
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let svc = TowerToHyperService::new(svc);
    let io = TokioIo::new(io);
    // Errors end only their own connection (client resets, malformed requests): nothing to report.
    let served: Pin<Box<dyn Future<Output = ()> + Send>> = match protocols {
        Protocols::Http1 => Box::pin(async move {
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
            let _ = conn.with_upgrades().await;
        }),
        Protocols::Auto => Box::pin(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection_with_upgrades(io, svc).await;
        }),
    };
    tokio::select! {
        _ = served => {}
        _ = abort.0.fired.notified() => {}
    }
    // The connection is gone (or dropped just above); closing the duplicate descriptor last makes
    // the kernel send the RST when `reset` set SO_LINGER 0.
    abort.release();
}
