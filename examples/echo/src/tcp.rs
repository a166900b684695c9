//! TCP mode: a line protocol over plain TCP (`TCP_PORT`) and TLS (`TLS_PORT`): a banner, then
//! `TEST` (who answered, as JSON), `IS_TLS` and `PING`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::serve::is_transient;
use crate::tls::{self, TlsInfo};
use crate::{bind_tcp, log_line, Error, Identity};

/// The first line of every connection.
pub const BANNER: &str = "Gateway API Test TCP Server\n";

/// The reply to `TEST`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestReply<'a> {
    #[serde(flatten)]
    identity: &'a Identity,
    #[serde(rename = "tcpport")]
    tcp_port: &'a str,
    #[serde(rename = "tlsport", skip_serializing_if = "str::is_empty")]
    tls_port: &'a str,
    #[serde(rename = "isTLS")]
    is_tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsReply>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TlsReply {
    version: String,
    server_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    negotiated_protocol: String,
    cipher_suite: String,
}

/// What every connection of one process reports.
struct Shared {
    identity: Identity,
    tcp_port: String,
    tls_port: String,
}

/// Runs echo-basic's TCP mode: plain on `TCP_PORT`, TLS on `TLS_PORT` when `TLS_SERVER_CERT` and
/// `TLS_SERVER_PRIV_KEY` are set.
pub async fn run(ip: IpAddr, config: &Config) -> Result<(), Error> {
    let tcp_port = config.port("TCP_PORT", 3000)?;
    let tls_port = config.port("TLS_PORT", 8443)?;
    let tls = match config.tls_files("TLS_SERVER_PRIV_KEY", false) {
        Some(files) => Some(tls::server_config(&files, &[])?),
        None => None,
    };
    let shared = Arc::new(Shared {
        identity: config.identity(),
        tcp_port: tcp_port.text.clone(),
        tls_port: tls_port.text.clone(),
    });
    let plain = bind_tcp(ip, tcp_port.number).await?;
    log_line(format!("Starting TCP server on {ip}:{}", tcp_port.number));
    let failed = |what: &str, e: std::io::Error| Error::Serve {
        what: what.into(),
        message: e.to_string(),
    };
    let Some(tls) = tls else {
        return Err(failed("TCP", accept_loop(plain, None, shared).await));
    };
    let secure = bind_tcp(ip, tls_port.number).await?;
    log_line(format!("Starting TLS server on {ip}:{}", tls_port.number));
    let acceptor = Some(TlsAcceptor::from(tls));
    tokio::select! {
        e = accept_loop(plain, None, shared.clone()) => Err(failed("TCP", e)),
        e = accept_loop(secure, acceptor, shared) => Err(failed("TLS", e)),
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
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
        let (tls, shared) = (tls.clone(), shared.clone());
        tokio::spawn(async move {
            let result = match tls {
                None => session(tcp, None, &shared).await,
                Some(acceptor) => {
                    let accepted =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
                    match accepted.await {
                        Ok(Ok(stream)) => {
                            let info = TlsInfo::from_connection(stream.get_ref().1);
                            session(stream, Some(info), &shared).await
                        }
                        Ok(Err(e)) => Err(e),
                        Err(_) => return,
                    }
                }
            };
            if let Err(e) = result {
                log_line(format!("TCP connection from {remote}: {e}"));
            }
        });
    }
}

/// One connection: the banner, then one reply per known command line until EOF.
async fn session<S>(stream: S, tls: Option<TlsInfo>, shared: &Shared) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let test = serde_json::to_string(&TestReply {
        identity: &shared.identity,
        tcp_port: &shared.tcp_port,
        tls_port: &shared.tls_port,
        is_tls: tls.is_some(),
        tls: tls.as_ref().map(|t| TlsReply {
            version: t.version_go(),
            server_name: t.server_name.clone(),
            negotiated_protocol: t.negotiated_protocol.clone(),
            cipher_suite: t.cipher_suite_go(),
        }),
    })
    .map_err(std::io::Error::other)?
        + "\n";
    let is_tls = if tls.is_some() { "true\n" } else { "false\n" };
    let mut stream = BufReader::new(stream);
    stream.write_all(BANNER.as_bytes()).await?;
    stream.flush().await?;
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let reply = match line.trim() {
            "TEST" => test.as_str(),
            "IS_TLS" => is_tls,
            "PING" => "PONG\n",
            _ => continue,
        };
        stream.write_all(reply.as_bytes()).await?;
        stream.flush().await?;
    }
}
