//! A small HTTP/1.1 client (one request per connection, as the Go client with keep-alives
//! disabled), over plain TCP or TLS (rustls), that reports status, headers and body; HTTP/2
//! requests are handed to [`crate::h2`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `HTTP/1.1` etc.
    pub proto: String,
    /// Header lines, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of a header, joined by `,` (None when absent).
    pub fn header(&self, name: &str) -> Option<String> {
        let v: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if v.is_empty() {
            None
        } else {
            Some(v.join(","))
        }
    }
}

/// What to send.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Request target (path and query).
    pub path: String,
    /// Host header.
    pub host: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<String>,
    /// The protocol to speak.
    pub protocol: Protocol,
}

/// The wire protocol of a request (SCHEMA.md §6.1 `request.protocol`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 (the default, also over TLS).
    #[default]
    Http1,
    /// Cleartext HTTP/2 with prior knowledge (`H2C_PRIOR_KNOWLEDGE`).
    H2c,
    /// HTTP/2 over TLS, negotiated with ALPN (`H2`).
    H2,
}

impl Protocol {
    /// Parses `request.protocol` (absent means HTTP/1.1).
    pub fn parse(p: Option<&str>) -> Result<Protocol, String> {
        match p {
            None | Some("HTTP/1.1") => Ok(Protocol::Http1),
            Some("H2C_PRIOR_KNOWLEDGE") => Ok(Protocol::H2c),
            Some("H2") => Ok(Protocol::H2),
            Some(other) => Err(format!("unknown request protocol {other:?}")),
        }
    }
}

/// TLS settings of a request.
#[derive(Clone)]
pub struct Tls {
    /// SNI and verification name.
    pub server_name: String,
    /// The client configuration.
    pub config: Arc<rustls::ClientConfig>,
    /// Set once a server requested the client certificate (never set without one).
    pub cert_requested: Arc<AtomicBool>,
    /// Whether a client certificate is configured.
    pub has_client_cert: bool,
}

impl Tls {
    /// With a client certificate configured, the server must have asked for it (SCHEMA.md §6.3).
    pub fn check_cert_requested(&self) -> Result<(), String> {
        if self.has_client_cert && !self.cert_requested.load(Ordering::SeqCst) {
            return Err("the server did not request the client certificate".into());
        }
        Ok(())
    }
}

/// Builds a client configuration trusting `roots_pem` (certificates, possibly leaves), with an
/// optional client certificate and key, and ALPN protocols.
pub fn tls_config(
    roots_pem: &str,
    client: Option<(&str, &str)>,
    alpn: &[&str],
) -> Result<Arc<rustls::ClientConfig>, String> {
    client_tls(roots_pem, client, alpn).map(|(config, _)| config)
}

/// As [`tls_config`], and also a flag set once a server asks for the client certificate
/// (the suite asserts that the server requested one whenever a test configures it).
pub fn client_tls(
    roots_pem: &str,
    client: Option<(&str, &str)>,
    alpn: &[&str],
) -> Result<(Arc<rustls::ClientConfig>, Arc<AtomicBool>), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        let c = c.map_err(|e| e.to_string())?;
        roots.add(c).map_err(|e| e.to_string())?;
    }
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| e.to_string())?;
    let b = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(GoNames(inner)));
    let asked = Arc::new(AtomicBool::new(false));
    let mut cfg = match client {
        Some((cert, key)) => {
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| e.to_string())?;
            let key = rustls::sign::CertifiedKey::from_der(certs, key, &provider)
                .map_err(|e| e.to_string())?;
            b.with_client_cert_resolver(Arc::new(RecordingClientCert {
                key: Arc::new(key),
                asked: asked.clone(),
            }))
        }
        None => b.with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok((Arc::new(cfg), asked))
}

/// Presents one client certificate and records that a server requested it.
#[derive(Debug)]
struct RecordingClientCert {
    key: Arc<rustls::sign::CertifiedKey>,
    asked: Arc<AtomicBool>,
}

impl rustls::client::ResolvesClientCert for RecordingClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        // rustls asks the resolver only on a CertificateRequest from the server.
        self.asked.store(true, Ordering::SeqCst);
        Some(self.key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// WebPKI verification with Go's host name rules: Go accepts a wildcard one label above a
/// top-level domain (`*.org` for `example.org`), which WebPKI refuses. The chain has been
/// verified before the name check fails, so only the name is re-checked here.
#[derive(Debug)]
struct GoNames(Arc<rustls::client::WebPkiServerVerifier>);

fn go_name_match(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match p.strip_prefix("*.") {
        Some(suffix) => h
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => p == h,
    }
}

impl rustls::client::danger::ServerCertVerifier for GoNames {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { presented, .. },
            )) => {
                let host = server_name.to_str();
                let ok = presented.iter().any(|p| {
                    p.strip_prefix("DnsName(\"")
                        .and_then(|r| r.strip_suffix("\")"))
                        .is_some_and(|pat| go_name_match(pat, &host))
                });
                if ok {
                    Ok(rustls::client::danger::ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::NotValidForName,
                    ))
                }
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = find(b, b"\r\n") {
        let size = std::str::from_utf8(&b[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || b.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + size]);
        b = &b[(end + 4 + size).min(b.len())..];
    }
    out
}

/// Sends one request and reads the whole response, in the request's protocol.
pub fn send(
    addr: SocketAddr,
    req: &Request,
    tls: Option<&Tls>,
    timeout: Duration,
) -> Result<Response, String> {
    match (req.protocol, tls) {
        (Protocol::Http1, _) => send_http1(addr, req, tls, timeout),
        (Protocol::H2c, None) | (Protocol::H2, Some(_)) => crate::h2::send(addr, req, tls, timeout),
        (Protocol::H2c, Some(_)) => Err("H2C_PRIOR_KNOWLEDGE over TLS".into()),
        (Protocol::H2, None) => Err("H2 needs TLS".into()),
    }
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads the whole response.
fn send_http1(
    addr: SocketAddr,
    req: &Request,
    tls: Option<&Tls>,
    timeout: Duration,
) -> Result<Response, String> {
    let mut tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Go-http-client/1.1\r\n",
        req.method, req.path, req.host
    );
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = &req.body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("Accept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    if let Some(b) = &req.body {
        head.push_str(b);
    }
    let mut raw = Vec::new();
    match tls {
        None => {
            tcp.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
            read_all(&mut tcp, &mut raw)?;
        }
        Some(t) => {
            let name = rustls::pki_types::ServerName::try_from(t.server_name.clone())
                .map_err(|e| e.to_string())?;
            let conn =
                rustls::ClientConnection::new(t.config.clone(), name).map_err(|e| e.to_string())?;
            let mut s = rustls::StreamOwned::new(conn, tcp);
            s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
            read_all(&mut s, &mut raw)?;
        }
    }
    parse(&raw)
}

fn read_all(r: &mut impl Read, out: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 16384];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            // A peer that closes without close_notify still sent a whole response.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {
                return Ok(())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = find(raw, b"\r\n\r\n").ok_or("incomplete response")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let mut parts = first.split_whitespace();
    let proto = parts.next().unwrap_or("").to_string();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {first:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        let len: Option<usize> = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok());
        match len {
            Some(l) => rest[..l.min(rest.len())].to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(Response {
        status,
        proto,
        headers,
        body,
    })
}
