//! `gatewright-echo` as a library: the conformance backend `echo-basic` re-implemented (HTTP, h2c,
//! HTTPS, WebSocket, gRPC, TCP, UDP) plus a tiny DNS responder, and the generated gRPC echo types
//! (client and server), so that the conformance harness and tests speak to the backend with the
//! same types it serves.

use std::io::Write;
use std::net::IpAddr;

pub mod config;
pub mod dns;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod serve;
pub mod tcp;
pub mod tls;
pub mod udp;

pub use config::{Config, Mode};
pub use identity::Identity;

/// The `gateway_api_conformance.echo_basic.grpcecho` package: messages, `GrpcEcho` client and server.
pub mod grpcecho {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("gateway_api_conformance.echo_basic.grpcecho");

    /// The encoded `FileDescriptorSet` of `grpcecho.proto`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("grpcecho_descriptor");
}

/// Why the backend could not start or stopped serving; each names the variable, file or address at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An environment variable holds a value that cannot be used.
    #[error("{var}: {value:?} {problem}")]
    BadEnv {
        var: &'static str,
        value: String,
        problem: &'static str,
    },
    /// A file named by an environment variable cannot be read or holds no usable PEM.
    #[error("{var}: {path}: {problem}")]
    BadFile {
        var: &'static str,
        path: String,
        problem: String,
    },
    /// The certificate and key (or CA bundle) do not make a TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// A listener failed while serving.
    #[error("serving {what}: {message}")]
    Serve { what: String, message: String },
}

/// Writes one line to stdout and flushes it at once: tests and the harness grep the pod logs.
pub fn log_line(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the backend: the log is best effort.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the mode chosen by the environment, every listener bound on `ip`, until one fails.
pub async fn run(ip: IpAddr, config: Config) -> Result<(), Error> {
    match config.mode {
        Mode::Http => http::run(ip, &config).await,
        Mode::Grpc => grpc::run(ip, &config).await,
        Mode::Tcp => tcp::run(ip, &config).await,
        Mode::Udp => udp::run(ip, &config).await,
        Mode::Dns => dns::run(ip, &config).await,
    }
}

/// Binds a TCP listener, naming the address on failure.
pub(crate) async fn bind_tcp(ip: IpAddr, port: u16) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind((ip, port))
        .await
        .map_err(|source| Error::Bind {
            addr: std::net::SocketAddr::new(ip, port).to_string(),
            source,
        })
}

/// Binds a UDP socket, naming the address on failure.
pub(crate) async fn bind_udp(ip: IpAddr, port: u16) -> Result<tokio::net::UdpSocket, Error> {
    tokio::net::UdpSocket::bind((ip, port))
        .await
        .map_err(|source| Error::Bind {
            addr: format!("udp {}", std::net::SocketAddr::new(ip, port)),
            source,
        })
}
