//! gRPC mode: the `GrpcEcho` service (Echo and EchoTwo tell the caller what the server saw,
//! EchoThree is unimplemented) with server reflection, in cleartext HTTP/2 on `HTTP_PORT` and over
//! TLS on `HTTPS_PORT`.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::metadata::KeyAndValueRef;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use crate::config::Config;
use crate::grpcecho::grpc_echo_server::{GrpcEcho, GrpcEchoServer};
use crate::grpcecho::{Assertions, Context as EchoContext, EchoRequest, EchoResponse, Header};
use crate::grpcecho::{TlsAssertions, FILE_DESCRIPTOR_SET};
use crate::serve::is_transient;
use crate::tls::{self, TlsInfo};
use crate::{bind_tcp, log_line, Error, Identity};

/// Metadata keys grpc-go keeps out of the incoming metadata (transport-level headers).
const RESERVED: &[&str] = &[
    "te",
    "grpc-encoding",
    "grpc-message",
    "grpc-message-type",
    "grpc-status",
    "grpc-status-details-bin",
    "grpc-timeout",
];

/// The `:path` and `:authority` of a call, copied from the request URI: tonic's metadata has no
/// pseudo-headers and its server code records no method.
#[derive(Clone, Debug)]
struct Call {
    path: String,
    authority: Option<String>,
}

/// The echo service of one process.
#[derive(Clone, Debug)]
pub struct EchoService {
    identity: Identity,
}

impl EchoService {
    /// A service answering with this identity.
    pub fn new(identity: Identity) -> Self {
        EchoService { identity }
    }

    fn answer(&self, req: &Request<EchoRequest>) -> EchoResponse {
        let call = req.extensions().get::<Call>();
        let method = call.map(|c| c.path.clone()).unwrap_or_default();
        let tls = req.extensions().get::<Arc<TlsInfo>>();
        let over = if tls.is_some() { "TLS" } else { "plaintext" };
        log_line(format!(
            "Received over {over}: {method} {:?}",
            req.get_ref()
        ));
        let authority = call.and_then(|c| c.authority.clone());
        let mut headers: Vec<Header> = authority
            .iter()
            .map(|a| Header {
                key: ":authority".into(),
                value: a.clone(),
            })
            .collect();
        for entry in req.metadata().iter() {
            let (key, value) = match entry {
                KeyAndValueRef::Ascii(k, v) => (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_encoded_bytes()).into_owned(),
                ),
                KeyAndValueRef::Binary(k, v) => (
                    k.as_str().to_string(),
                    v.to_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default(),
                ),
            };
            if !RESERVED.contains(&key.as_str()) {
                headers.push(Header { key, value });
            }
        }
        EchoResponse {
            assertions: Some(Assertions {
                fully_qualified_method: method,
                headers,
                authority: authority.unwrap_or_default(),
                context: Some(EchoContext {
                    namespace: self.identity.namespace.clone(),
                    ingress: self.identity.ingress.clone(),
                    service_name: self.identity.service.clone(),
                    pod: self.identity.pod.clone(),
                }),
                tls_assertions: tls.map(|t| TlsAssertions {
                    version: t.version_http(),
                    negotiated_protocol: t.negotiated_protocol.clone(),
                    server_name: t.server_name.clone(),
                    cipher_suite: t.cipher_suite_go(),
                    peer_certificates: t.peer_certificates_pem(),
                }),
            }),
            request: None,
        }
    }
}

#[tonic::async_trait]
impl GrpcEcho for EchoService {
    async fn echo(&self, req: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(self.answer(&req)))
    }

    async fn echo_two(&self, req: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(self.answer(&req)))
    }

    async fn echo_three(
        &self,
        _req: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Err(Status::unimplemented("method EchoThree not implemented"))
    }
}

/// A server-side TLS stream that hands its session to every call as a request extension.
struct TlsConn {
    stream: TlsStream<TcpStream>,
    info: Arc<TlsInfo>,
}

impl Connected for TlsConn {
    type ConnectInfo = Arc<TlsInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The tonic router: the echo service and reflection (v1 and v1alpha), `:authority` captured.
type EchoRouter = tonic::transport::server::Router<
    tower::layer::util::Stack<CallLayer, tower::layer::util::Identity>,
>;

fn router(identity: Identity) -> Result<EchoRouter, Error> {
    let reflection = |e: tonic_reflection::server::Error| Error::Serve {
        what: "gRPC reflection".into(),
        message: e.to_string(),
    };
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection)?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection)?;
    Ok(tonic::transport::Server::builder()
        .layer(CallLayer)
        .add_service(GrpcEchoServer::new(EchoService::new(identity)))
        .add_service(v1)
        .add_service(v1alpha))
}

/// Records each call's path and authority as a request extension.
#[derive(Clone, Copy, Debug)]
pub struct CallLayer;

impl<S> tower::Layer<S> for CallLayer {
    type Service = tower::util::MapRequest<S, fn(GrpcHttpRequest) -> GrpcHttpRequest>;

    fn layer(&self, inner: S) -> Self::Service {
        tower::util::MapRequest::new(inner, capture_call)
    }
}

type GrpcHttpRequest = axum::http::Request<tonic::body::Body>;

fn capture_call(mut req: GrpcHttpRequest) -> GrpcHttpRequest {
    let call = Call {
        path: req.uri().path().to_string(),
        authority: req.uri().authority().map(|a| a.to_string()),
    };
    req.extensions_mut().insert(call);
    req
}

/// Runs echo-basic's gRPC mode: cleartext on `HTTP_PORT`, TLS on `HTTPS_PORT` when
/// `TLS_SERVER_CERT` and `TLS_SERVER_PRIV_KEY` are set.
pub async fn run(ip: IpAddr, config: &Config) -> Result<(), Error> {
    let http = config.port("HTTP_PORT", 3000)?;
    let https = config.port("HTTPS_PORT", 8443)?;
    let tls = match config.tls_files("TLS_SERVER_PRIV_KEY", true) {
        Some(files) => Some(tls::server_config(&files, &[b"h2"])?),
        None => None,
    };
    let identity = config.identity();
    let plain = bind_tcp(ip, http.number).await?;
    log_line(format!("Starting gRPC server on {ip}:{}", http.number));
    let failed = |what: &str, e: tonic::transport::Error| Error::Serve {
        what: what.into(),
        message: e.to_string(),
    };
    let cleartext = router(identity.clone())?.serve_with_incoming(TcpListenerStream::new(plain));
    let Some(tls) = tls else {
        return cleartext.await.map_err(|e| failed("gRPC", e));
    };
    let listener = bind_tcp(ip, https.number).await?;
    log_line(format!("Starting gRPC TLS server on {ip}:{}", https.number));
    let secure =
        router(identity)?.serve_with_incoming(tls_incoming(listener, TlsAcceptor::from(tls)));
    tokio::select! {
        r = cleartext => r.map_err(|e| failed("gRPC", e)),
        r = secure => r.map_err(|e| failed("gRPC TLS", e)),
    }
}

/// Accepted connections after their TLS handshake, each handshake on its own task.
fn tls_incoming(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
) -> ReceiverStream<Result<TlsConn, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, _remote): (TcpStream, SocketAddr) = match listener.accept().await {
                Ok(c) => c,
                Err(e) if is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let (tx, acceptor) = (tx.clone(), acceptor.clone());
            tokio::spawn(async move {
                let accepted = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
                if let Ok(Ok(stream)) = accepted.await {
                    let info = Arc::new(TlsInfo::from_connection(stream.get_ref().1));
                    let _ = tx.send(Ok(TlsConn { stream, info })).await;
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
