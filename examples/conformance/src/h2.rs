//! HTTP/2 round trips (SCHEMA.md §6.1 `request.protocol`): cleartext with prior knowledge
//! (`H2C_PRIOR_KNOWLEDGE`) and over TLS with ALPN `h2` (`H2`), through hyper's HTTP/2 client,
//! one connection per request like the Go client the suite uses.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::http::{Request, Response, Tls};

/// The runtime that drives every HTTP/2 connection; the harness itself is synchronous and
/// blocks on it from its worker threads.
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Sends one HTTP/2 request to `addr`, over TLS when `tls` is given, and reads the whole
/// response; `proto` of the result is `HTTP/2.0` as Go reports it.
pub fn send(
    addr: SocketAddr,
    req: &Request,
    tls: Option<&Tls>,
    timeout: Duration,
) -> Result<Response, String> {
    let rt = runtime()?;
    rt.block_on(async {
        tokio::time::timeout(timeout, exchange(addr, req, tls))
            .await
            .map_err(|_| format!("HTTP/2 request timed out after {timeout:?}"))?
    })
}

async fn exchange(addr: SocketAddr, req: &Request, tls: Option<&Tls>) -> Result<Response, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    match tls {
        None => round_trip(tcp, req, "http").await,
        Some(t) => {
            let name = rustls::pki_types::ServerName::try_from(t.server_name.clone())
                .map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(t.config.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            // Go's transport only speaks HTTP/2 when ALPN chose it.
            if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                return Err("the server did not negotiate h2 (ALPN)".into());
            }
            round_trip(stream, req, "https").await
        }
    }
}

async fn round_trip<S>(io: S, req: &Request, scheme: &str) -> Result<Response, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    // The Host header becomes `:authority`, as Go's HTTP/2 transport does with `req.Host`.
    let uri = format!("{scheme}://{}{}", req.host, req.path);
    let mut b = hyper::Request::builder()
        .method(req.method.as_str())
        .uri(uri.as_str())
        .header("user-agent", "Go-http-client/2.0");
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b = b.header("accept-encoding", "gzip");
    let body = Full::new(Bytes::from(req.body.clone().unwrap_or_default()));
    let request = b.body(body).map_err(|e| format!("request {uri:?}: {e}"))?;
    let result = async {
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).to_string(),
                )
            })
            .collect();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .to_vec();
        Ok(Response {
            status,
            proto: "HTTP/2.0".into(),
            headers,
            body,
        })
    }
    .await;
    driver.abort();
    result
}
