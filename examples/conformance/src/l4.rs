//! Layer-4 traffic expectations (SCHEMA.md §6.6 and §8): the echo-basic TCP exchange over plain
//! TCP or TLS, rejected TLS handshakes, UDP echo datagrams, DNS queries, and TCP/UDP weights,
//! with the upstream retry rules (what is retried and what fails at once).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::checks::Ctx;
use crate::traffic::target;
use crate::weights;

/// The first line echo-basic's TCP mode writes.
const BANNER: &str = "Gateway API Test TCP Server\n";
/// The datagram the UDP helpers send by default.
const UDP_PAYLOAD: &str = "gateway-api-conformance-udp-echo";

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Parses a Go duration as written in the expectations (`100ms`, `2s`, `1m`).
fn parse_duration(text: &str) -> Option<Duration> {
    let (num, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// `v[key]` as a duration, else `default`.
fn duration(v: &Value, key: &str, default: Duration) -> Duration {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(parse_duration)
        .unwrap_or(default)
}

/// An overall wait, capped by `--max-wait` like every other wait of the harness.
fn capped(ctx: &Ctx, d: Duration) -> Duration {
    d.min(Duration::from_secs(ctx.max_wait))
}

/// Why an attempt did not pass: retried (dial, read, decode) or fatal (a value mismatch,
/// which the Go helpers record without retrying).
enum Failure {
    Retry(String),
    Fatal(String),
}

/// Runs a layer-4 traffic entry of kind `kind`.
pub fn run(ctx: &Ctx, test: &Value, defaults: &Value, e: &Value, kind: &str) -> Result<(), String> {
    let addr = target(ctx, test, defaults, e, false)?.addr;
    match kind {
        "tls-connection-rejected" => tls_rejected(ctx, addr, e),
        "tcp" => tcp(ctx, addr, e),
        "tcp-connect" => tcp_connect(ctx, addr, e),
        "tcp-echo-samples" => tcp_samples(addr, e),
        "udp" => udp(ctx, addr, e),
        "udp-echo-samples" => udp_samples(ctx, addr, e),
        "dns" => dns(ctx, addr, e),
        other => Err(format!("traffic kind {other} is not a layer-4 kind")),
    }
}

/// Runs a `weights` entry of kind `tcp` or `udp`.
pub fn weights(ctx: &Ctx, test: &Value, w: &Value) -> Result<(), String> {
    let defaults = json!({"gateway": s(w, "gateway")});
    let addr = target(ctx, test, &defaults, w, false)?.addr;
    let per = w.get("perRequest").cloned().unwrap_or_default();
    let spec = weights::Spec::of(w);
    match s(w, "kind") {
        "tcp" => {
            let timeout = duration(&per, "timeout", Duration::from_secs(10));
            weights::run(&spec, |_| echo_send_once(addr, timeout))
        }
        "udp" => {
            let timeout = duration(&per, "timeout", Duration::from_secs(2));
            let payload = per
                .get("payload")
                .and_then(Value::as_str)
                .unwrap_or(UDP_PAYLOAD)
                .to_string();
            weights::run(&spec, |_| {
                let reply = udp_exchange(addr, payload.as_bytes(), timeout)?;
                pod_of(&reply)
            })
        }
        other => Err(format!("weights of kind {other} are not layer-4")),
    }
}

/// A certificate verifier that trusts nothing: the "system roots" of the Go client, which
/// hold none of the suite's generated CAs.
#[derive(Debug)]
struct TrustNothing(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for TrustNothing {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS client (TLS 1.2+, no ALPN) trusting the PEM `roots`, or nothing when None.
fn client_config(roots: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    match roots {
        Some(pem) => crate::http::tls_config(pem, None, &[]),
        None => {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(TrustNothing(provider)))
                .with_no_client_auth();
            Ok(Arc::new(cfg))
        }
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("dial: {e}"))?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|_| tcp.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    Ok(tcp)
}

/// Whether a handshake error is the connection being closed or reset by the Gateway.
fn is_rejection(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    )
}

/// `tls-connection-rejected`: a TLS handshake with the SNI must be cut off (EOF or reset);
/// any other outcome is retried every second for up to 30 s.
fn tls_rejected(ctx: &Ctx, addr: SocketAddr, e: &Value) -> Result<(), String> {
    let sni = e
        .pointer("/tls/serverName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = rustls::pki_types::ServerName::try_from(sni.to_string())
        .map_err(|err| format!("server name {sni:?}: {err}"))?;
    let cfg = client_config(None)?;
    let deadline = Instant::now() + capped(ctx, Duration::from_secs(30));
    loop {
        let outcome = connect(addr, Duration::from_secs(10)).and_then(|mut tcp| {
            let mut conn = rustls::ClientConnection::new(cfg.clone(), name.clone())
                .map_err(|err| err.to_string())?;
            while conn.is_handshaking() {
                if let Err(err) = conn.complete_io(&mut tcp) {
                    if is_rejection(&err) {
                        return Ok(());
                    }
                    return Err(format!("handshake: {err}"));
                }
            }
            Err("handshake completed".to_string())
        });
        let last = match outcome {
            Ok(()) => return Ok(()),
            Err(m) => m,
        };
        if Instant::now() > deadline {
            return Err(format!("connection with SNI {sni:?} not rejected: {last}"));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Reads one line (with its `\n`).
fn read_line(r: &mut impl BufRead) -> Result<String, String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) => Err("connection closed".into()),
        Ok(_) => Ok(line),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// Sends `cmd` and reads the one-line reply.
fn ask<S: Read + Write>(r: &mut BufReader<S>, cmd: &str) -> Result<String, String> {
    r.get_mut()
        .write_all(format!("{cmd}\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    read_line(r)
}

/// The TCP echo exchange (banner, PING, IS_TLS, TEST); returns the IS_TLS answer and the JSON.
/// Every failure here is a dial/read/decode error, which the caller retries.
fn exchange<S: Read + Write>(stream: S) -> Result<(bool, Value), String> {
    let mut r = BufReader::new(stream);
    let banner = read_line(&mut r)?;
    if banner != BANNER {
        return Err(format!("banner {banner:?}"));
    }
    let pong = ask(&mut r, "PING")?;
    if pong != "PONG\n" {
        return Err(format!("PING answered {pong:?}"));
    }
    let is_tls = match ask(&mut r, "IS_TLS")?.trim_end() {
        "true" => true,
        "false" => false,
        other => return Err(format!("IS_TLS answered {other:?}")),
    };
    let line = ask(&mut r, "TEST")?;
    let v: Value = serde_json::from_str(&line).map_err(|e| format!("TEST JSON: {e}"))?;
    Ok((is_tls, v))
}

/// Compares an exchange with `expect` (values only: a mismatch is fatal).
fn check_exchange(expect: &Value, is_tls: bool, v: &Value) -> Result<(), String> {
    let want_tls = expect
        .get("backendIsTLS")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if is_tls != want_tls {
        return Err(format!("IS_TLS {is_tls}, want {want_tls}"));
    }
    let ns = s(expect, "namespace");
    if s(v, "namespace") != ns {
        return Err(format!("namespace {:?}, want {ns:?}", s(v, "namespace")));
    }
    let prefix = format!("{}-", s(expect, "backend"));
    if !s(v, "pod").starts_with(&prefix) {
        return Err(format!("pod {:?}, want {prefix}*", s(v, "pod")));
    }
    let host = s(expect, "hostname");
    let sni = v
        .pointer("/tls/serverName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !host.is_empty() && sni != host {
        return Err(format!("backend saw SNI {sni:?}, want {host:?}"));
    }
    if let Some(p) = expect.get("tlsProtocol").and_then(Value::as_str) {
        let got = v
            .pointer("/tls/negotiatedProtocol")
            .and_then(Value::as_str)
            .unwrap_or("");
        if got != p {
            return Err(format!("negotiated protocol {got:?}, want {p:?}"));
        }
    }
    Ok(())
}

/// One `tcp` attempt: dial (plain or TLS), exchange, check.
fn tcp_attempt(
    addr: SocketAddr,
    tls: Option<&(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    expect: &Value,
) -> Result<(), Failure> {
    let tcp = connect(addr, Duration::from_secs(10)).map_err(Failure::Retry)?;
    let (is_tls, v) = match tls {
        None => exchange(tcp),
        Some((cfg, name)) => {
            let conn = rustls::ClientConnection::new(cfg.clone(), name.clone())
                .map_err(|e| Failure::Retry(e.to_string()))?;
            exchange(rustls::StreamOwned::new(conn, tcp))
        }
    }
    .map_err(Failure::Retry)?;
    check_exchange(expect, is_tls, &v).map_err(Failure::Fatal)
}

/// `tcp`: every second for up to 30 s, until one exchange passes; a wrong value fails at once.
fn tcp(ctx: &Ctx, addr: SocketAddr, e: &Value) -> Result<(), String> {
    let t = e.get("tcp").cloned().unwrap_or_default();
    let expect = e.get("expect").cloned().unwrap_or_default();
    let tls = if t.get("useTLS").and_then(Value::as_bool) == Some(true) {
        let roots = match t.get("caCertificate") {
            Some(ca) => {
                let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
                Some(
                    crate::kube::pem_of(&c, "ConfigMap", s(ca, "configMap"), s(ca, "key"))
                        .ok_or(format!("caCertificate {ca} not found"))?,
                )
            }
            None => None,
        };
        let sni = s(&t, "serverName").to_string();
        let name = rustls::pki_types::ServerName::try_from(sni.clone())
            .map_err(|err| format!("server name {sni:?}: {err}"))?;
        Some((client_config(roots.as_deref())?, name))
    } else {
        None
    };
    let deadline = Instant::now() + capped(ctx, Duration::from_secs(30));
    loop {
        let last = match tcp_attempt(addr, tls.as_ref(), &expect) {
            Ok(()) => return Ok(()),
            Err(Failure::Fatal(m)) => return Err(m),
            Err(Failure::Retry(m)) => m,
        };
        if Instant::now() > deadline {
            return Err(format!("no valid TCP exchange: {last}"));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `tcp-connect`: a plain TCP connect succeeds, polled every `interval` up to `timeout`.
fn tcp_connect(ctx: &Ctx, addr: SocketAddr, e: &Value) -> Result<(), String> {
    let interval = duration(e, "interval", Duration::from_millis(100));
    let deadline = Instant::now() + capped(ctx, duration(e, "timeout", Duration::from_secs(30)));
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(err) if Instant::now() > deadline => return Err(format!("{addr}: {err}")),
            Err(_) => std::thread::sleep(interval),
        }
    }
}

/// One new connection: banner, `TEST`, and the answering pod (upstream EchoSendOnce).
fn echo_send_once(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut r = BufReader::new(connect(addr, timeout)?);
    let banner = read_line(&mut r)?;
    if banner != BANNER {
        return Err(format!("banner {banner:?}"));
    }
    let line = ask(&mut r, "TEST")?;
    let v: Value = serde_json::from_str(&line).map_err(|e| format!("TEST JSON: {e}"))?;
    Ok(s(&v, "pod").to_string())
}

/// `tcp-echo-samples`: `count` single exchanges; every one must succeed on the right pod.
fn tcp_samples(addr: SocketAddr, e: &Value) -> Result<(), String> {
    let count = e.get("count").and_then(Value::as_u64).unwrap_or(1);
    let timeout = duration(e, "perRequestTimeout", Duration::from_secs(5));
    let want = s(e, "expectPodPrefix");
    let forbid = s(e, "forbidPodPrefix");
    for i in 0..count {
        let pod = echo_send_once(addr, timeout).map_err(|m| format!("sample {i}: {m}"))?;
        if !pod.starts_with(want) {
            return Err(format!("sample {i}: pod {pod:?}, want {want}*"));
        }
        if !forbid.is_empty() && pod.starts_with(forbid) {
            return Err(format!(
                "sample {i}: pod {pod:?} must not start with {forbid}"
            ));
        }
    }
    Ok(())
}

/// Sends one datagram from a new socket and reads one reply within `timeout`.
fn udp_exchange(addr: SocketAddr, payload: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let sock = UdpSocket::bind(("0.0.0.0", 0)).map_err(|e| format!("bind: {e}"))?;
    sock.connect(addr).map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    sock.send(payload).map_err(|e| format!("send: {e}"))?;
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).map_err(|e| format!("read: {e}"))?;
    buf.truncate(n);
    Ok(buf)
}

/// The non-empty `pod` of a UDP echo reply.
fn pod_of(reply: &[u8]) -> Result<String, String> {
    let v: Value = serde_json::from_slice(reply).map_err(|e| format!("reply JSON: {e}"))?;
    let pod = s(&v, "pod");
    if pod.is_empty() {
        return Err("reply without pod".into());
    }
    Ok(pod.to_string())
}

/// Checks a UDP echo reply against `expect` (`service`, `namespace`); no `expect`: any reply.
fn check_udp_reply(expect: Option<&Value>, reply: &[u8]) -> Result<(), String> {
    let Some(expect) = expect else {
        return Ok(());
    };
    let v: Value = serde_json::from_slice(reply).map_err(|e| format!("reply JSON: {e}"))?;
    for k in ["service", "namespace"] {
        if let Some(want) = expect.get(k).and_then(Value::as_str) {
            if s(&v, k) != want {
                return Err(format!("{k} {:?}, want {want:?}", s(&v, k)));
            }
        }
    }
    Ok(())
}

/// `udp`: every second up to `timeout`, a datagram from a new socket must get a (matching)
/// reply within 2 s.
fn udp(ctx: &Ctx, addr: SocketAddr, e: &Value) -> Result<(), String> {
    let deadline = Instant::now() + capped(ctx, duration(e, "timeout", Duration::from_secs(30)));
    loop {
        let last = match udp_exchange(addr, UDP_PAYLOAD.as_bytes(), Duration::from_secs(2))
            .and_then(|r| check_udp_reply(e.get("expect"), &r))
        {
            Ok(()) => return Ok(()),
            Err(m) => m,
        };
        if Instant::now() > deadline {
            return Err(format!("no UDP echo reply: {last}"));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `udp-echo-samples`: polls until every probe of one poll is answered, and every answer
/// comes from `expectBackendName` (another backend fails at once).
fn udp_samples(ctx: &Ctx, addr: SocketAddr, e: &Value) -> Result<(), String> {
    let interval = duration(e, "interval", Duration::from_secs(1));
    let probe_timeout = duration(e, "probeTimeout", Duration::from_secs(2));
    let probes = e.get("probesPerPoll").and_then(Value::as_u64).unwrap_or(1);
    let payload = e
        .get("payload")
        .and_then(Value::as_str)
        .unwrap_or(UDP_PAYLOAD);
    let want = s(e, "expectBackendName");
    let deadline = Instant::now() + capped(ctx, duration(e, "timeout", Duration::from_secs(60)));
    loop {
        let mut failed = None;
        for i in 0..probes {
            match udp_exchange(addr, payload.as_bytes(), probe_timeout).and_then(|r| pod_of(&r)) {
                Ok(pod) => {
                    let b = weights::backend_of(&pod);
                    if b != want {
                        return Err(format!(
                            "probe {i} answered by {pod:?}, want backend {want}"
                        ));
                    }
                }
                Err(m) => {
                    failed = Some(format!("probe {i}: {m}"));
                    break;
                }
            }
        }
        let Some(last) = failed else {
            return Ok(());
        };
        if Instant::now() > deadline {
            return Err(last);
        }
        std::thread::sleep(interval);
    }
}

/// One DNS exchange over UDP: the query is answered by a parseable reply with its id.
fn dns_exchange(addr: SocketAddr, name: &str, rtype: &str) -> Result<(), String> {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RecordType};
    let name = Name::from_ascii(name).map_err(|e| format!("name {name:?}: {e}"))?;
    let rtype: RecordType = rtype
        .parse()
        .map_err(|e| format!("record type {rtype:?}: {e}"))?;
    let mut q = Message::query();
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(name, rtype));
    let bytes = q.to_vec().map_err(|e| e.to_string())?;
    let reply = udp_exchange(addr, &bytes, Duration::from_secs(2))?;
    let m = Message::from_vec(&reply).map_err(|e| format!("reply: {e}"))?;
    if m.metadata.id != q.metadata.id {
        return Err(format!(
            "reply id {}, want {}",
            m.metadata.id, q.metadata.id
        ));
    }
    Ok(())
}

/// `dns`: every `interval` up to `timeout`, until a query gets a parseable reply.
fn dns(ctx: &Ctx, addr: SocketAddr, e: &Value) -> Result<(), String> {
    let d = e.get("dns").cloned().unwrap_or_default();
    let question = s(&d, "question");
    let rtype = match s(&d, "type") {
        "" => "A",
        t => t,
    };
    let interval = duration(e, "interval", Duration::from_secs(1));
    let deadline = Instant::now() + capped(ctx, duration(e, "timeout", Duration::from_secs(60)));
    loop {
        match dns_exchange(addr, question, rtype) {
            Ok(()) => return Ok(()),
            Err(m) if Instant::now() > deadline => return Err(format!("no DNS reply: {m}")),
            Err(_) => std::thread::sleep(interval),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn exchange_reads_the_echo_basic_dialogue() {
        use std::net::TcpListener;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.write_all(BANNER.as_bytes()).unwrap();
            let mut r = BufReader::new(c.try_clone().unwrap());
            for _ in 0..3 {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let reply = match line.trim_end() {
                    "PING" => "PONG\n".to_string(),
                    "IS_TLS" => "false\n".to_string(),
                    _ => "{\"namespace\":\"ns\",\"pod\":\"b-x-y\"}\n".to_string(),
                };
                c.write_all(reply.as_bytes()).unwrap();
            }
        });
        let (is_tls, v) = exchange(TcpStream::connect(addr).unwrap()).unwrap();
        server.join().unwrap();
        assert!(!is_tls);
        let ok = json!({"backend": "b", "namespace": "ns"});
        assert!(check_exchange(&ok, is_tls, &v).is_ok());
        let other = json!({"backend": "c", "namespace": "ns"});
        assert!(check_exchange(&other, is_tls, &v).is_err());
        let tls = json!({"backend": "b", "namespace": "ns", "backendIsTLS": true});
        assert!(check_exchange(&tls, is_tls, &v).is_err());
    }

    #[test]
    fn udp_replies_are_checked_only_when_expected() {
        let r = br#"{"request":"x","namespace":"ns","service":"svc","pod":"p-x-y"}"#;
        assert!(check_udp_reply(None, b"not json").is_ok());
        assert!(check_udp_reply(Some(&json!({"service": "svc", "namespace": "ns"})), r).is_ok());
        assert!(check_udp_reply(Some(&json!({"service": "other"})), r).is_err());
        assert_eq!(pod_of(r).unwrap(), "p-x-y");
    }

    #[test]
    fn dns_exchange_accepts_a_parseable_reply_with_the_query_id() {
        use hickory_proto::op::{Message, MessageType, OpCode};
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            r.add_query(q.queries[0].clone());
            server.send_to(&r.to_vec().unwrap(), from).unwrap();
        });
        dns_exchange(addr, "foo.bar.com.", "A").unwrap();
        t.join().unwrap();
    }

    #[test]
    fn a_closed_handshake_is_a_rejection() {
        use std::net::TcpListener;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf);
        });
        let cfg = client_config(None).unwrap();
        let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
        let mut tcp = TcpStream::connect(addr).unwrap();
        let mut conn = rustls::ClientConnection::new(cfg, name).unwrap();
        let err = loop {
            if let Err(e) = conn.complete_io(&mut tcp) {
                break e;
            }
        };
        server.join().unwrap();
        assert!(is_rejection(&err), "{err:?}");
    }
}
