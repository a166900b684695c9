//! The echo-basic contract, mode by mode, against the real binary on 127.0.0.1: each test starts
//! `gatewright-echo --ip 127.0.0.1` with the environment the conformance manifests give it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatewright_echo::grpcecho::grpc_echo_client::GrpcEchoClient;
use gatewright_echo::grpcecho::{EchoRequest, Header};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

// The controller's tests and these start servers on ports chosen the same way.
#[path = "../../controller/tests/support/ports.rs"]
mod ports;
use ports::{free_port, free_udp_port};

const TIMEOUT: Duration = Duration::from_secs(15);

async fn collect(body: hyper::body::Incoming) -> Vec<u8> {
    use http_body_util::BodyExt;
    body.collect().await.expect("body").to_bytes().to_vec()
}

/// The running backend; killed on drop. Its stdout lines are kept for log assertions.
struct Echo {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Echo {
    /// Starts `--ip 127.0.0.1` with exactly these variables and waits for `ready` (TCP ports).
    fn start(env: &[(&str, String)], ready: &[u16]) -> Echo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatewright-echo"))
            .args(["--ip", "127.0.0.1"])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start gatewright-echo");
        let log = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        let echo = Echo { child, log };
        for port in ready {
            let deadline = Instant::now() + TIMEOUT;
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(Instant::now() < deadline, "port {port} never opened");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        echo
    }

    /// Waits until a stdout line contains `needle`.
    fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(l) = self
                .log
                .lock()
                .expect("log")
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} in {:?}",
                self.log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn identity_env() -> Vec<(&'static str, String)> {
    vec![
        ("NAMESPACE", "gateway-conformance-infra".into()),
        ("POD_NAME", "infra-backend-v1-7d4b5c6f8-x2x9z".into()),
        ("INGRESS_NAME", "my-ingress".into()),
        ("SERVICE_NAME", "infra-backend-v1".into()),
    ]
}

/// One HTTP/1.1 or HTTP/2 round trip on a fresh connection over `io`.
async fn round_trip<IO>(io: IO, h2: bool, req: Request<String>) -> (Response<()>, Vec<u8>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let resp = if h2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .expect("h2 handshake");
        tokio::spawn(conn);
        send.send_request(req).await.expect("h2 request")
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .expect("h1 handshake");
        tokio::spawn(conn);
        send.send_request(req).await.expect("h1 request")
    };
    let (parts, body) = resp.into_parts();
    (Response::from_parts(parts, ()), collect(body).await)
}

async fn get(port: u16, h2: bool, path: &str, headers: &[(&str, &str)]) -> (Response<()>, Vec<u8>) {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let uri = if h2 {
        format!("http://127.0.0.1:{port}{path}")
    } else {
        path.to_string()
    };
    let mut b = Request::get(uri);
    if !h2 {
        b = b.header("host", format!("127.0.0.1:{port}"));
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    round_trip(tcp, h2, b.body(String::new()).expect("request")).await
}

fn json(resp: &Response<()>, body: &[u8]) -> Value {
    assert_eq!(
        resp.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    assert_eq!(
        resp.headers()
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    serde_json::from_slice(body).expect("echo JSON")
}

fn header_values(v: &Value, name: &str) -> Vec<String> {
    v["headers"][name]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends raw bytes and reads until EOF or error.
fn raw(port: u16, request: &str) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.write_all(request.as_bytes())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

#[tokio::test]
async fn http_mode_plain_listener() {
    let (http, h2c) = (free_port(), free_port());
    let mut env = identity_env();
    env.push(("HTTP_PORT", http.to_string()));
    env.push(("H2C_PORT", h2c.to_string()));
    let echo = Echo::start(&env, &[http, h2c]);

    // Echo: raw RequestURI, canonical header names, Host removed, identity, httpPort.
    let (resp, body) = get(
        http,
        false,
        "/foo//bar?x=1&y=%20",
        &[
            ("x-custom", "a"),
            ("x-custom", "b"),
            ("x-echo-set-header", "X-Set-One: 1, x-set-two:2,X-Set-One:3"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("x-set-one").map(|v| v.as_bytes()),
        Some(&b"1,3"[..])
    );
    assert_eq!(
        resp.headers().get("x-set-two").map(|v| v.as_bytes()),
        Some(&b"2"[..])
    );
    let v = json(&resp, &body);
    assert_eq!(v["path"], "/foo//bar?x=1&y=%20");
    assert_eq!(v["host"], format!("127.0.0.1:{http}"));
    assert_eq!(v["method"], "GET");
    assert_eq!(v["proto"], "HTTP/1.1");
    assert_eq!(header_values(&v, "X-Custom"), ["a", "b"]);
    assert!(v["headers"].get("Host").is_none());
    assert_eq!(v["httpPort"], http.to_string());
    assert_eq!(v["namespace"], "gateway-conformance-infra");
    assert_eq!(v["pod"], "infra-backend-v1-7d4b5c6f8-x2x9z");
    assert_eq!(v["service"], "infra-backend-v1");
    assert_eq!(v["ingress"], "my-ingress");
    assert!(v.get("tls").is_none());
    assert!(
        String::from_utf8_lossy(&body).starts_with("{\n \"path\""),
        "one-space indent"
    );
    echo.wait_log("Echoing back request made to /foo//bar?x=1&y=%20 to client (127.0.0.1:");

    // Content-Type and nosniff win over X-Echo-Set-Header.
    let (resp, _) = get(
        http,
        false,
        "/",
        &[("x-echo-set-header", "Content-Type:text/plain")],
    )
    .await;
    assert_eq!(
        resp.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );

    // /health, /status/NNN (whole URI), the redirect of /status, `//` collapsed before routing.
    let (resp, body) = get(http, false, "/health", &[]).await;
    assert_eq!((resp.status().as_u16(), body.as_slice()), (200, &b"OK"[..]));
    let (resp, body) = get(http, false, "/status/503", &[]).await;
    assert_eq!((resp.status().as_u16(), body.len()), (503, 0));
    let (resp, _) = get(http, false, "//status//418", &[]).await;
    assert_eq!(resp.status(), 400, "the raw URI must match ^/status/NNN$");
    let (resp, _) = get(http, false, "/status/503?x=1", &[]).await;
    assert_eq!(resp.status(), 400);
    let (resp, _) = get(http, false, "/status?a=b", &[]).await;
    assert_eq!(resp.status(), 301);
    assert_eq!(
        resp.headers().get("location").map(|v| v.as_bytes()),
        Some(&b"/status/?a=b"[..])
    );
    let (resp, body) = get(http, false, "//health", &[]).await;
    assert_eq!((resp.status().as_u16(), body.as_slice()), (200, &b"OK"[..]));

    // delay: from the query or a form body; a bad value is a JSON 500.
    let start = Instant::now();
    let (resp, _) = get(http, false, "/?delay=300ms", &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let (resp, body) = get(http, false, "/?delay=later", &[]).await;
    assert_eq!(resp.status(), 500);
    assert!(json(&resp, &body)["message"]
        .as_str()
        .is_some_and(|m| m.contains("later")));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", http))
        .await
        .expect("connect");
    let req = Request::post("/form")
        .header("host", "x")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("delay=250ms".to_string())
        .expect("request");
    let start = Instant::now();
    let (resp, body) = round_trip(tcp, false, req).await;
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!(json(&resp, &body)["method"], "POST");

    // The plain listener does not speak h2c.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", http))
        .await
        .expect("connect");
    let h2 = hyper::client::conn::http2::handshake::<_, _, String>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    );
    if let Ok((mut send, conn)) = h2.await {
        tokio::spawn(conn);
        let req = Request::get(format!("http://127.0.0.1:{http}/"))
            .body(String::new())
            .expect("req");
        assert!(
            send.send_request(req).await.is_err(),
            "plain listener answered HTTP/2"
        );
    }
}

#[tokio::test]
async fn http_mode_retry_simulator() {
    let (http, h2c) = (free_port(), free_port());
    let mut env = identity_env();
    env.push(("HTTP_PORT", http.to_string()));
    env.push(("H2C_PORT", h2c.to_string()));
    let _echo = Echo::start(&env, &[http]);

    let (resp, body) = get(http, false, "/retry/x?succeedAfter=1", &[]).await;
    assert_eq!(
        (resp.status().as_u16(), body.as_slice()),
        (400, &b"uuid is required"[..])
    );
    let (resp, body) = get(http, false, "/retry/x?uuid=u0&succeedAfter=many", &[]).await;
    assert_eq!(
        (resp.status().as_u16(), body.as_slice()),
        (400, &b"succeedAfter is required"[..])
    );

    // Without responseCode: a TCP reset per failed attempt, then the echo.
    let request =
        "GET /retry/a?uuid=u1&succeedAfter=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for attempt in 1..=2 {
        let err = raw(http, request).expect_err("a failed attempt answers nothing");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionReset,
            "attempt {attempt}: {err}"
        );
    }
    let ok = raw(http, request).expect("third attempt");
    assert!(
        ok.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&ok)
    );
    assert!(String::from_utf8_lossy(&ok).contains("\"path\": \"/retry/a?uuid=u1&succeedAfter=2\""));

    // With responseCode and delayRetry: that status, late, then the echo.
    let path = "/retry/b?uuid=u2&succeedAfter=1&responseCode=503&delayRetry=200ms";
    let start = Instant::now();
    let (resp, _) = get(http, false, path, &[]).await;
    assert_eq!(resp.status(), 503);
    assert!(start.elapsed() >= Duration::from_millis(200));
    let (resp, body) = get(http, false, path, &[]).await;
    assert_eq!(json(&resp, &body)["path"], path);
}

#[tokio::test]
async fn http_mode_websocket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    let (http, h2c) = (free_port(), free_port());
    let mut env = identity_env();
    env.push(("HTTP_PORT", http.to_string()));
    env.push(("H2C_PORT", h2c.to_string()));
    let echo = Echo::start(&env, &[http]);
    let url = format!("ws://127.0.0.1:{http}/ws");

    let no_origin = tokio_tungstenite::connect_async(url.as_str()).await;
    match no_origin {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("handshake without Origin: {:?}", other.map(|_| ())),
    }

    let mut req = url.as_str().into_client_request().expect("ws request");
    req.headers_mut()
        .insert("origin", "http://127.0.0.1".parse().expect("origin"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws handshake");
    echo.wait_log("established websocket connection 127.0.0.1:");
    ws.send(Message::text("hello gateway")).await.expect("send");
    let got = ws.next().await.expect("reply").expect("frame");
    assert_eq!(got, Message::text("hello gateway"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .expect("send");
    let got = ws.next().await.expect("reply").expect("frame");
    assert_eq!(got.into_data().as_ref(), &[0u8, 1, 2, 255]);
    ws.close(None).await.expect("close");
}

#[tokio::test]
async fn http_mode_h2c_listener() {
    let (http, h2c) = (free_port(), free_port());
    let mut env = identity_env();
    env.push(("HTTP_PORT", http.to_string()));
    env.push(("H2C_PORT", h2c.to_string()));
    let _echo = Echo::start(&env, &[http, h2c]);

    let (resp, body) = get(h2c, false, "/", &[]).await;
    assert_eq!(
        (resp.status().as_u16(), body.as_slice()),
        (400, &b"Expected h2c request"[..])
    );
    let (resp, body) = get(
        h2c,
        false,
        "/up",
        &[("upgrade", "h2c"), ("connection", "upgrade")],
    )
    .await;
    assert_eq!(json(&resp, &body)["path"], "/up");

    // HTTP/2 with prior knowledge is echoed on every path, with the HTTP_PORT as httpPort.
    let (resp, body) = get(h2c, true, "/status/500?q=1", &[("x-h2", "yes")]).await;
    assert_eq!(resp.status(), 200);
    let v = json(&resp, &body);
    assert_eq!(v["proto"], "HTTP/2.0");
    assert_eq!(v["path"], "/status/500?q=1");
    assert_eq!(v["host"], format!("127.0.0.1:{h2c}"));
    assert_eq!(header_values(&v, "X-H2"), ["yes"]);
    assert_eq!(v["httpPort"], http.to_string());
}

/// A CA, a server certificate for `host` and a client certificate, as PEM files in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    client_pem: String,
}

impl Pki {
    fn new(host: &str) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let trusted = ca("echo test CA");
        std::fs::write(dir.path().join("ca.crt"), trusted.pem()).expect("write ca");
        leaf(&trusted, host, true, dir.path(), "server");
        let client_pem = leaf(&trusted, "client", false, dir.path(), "client");
        leaf(&ca("rogue CA"), "rogue", false, dir.path(), "rogue");
        Pki { dir, client_pem }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn env(&self, key_var: &'static str) -> Vec<(&'static str, String)> {
        vec![
            (
                "TLS_SERVER_CERT",
                self.path("server.crt").display().to_string(),
            ),
            (key_var, self.path("server.key").display().to_string()),
            (
                "TLS_CLIENT_CACERTS",
                self.path("ca.crt").display().to_string(),
            ),
        ]
    }

    fn client(&self, client: Option<&str>, alpn: &[&[u8]], tls12: bool) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(self.path("ca.crt")).expect("ca") {
            roots.add(c.expect("ca pem")).expect("root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
            &[&rustls::version::TLS12]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots);
        let mut config = match client {
            None => builder.with_no_client_auth(),
            Some(stem) => {
                let chain = CertificateDer::pem_file_iter(self.path(&format!("{stem}.crt")))
                    .expect("chain")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("chain pem");
                let key =
                    PrivateKeyDer::from_pem_file(self.path(&format!("{stem}.key"))).expect("key");
                builder
                    .with_client_auth_cert(chain, key)
                    .expect("client auth")
            }
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsConnector::from(Arc::new(config))
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(p, KeyPair::generate().expect("key")).expect("ca")
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
    server: bool,
    dir: &Path,
    stem: &str,
) -> String {
    let mut p = CertificateParams::new(vec![name.to_string()]).expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate().expect("key");
    let cert = p.signed_by(&key, issuer).expect("sign");
    std::fs::write(dir.join(format!("{stem}.crt")), cert.pem()).expect("write cert");
    std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).expect("write key");
    cert.pem()
}

async fn tls_connect(
    connector: &TlsConnector,
    port: u16,
    sni: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(sni.to_string()).expect("sni");
    let mut tls = connector.connect(name, tcp).await?;
    // A rejected client certificate surfaces on the first read in TLS 1.3.
    tls.flush().await?;
    Ok(tls)
}

#[tokio::test]
async fn http_mode_https_listener() {
    let pki = Pki::new("echo.example");
    let (http, h2c, https) = (free_port(), free_port(), free_port());
    let mut env = identity_env();
    env.extend(pki.env("TLS_SERVER_PRIVKEY"));
    env.push(("HTTP_PORT", http.to_string()));
    env.push(("H2C_PORT", h2c.to_string()));
    env.push(("HTTPS_PORT", https.to_string()));
    let _echo = Echo::start(&env, &[http, h2c, https]);

    // HTTP/2 (ALPN h2) with a client certificate: echoed as PEM.
    let tls = tls_connect(
        &pki.client(Some("client"), &[b"h2", b"http/1.1"], false),
        https,
        "echo.example",
    )
    .await
    .expect("handshake");
    let req = Request::get("https://echo.example/tls?x=1")
        .body(String::new())
        .expect("req");
    let (resp, body) = round_trip(tls, true, req).await;
    let v = json(&resp, &body);
    assert_eq!(v["proto"], "HTTP/2.0");
    assert_eq!(v["path"], "/tls?x=1");
    assert_eq!(v["host"], "echo.example");
    assert_eq!(v["tls"]["version"], "TLSv1.3");
    assert_eq!(v["tls"]["serverName"], "echo.example");
    assert_eq!(v["tls"]["negotiatedProtocol"], "h2");
    let suite = v["tls"]["cipherSuite"].as_str().unwrap_or_default();
    assert!(
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
        .contains(&suite),
        "{suite}"
    );
    assert_eq!(v["tls"]["peerCertificates"][0], pki.client_pem.as_str());
    assert_eq!(v["httpPort"], http.to_string());

    // HTTP/1.1 over TLS 1.2 without a client certificate: accepted, no peerCertificates.
    let tls = tls_connect(
        &pki.client(None, &[b"http/1.1"], true),
        https,
        "echo.example",
    )
    .await
    .expect("handshake");
    let req = Request::get("/status/204")
        .header("host", "echo.example")
        .body(String::new())
        .expect("req");
    let (resp, _) = round_trip(tls, false, req).await;
    assert_eq!(resp.status(), 204, "the TLS listener has the plain routes");
    let tls = tls_connect(
        &pki.client(None, &[b"http/1.1"], true),
        https,
        "echo.example",
    )
    .await
    .expect("handshake");
    let req = Request::get("/")
        .header("host", "echo.example")
        .body(String::new())
        .expect("req");
    let (resp, body) = round_trip(tls, false, req).await;
    let v = json(&resp, &body);
    assert_eq!(v["tls"]["version"], "TLSv1.2");
    assert_eq!(v["tls"]["negotiatedProtocol"], "http/1.1");
    assert!(v["tls"]["cipherSuite"]
        .as_str()
        .is_some_and(|s| s.starts_with("TLS_ECDHE_")));
    assert!(v["tls"].get("peerCertificates").is_none());

    // A certificate from an untrusted CA is refused.
    let rogue = pki.client(Some("rogue"), &[b"http/1.1"], false);
    let refused = match tls_connect(&rogue, https, "echo.example").await {
        Err(_) => true,
        Ok(mut tls) => {
            let mut buf = [0u8; 1];
            let _ = tls.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            matches!(
                tokio::io::AsyncReadExt::read(&mut tls, &mut buf).await,
                Err(_) | Ok(0)
            )
        }
    };
    assert!(
        refused,
        "a client certificate from an untrusted CA was accepted"
    );
}

fn grpc_headers(headers: &[Header]) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect()
}

#[tokio::test]
async fn grpc_mode() {
    let pki = Pki::new("grpc.example");
    let (http, https) = (free_port(), free_port());
    let mut env = identity_env();
    env.extend(pki.env("TLS_SERVER_PRIV_KEY"));
    env.push(("GRPC_ECHO_SERVER", "1".into()));
    env.push(("HTTP_PORT", http.to_string()));
    env.push(("HTTPS_PORT", https.to_string()));
    let echo = Echo::start(&env, &[http, https]);

    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{http}"))
        .expect("endpoint")
        .origin("http://grpc.example.com".parse().expect("origin"))
        .connect()
        .await
        .expect("connect");
    let mut client = GrpcEchoClient::new(channel);
    let mut req = tonic::Request::new(EchoRequest {});
    req.metadata_mut()
        .insert("x-test", "abc".parse().expect("metadata"));
    let resp = client.echo(req).await.expect("Echo").into_inner();
    assert!(resp.request.is_none());
    let a = resp.assertions.expect("assertions");
    assert_eq!(
        a.fully_qualified_method,
        "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo"
    );
    assert_eq!(a.authority, "grpc.example.com");
    let headers = grpc_headers(&a.headers);
    assert_eq!(headers.get("x-test").map(String::as_str), Some("abc"));
    assert_eq!(
        headers.get(":authority").map(String::as_str),
        Some("grpc.example.com")
    );
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/grpc")
    );
    assert!(!headers.contains_key("te"));
    let ctx = a.context.expect("context");
    assert_eq!(ctx.namespace, "gateway-conformance-infra");
    assert_eq!(ctx.pod, "infra-backend-v1-7d4b5c6f8-x2x9z");
    assert_eq!(ctx.service_name, "infra-backend-v1");
    assert_eq!(ctx.ingress, "my-ingress");
    assert!(a.tls_assertions.is_none());
    echo.wait_log("Received over plaintext:");

    let two = client
        .echo_two(EchoRequest {})
        .await
        .expect("EchoTwo")
        .into_inner();
    assert_eq!(
        two.assertions.expect("assertions").fully_qualified_method,
        "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo"
    );
    let three = client
        .echo_three(EchoRequest {})
        .await
        .expect_err("EchoThree");
    assert_eq!(three.code(), tonic::Code::Unimplemented);

    // Server reflection lists the service.
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{http}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([list]))
        .await
        .expect("reflection")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("reflection reply")
        .expect("one reply");
    let Some(MessageResponse::ListServicesResponse(services)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    assert!(services
        .service
        .iter()
        .any(|s| s.name == "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"));

    // TLS: the session is reported, client certificate included.
    let connector = pki.client(Some("client"), &[b"h2"], false);
    let channel = tonic::transport::Endpoint::from_static("http://grpc.example")
        .connect_with_connector(tower::service_fn(move |_uri| {
            let connector = connector.clone();
            async move {
                tls_connect(&connector, https, "grpc.example")
                    .await
                    .map(TokioIo::new)
            }
        }))
        .await
        .expect("TLS channel");
    let resp = GrpcEchoClient::new(channel)
        .echo(EchoRequest {})
        .await
        .expect("Echo over TLS")
        .into_inner();
    let a = resp.assertions.expect("assertions");
    let t = a.tls_assertions.expect("tls assertions");
    assert_eq!(t.version, "TLSv1.3");
    assert_eq!(t.server_name, "grpc.example");
    assert_eq!(t.negotiated_protocol, "h2");
    assert!(t.cipher_suite.starts_with("TLS_"));
    assert_eq!(t.peer_certificates, std::slice::from_ref(&pki.client_pem));
    assert_eq!(a.authority, "grpc.example");
    echo.wait_log("Received over TLS:");
}

/// Reads one line of a TCP-mode session.
async fn line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut l = String::new();
    tokio::time::timeout(TIMEOUT, r.read_line(&mut l))
        .await
        .expect("line in time")
        .expect("line");
    l
}

async fn tcp_exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> (String, Value) {
    let mut s = tokio::io::BufReader::new(stream);
    assert_eq!(line(&mut s).await, "Gateway API Test TCP Server\n");
    s.write_all(b"NOISE\nPING\n").await.expect("write");
    assert_eq!(line(&mut s).await, "PONG\n");
    s.write_all(b"IS_TLS\n").await.expect("write");
    let is_tls = line(&mut s).await;
    s.write_all(b"TEST\n").await.expect("write");
    let test = line(&mut s).await;
    assert!(test.ends_with('\n'));
    (is_tls, serde_json::from_str(&test).expect("TEST JSON"))
}

#[tokio::test]
async fn tcp_mode() {
    let pki = Pki::new("tcp.example");
    let (tcp, tls) = (free_port(), free_port());
    let mut env = identity_env();
    env.extend(pki.env("TLS_SERVER_PRIV_KEY"));
    env.push(("TCP_ECHO_SERVER", "1".into()));
    env.push(("TCP_PORT", tcp.to_string()));
    env.push(("TLS_PORT", tls.to_string()));
    let _echo = Echo::start(&env, &[tcp, tls]);

    let stream = tokio::net::TcpStream::connect(("127.0.0.1", tcp))
        .await
        .expect("connect");
    let (is_tls, v) = tcp_exchange(stream).await;
    assert_eq!(is_tls, "false\n");
    assert_eq!(v["namespace"], "gateway-conformance-infra");
    assert_eq!(v["pod"], "infra-backend-v1-7d4b5c6f8-x2x9z");
    assert_eq!(v["service"], "infra-backend-v1");
    assert_eq!(v["ingress"], "my-ingress");
    assert_eq!(v["tcpport"], tcp.to_string());
    assert_eq!(v["tlsport"], tls.to_string());
    assert_eq!(v["isTLS"], false);
    assert!(v.get("tls").is_none());

    for (tls12, version) in [(false, "TLS 1.3"), (true, "TLS 1.2")] {
        let stream = tls_connect(&pki.client(None, &[], tls12), tls, "tcp.example")
            .await
            .expect("handshake");
        let (is_tls, v) = tcp_exchange(stream).await;
        assert_eq!(is_tls, "true\n");
        assert_eq!(v["isTLS"], true);
        assert_eq!(v["tls"]["version"], version);
        assert_eq!(v["tls"]["serverName"], "tcp.example");
        assert!(v["tls"]["cipherSuite"]
            .as_str()
            .is_some_and(|s| s.starts_with("TLS_")));
        assert!(
            v["tls"].get("negotiatedProtocol").is_none(),
            "no ALPN on the TCP TLS listener"
        );
    }
}

#[test]
fn udp_mode() {
    let port = free_udp_port();
    let mut env = identity_env();
    env.push(("UDP_ECHO_SERVER", "1".into()));
    env.push(("UDP_PORT", port.to_string()));
    let echo = Echo::start(&env, &[]);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + TIMEOUT;
    let n = loop {
        socket
            .send_to(b"gateway-api-conformance-udp-echo", ("127.0.0.1", port))
            .expect("send");
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            break n;
        }
        assert!(Instant::now() < deadline, "no UDP reply");
    };
    let v: Value = serde_json::from_slice(&buf[..n]).expect("UDP JSON");
    assert_eq!(v["request"], "gateway-api-conformance-udp-echo");
    assert_eq!(v["namespace"], "gateway-conformance-infra");
    assert_eq!(v["service"], "infra-backend-v1");
    assert_eq!(v["pod"], "infra-backend-v1-7d4b5c6f8-x2x9z");
    assert_eq!(v["ingress"], "my-ingress");
    echo.wait_log(&format!(
        "Received UDP gateway-api-conformance-udp-echo from {}",
        socket.local_addr().expect("addr")
    ));

    // Datagrams are read into 1024 bytes.
    let long = vec![b'x'; 1500];
    socket.send_to(&long, ("127.0.0.1", port)).expect("send");
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("reply to a long datagram");
    let v: Value = serde_json::from_slice(&buf[..n]).expect("UDP JSON");
    assert_eq!(v["request"].as_str().map(str::len), Some(1024));
}

#[test]
fn dns_mode() {
    let port = free_udp_port();
    let echo = Echo::start(
        &[("DNS_SERVER", "1".into()), ("DNS_PORT", port.to_string())],
        &[],
    );
    let socket = UdpSocket::bind("127.0.0.1:0").expect("socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(
        Name::from_ascii("foo.bar.com.").expect("name"),
        RecordType::A,
    ));
    let bytes = query.to_vec().expect("encode");
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + TIMEOUT;
    let n = loop {
        socket.send_to(&bytes, ("127.0.0.1", port)).expect("send");
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            break n;
        }
        assert!(Instant::now() < deadline, "no DNS reply");
    };
    let reply = Message::from_vec(&buf[..n]).expect("DNS reply");
    assert_eq!(reply.metadata.id, query.metadata.id);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.authoritative);
    assert_eq!(reply.queries, query.queries);
    assert!(reply.answers.is_empty());
    let local = socket.local_addr().expect("addr");
    assert!(reply
        .additionals
        .iter()
        .any(|r| r.data == RData::A(hickory_proto::rr::rdata::A([127, 0, 0, 1].into()))));
    assert!(reply
        .additionals
        .iter()
        .any(|r| matches!(&r.data, RData::SRV(s) if s.port == local.port())));
    echo.wait_log(&format!("Starting DNS server on udp 127.0.0.1:{port}"));
}

#[tokio::test]
async fn legacy_cli_still_serves_http1_and_h2c() {
    let (a, b) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_gatewright-echo"))
        .args([
            "--listen",
            &format!("127.0.0.1:{a}"),
            "--also-listen",
            &format!("127.0.0.1:{b}"),
        ])
        .args(["--pod", "httpbin-1-a", "--namespace", "demo"])
        .env_remove("POD_NAME")
        .env_remove("NAMESPACE")
        .stdout(Stdio::null())
        .spawn()
        .expect("start");
    let _echo = Echo {
        child,
        log: Arc::default(),
    };
    for port in [a, b] {
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "port {port} never opened");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for (port, h2) in [(a, false), (a, true), (b, false)] {
        let (resp, body) = get(port, h2, "/headers", &[]).await;
        let v = json(&resp, &body);
        assert_eq!(v["pod"], "httpbin-1-a");
        assert_eq!(v["namespace"], "demo");
        assert_eq!(v["httpPort"], a.to_string());
        assert_eq!(v["proto"], if h2 { "HTTP/2.0" } else { "HTTP/1.1" });
    }
    let (resp, _) = get(a, false, "/status/404", &[]).await;
    assert_eq!(resp.status(), 404);
}

#[test]
fn bad_environment_names_the_variable() {
    for (env, needle) in [
        (vec![("HTTP_PORT", "web")], "HTTP_PORT"),
        (
            vec![("TCP_ECHO_SERVER", "1"), ("TCP_PORT", "70000")],
            "TCP_PORT",
        ),
        (
            vec![
                ("TLS_SERVER_CERT", "/nonexistent/crt"),
                ("TLS_SERVER_PRIVKEY", "/nonexistent/key"),
                ("HTTP_PORT", "0"),
                ("H2C_PORT", "0"),
            ],
            "TLS_SERVER_CERT",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gatewright-echo"))
            .args(["--ip", "127.0.0.1"])
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle} not named in {err:?}");
    }
}
