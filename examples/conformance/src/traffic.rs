//! Traffic expectations (SCHEMA.md §6 and §8): HTTP and HTTPS round trips with the upstream
//! comparison and convergence rules, expected failures, and weighted distributions.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::checks::{poll, Ctx};
use crate::http::{self, Protocol, Request, Response, Tls};

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Where a traffic entry goes: the test's `gateways`, `trafficDefaults` and the entry itself.
pub struct Target {
    /// Gateway address and port.
    pub addr: SocketAddr,
    /// The port as written in URLs and Host (None for the scheme's default).
    pub url_port: Option<u16>,
}

/// Resolves the Gateway address and effective port of an entry.
pub fn target(
    ctx: &Ctx,
    test: &Value,
    defaults: &Value,
    e: &Value,
    tls: bool,
) -> Result<Target, String> {
    let gw = e
        .get("gateway")
        .or_else(|| defaults.get("gateway"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let g = test.get("gateways")?.as_array()?;
            (g.len() == 1).then(|| s(&g[0], "ref").to_string())
        })
        .ok_or("no gateway for traffic entry")?;
    let port = e
        .get("port")
        .or_else(|| defaults.get("port"))
        .and_then(Value::as_u64)
        .or_else(|| {
            test.get("gateways")?
                .as_array()?
                .iter()
                .find(|g| s(g, "ref") == gw)?
                .get("port")?
                .as_u64()
        })
        .unwrap_or(if tls { 443 } else { 80 }) as u16;
    let mut addr = None;
    poll(ctx.wait(180), || {
        addr = ctx.gateway_address(&gw);
        addr.as_ref().map(|_| ()).ok_or(format!("{gw}: no address"))
    })?;
    let ip: IpAddr = addr
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("{gw}: address: {e}"))?;
    let default = if tls { 443 } else { 80 };
    Ok(Target {
        addr: SocketAddr::new(ip, port),
        url_port: (port != default).then_some(port),
    })
}

/// A random version-4 UUID.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Builds the request of an `http` case.
pub fn build(e: &Value, t: &Target) -> Result<Request, String> {
    let r = e.get("request").cloned().unwrap_or_default();
    let mut path = s(&r, "path").to_string();
    if path.is_empty() {
        path = "/".into();
    }
    if e.get("freshUuidPerAttempt").and_then(Value::as_bool) == Some(true) {
        path = path.replace("{UUID}", &new_uuid());
    }
    let host = match r.get("host").and_then(Value::as_str) {
        Some(h) => h.to_string(),
        None => match t.url_port {
            Some(p) => format!("{}:{p}", t.addr.ip()),
            None => t.addr.ip().to_string(),
        },
    };
    let set = e
        .get("backendSetResponseHeaders")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut headers = vec![("X-Echo-Set-Header".to_string(), set)];
    for (k, v) in r
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        headers.push((k.clone(), v.as_str().unwrap_or("").to_string()));
    }
    Ok(Request {
        method: r
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_string(),
        path,
        host,
        headers,
        body: r.get("body").and_then(Value::as_str).map(str::to_string),
        protocol: Protocol::parse(r.get("protocol").and_then(Value::as_str))?,
    })
}

/// Adds `gateway-api-conformance-request-id=<id>` to the query of `path`, replacing an earlier
/// value, and re-encodes the query with its keys sorted (Go's `url.Values.Encode`).
pub fn with_request_id(path: &str, id: &str) -> String {
    const KEY: &str = "gateway-api-conformance-request-id";
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != KEY)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push((KEY.to_string(), id.to_string()));
    // Stable: values of one key keep their order, as in Go.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{encoded}")
}

/// Sets a fresh request id on `request.path` and `expectedRequest.path` of a case.
pub fn set_request_id(e: &mut Value, id: &str) {
    for p in ["/request/path", "/expectedRequest/path"] {
        if let Some(v) = e.pointer_mut(p) {
            let cur = v.as_str().unwrap_or("").to_string();
            *v = Value::from(with_request_id(&cur, id));
        }
    }
}

fn joined_eq(actual: &str, want: &str, ignore_ws: bool) -> bool {
    if ignore_ws {
        actual.replace(' ', "") == want.replace(' ', "")
    } else {
        actual == want
    }
}

/// Compares one attempt (SCHEMA.md §6.1 "Comparison of one attempt").
pub fn compare(
    e: &Value,
    req: &Request,
    resp: &Response,
    scheme: &str,
    t: &Target,
) -> Result<(), String> {
    let want = e.get("response").cloned().unwrap_or_default();
    let mut codes: Vec<u64> = want
        .get("statusCodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    if let Some(c) = want.get("statusCode").and_then(Value::as_u64) {
        codes.push(c);
    }
    if codes.is_empty() {
        codes.push(200);
    }
    let st = u64::from(resp.status);
    if (st == 408 || st == 504) && codes.iter().any(|c| *c == 408 || *c == 504) {
        return Ok(());
    }
    if !codes.contains(&st) {
        return Err(format!("status {st}, want {codes:?}"));
    }
    if let Some(p) = want.get("protocol").and_then(Value::as_str) {
        if resp.proto != p {
            return Err(format!("protocol {}, want {p}", resp.proto));
        }
    }
    // Transcribed under `response` (HTTPRouteCORS) or beside it.
    let ignore_ws = e
        .get("ignoreWhitespace")
        .or_else(|| want.get("ignoreWhitespace"))
        .and_then(Value::as_bool)
        == Some(true);
    if st == 200 || st == 204 {
        let json_body = resp.header("content-type").as_deref() == Some("application/json");
        let echoed: Value = if json_body {
            serde_json::from_slice(&resp.body).map_err(|e| format!("echo body: {e}"))?
        } else {
            serde_json::json!({"method": req.method})
        };
        let exp = e
            .get("expectedRequest")
            .cloned()
            .unwrap_or_else(|| e.get("request").cloned().unwrap_or_default());
        let exp_host = s(&exp, "host");
        if !exp_host.is_empty() && s(&echoed, "host") != exp_host {
            return Err(format!("host {:?}, want {exp_host:?}", s(&echoed, "host")));
        }
        let mut exp_path = exp
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if e.get("expectedRequest").is_none() || exp_path.contains("{UUID}") {
            exp_path = req.path.clone();
        }
        if s(&echoed, "path") != exp_path {
            return Err(format!("path {:?}, want {exp_path:?}", s(&echoed, "path")));
        }
        let method = exp.get("method").and_then(Value::as_str).unwrap_or("GET");
        if s(&echoed, "method") != method {
            return Err(format!("method {:?}, want {method}", s(&echoed, "method")));
        }
        let ns = s(e, "namespace");
        if s(&echoed, "namespace") != ns {
            return Err(format!(
                "namespace {:?}, want {ns:?}",
                s(&echoed, "namespace")
            ));
        }
        let eh = echoed
            .get("headers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let echoed_header = |name: &str| -> Option<String> {
            eh.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
        };
        for (k, v) in exp
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let want = v.as_str().unwrap_or("");
            match echoed_header(k) {
                Some(a) if joined_eq(&a, want, ignore_ws) => {}
                other => return Err(format!("request header {k}: {other:?}, want {want:?}")),
            }
        }
        if let Some(p) = exp.get("httpPort").and_then(Value::as_str) {
            if s(&echoed, "httpPort") != p {
                return Err(format!("httpPort {:?}, want {p}", s(&echoed, "httpPort")));
            }
        }
        for (k, v) in want
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let w = v.as_str().unwrap_or("");
            match resp.header(k) {
                Some(a) if joined_eq(&a, w, ignore_ws) => {}
                other => return Err(format!("response header {k}: {other:?}, want {w:?}")),
            }
        }
        for (k, v) in want
            .get("validHeaderValues")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let a = resp.header(k).unwrap_or_default();
            let ok = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|w| joined_eq(&a, w, ignore_ws));
            if !ok {
                return Err(format!("response header {k}: {a:?} not in {v}"));
            }
        }
        for h in want
            .get("absentHeaders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let h = h.as_str().unwrap_or("");
            if resp.header(h).is_some() {
                return Err(format!("response header {h} present"));
            }
        }
        for h in exp
            .get("absentHeaders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let h = h.as_str().unwrap_or("");
            if echoed_header(h).is_some() {
                return Err(format!("request header {h} present"));
            }
        }
        let backend = s(e, "backend");
        if !s(&echoed, "pod").starts_with(backend) {
            return Err(format!("pod {:?}, want {backend}*", s(&echoed, "pod")));
        }
        if let Some(sni) = exp.get("sni").and_then(Value::as_str) {
            let got = echoed
                .pointer("/tls/serverName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if got != sni {
                return Err(format!("sni {got:?}, want {sni}"));
            }
        }
        if let Some(cc) = exp.get("clientCert") {
            let want = cc
                .get("pem")
                .and_then(Value::as_str)
                .ok_or("clientCert was not resolved to a PEM")?;
            let peers: Vec<&str> = echoed
                .pointer("/tls/peerCertificates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !peers.iter().any(|p| p.trim() == want.trim()) {
                return Err(format!(
                    "the backend saw client certificates {peers:?}, not the expected one"
                ));
            }
        }
    } else if matches!(st, 300..=305 | 307 | 308) {
        if let Some(rr) = e.get("redirectRequest") {
            let loc = resp.header("location").ok_or("redirect without Location")?;
            let (lscheme, lhost, lport, lpath) = parse_location(&loc, scheme, t, &req.path);
            let want_scheme = match s(rr, "scheme") {
                "" => scheme,
                x => x,
            };
            if lscheme != want_scheme {
                return Err(format!("redirect scheme {lscheme}, want {want_scheme}"));
            }
            let wh = s(rr, "host");
            if !wh.is_empty() && lhost != wh {
                return Err(format!("redirect host {lhost}, want {wh}"));
            }
            let wp = match rr.get("port") {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(p)) => p.clone(),
                _ => String::new(),
            };
            if wp.is_empty() {
                let dflt = if lscheme == "https" { "443" } else { "80" };
                if !lport.is_empty() && lport != dflt {
                    return Err(format!("redirect port {lport}, want none"));
                }
            } else if lport != wp {
                return Err(format!("redirect port {lport:?}, want {wp}"));
            }
            let want_path = match s(rr, "path") {
                "" => req.path.split('?').next().unwrap_or("").to_string(),
                p => p.to_string(),
            };
            if lpath != want_path {
                return Err(format!("redirect path {lpath}, want {want_path}"));
            }
        }
    }
    Ok(())
}

/// Splits a Location resolved against the request URL into scheme, host, port and path.
fn parse_location(
    loc: &str,
    scheme: &str,
    t: &Target,
    req_path: &str,
) -> (String, String, String, String) {
    if let Some((sch, rest)) = loc.split_once("://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, p),
            _ => (authority, ""),
        };
        let path = path.split('?').next().unwrap_or("");
        return (
            sch.to_string(),
            host.to_string(),
            port.to_string(),
            path.to_string(),
        );
    }
    let port = t.url_port.map(|p| p.to_string()).unwrap_or_default();
    let path = if loc.starts_with('/') {
        loc.split('?').next().unwrap_or("").to_string()
    } else {
        let base = req_path.rsplit_once('/').map(|(b, _)| b).unwrap_or("");
        format!("{base}/{}", loc.split('?').next().unwrap_or(""))
    };
    (scheme.to_string(), t.addr.ip().to_string(), port, path)
}

/// TLS settings of an https entry.
fn tls_of(ctx: &Ctx, e: &Value) -> Result<Tls, String> {
    let t = e.get("tls").cloned().unwrap_or_default();
    let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
    let roots = crate::kube::server_trust_pem(&c, s(&t, "serverCertificate"))
        .ok_or("serverCertificate Secret not found")?;
    let client = match t.get("clientCertificate").and_then(Value::as_str) {
        Some(r) => Some((
            crate::kube::pem_of(&c, "Secret", r, "tls.crt").ok_or("client Secret")?,
            crate::kube::pem_of(&c, "Secret", r, "tls.key").ok_or("client Secret")?,
        )),
        None => None,
    };
    let proto = e.pointer("/request/protocol").and_then(Value::as_str);
    let alpn: &[&str] = if proto == Some("H2") {
        &["h2"]
    } else {
        &["http/1.1"]
    };
    let (config, cert_requested) = http::client_tls(
        &roots,
        client.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
        alpn,
    )?;
    Ok(Tls {
        server_name: s(&t, "serverName").to_string(),
        config,
        cert_requested,
        has_client_cert: client.is_some(),
    })
}

/// The scheme and TLS settings of an `http`/`https` case.
pub struct Conn {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// TLS settings for `https`.
    pub tls: Option<Tls>,
}

impl Conn {
    /// The connection of an `http` (plain) or `https` (TLS) entry.
    pub fn of(ctx: &Ctx, kind: &str, e: &Value) -> Result<Conn, String> {
        Ok(if kind == "https" {
            Conn {
                scheme: "https",
                tls: Some(tls_of(ctx, e)?),
            }
        } else {
            Conn {
                scheme: "http",
                tls: None,
            }
        })
    }
}

/// One round trip of a case, compared (SCHEMA.md §6.1); returns the response.
pub fn attempt(e: &Value, t: &Target, c: &Conn) -> Result<Response, String> {
    let req = build(e, t)?;
    let r = http::send(t.addr, &req, c.tls.as_ref(), REQUEST_TIMEOUT)
        .map_err(|m| format!("{} {}: {m}", req.method, req.path))?;
    compare(e, &req, &r, c.scheme, t).map_err(|m| format!("{} {}: {m}", req.method, req.path))?;
    Ok(r)
}

/// The suite's per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Repeats a case until `required` consecutive attempts pass, pausing 1 s after each failure;
/// fails when `timeout` passes first.
pub fn eventually(
    e: &Value,
    t: &Target,
    c: &Conn,
    required: usize,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut ok = 0;
    let mut last = String::new();
    while ok < required {
        if Instant::now() > deadline {
            return Err(format!("not consistent within {timeout:?}: {last}"));
        }
        match attempt(e, t, c) {
            Ok(_) => ok += 1,
            Err(m) => {
                ok = 0;
                last = m;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    Ok(())
}

/// Replaces `clientCert: {secretCert: ns/name}` (in `expectedRequest`, else `request`) by the
/// `tls.crt` PEM of that Secret, as `clientCert: {pem}`.
fn resolve_client_cert(ctx: &Ctx, e: &mut Value) -> Result<(), String> {
    for p in ["/expectedRequest/clientCert", "/request/clientCert"] {
        let Some(r) = e.pointer(p).map(|cc| s(cc, "secretCert").to_string()) else {
            continue;
        };
        let pem = {
            let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
            crate::kube::pem_of(&c, "Secret", &r, "tls.crt")
                .ok_or(format!("clientCert: no Secret {r}"))?
        };
        if let Some(v) = e.pointer_mut(p) {
            *v = serde_json::json!({ "pem": pem });
        }
    }
    Ok(())
}

/// Runs one traffic entry.
pub fn run(ctx: &Ctx, test: &Value, defaults: &Value, e: &Value) -> Result<(), String> {
    let kind = e
        .get("kind")
        .or_else(|| defaults.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("http");
    let timeout = ctx.wait(30);
    match kind {
        "http" | "https" => {
            let conn = Conn::of(ctx, kind, e)?;
            let t = target(ctx, test, defaults, e, conn.tls.is_some())?;
            let mut e = e.clone();
            if e.get("requestIdQueryParam").and_then(Value::as_bool) == Some(true) {
                set_request_id(&mut e, &new_uuid());
            }
            // The log watch starts before the requests (SCHEMA.md §6.1 `mirroredTo`).
            resolve_client_cert(ctx, &mut e)?;
            let watches = crate::mirror::watch_all(ctx, &e)?;
            eventually(&e, &t, &conn, 3, timeout)?;
            if let Some(tls) = &conn.tls {
                tls.check_cert_requested()?;
            }
            crate::mirror::expect_logged(&watches, &e)
        }
        "http-expect-failure" => {
            let t = target(ctx, test, defaults, e, false)?;
            let deadline = Instant::now() + timeout;
            let mut ok = 0;
            let mut last = String::new();
            while ok < 5 {
                if Instant::now() > deadline {
                    return Err(format!("no consistent failure: {last}"));
                }
                let req = build(e, &t)?;
                match http::send(t.addr, &req, None, REQUEST_TIMEOUT) {
                    Ok(r) if r.status == 200 => return Err(format!("{}: got 200", req.path)),
                    Ok(r) if r.status == 408 || r.status == 504 => {
                        ok = 0;
                        last = format!("status {}", r.status);
                    }
                    Ok(_) => ok += 1,
                    Err(m) => {
                        ok = 0;
                        last = m;
                    }
                }
            }
            Ok(())
        }
        "https-expect-failure" => {
            let tls = tls_of(ctx, e)?;
            let t = target(ctx, test, defaults, e, true)?;
            let req = build(e, &t)?;
            match http::send(t.addr, &req, Some(&tls), REQUEST_TIMEOUT) {
                Ok(r) => Err(format!("request succeeded with {}", r.status)),
                Err(_) => tls.check_cert_requested(),
            }
        }
        "http-repeat" => {
            let t = target(ctx, test, defaults, e, false)?;
            crate::repeat::run(e, &t)
        }
        "http-mirror-distribution" => {
            let t = target(ctx, test, defaults, e, false)?;
            crate::mirror::distribution(ctx, test, e, &t, timeout)
        }
        "websocket" => {
            let t = target(ctx, test, defaults, e, false)?;
            let name = test.get("shortName").and_then(Value::as_str).unwrap_or("");
            crate::websocket::run(&t, e, name, timeout)
        }
        "tls-connection-rejected"
        | "tcp"
        | "tcp-connect"
        | "tcp-echo-samples"
        | "udp"
        | "udp-echo-samples"
        | "dns" => crate::l4::run(ctx, test, defaults, e, kind),
        "grpc" => crate::grpc::run(ctx, test, defaults, e),
        other => Err(format!(
            "traffic kind {other} is not implemented by the harness"
        )),
    }
}

/// Runs a `weights` entry: HTTP here; gRPC, TCP and UDP in their modules.
pub fn weights(ctx: &Ctx, test: &Value, w: &Value) -> Result<(), String> {
    match s(w, "kind") {
        "tcp" | "udp" => return crate::l4::weights(ctx, test, w),
        "grpc" => return crate::grpc::weights(ctx, test, w),
        _ => {}
    }
    if s(w, "kind") != "http" {
        return Err(format!(
            "weights of kind {} are not implemented by the harness",
            s(w, "kind")
        ));
    }
    let defaults = serde_json::json!({"gateway": s(w, "gateway")});
    let t = target(ctx, test, &defaults, w, false)?;
    let mut case = w.get("perRequest").cloned().unwrap_or_default();
    case["request"] = w.get("request").cloned().unwrap_or_default();
    let entropy = w.pointer("/entropy/header").and_then(Value::as_str);
    crate::weights::run(&crate::weights::Spec::of(w), |i| {
        let mut req = build(&case, &t)?;
        // Half the samples carry a random value, so hashing load balancers see entropy.
        if let Some((h, v)) = entropy.and_then(|h| crate::weights::jitter(i).map(|v| (h, v))) {
            req.headers.push((h.to_string(), v));
        }
        let r = http::send(t.addr, &req, None, REQUEST_TIMEOUT)?;
        compare(&case, &req, &r, "http", &t)?;
        let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
        Ok(s(&v, "pod").to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_added_with_sorted_keys() {
        let id = "0f0e";
        assert_eq!(
            with_request_id("/mirror", id),
            "/mirror?gateway-api-conformance-request-id=0f0e"
        );
        assert_eq!(
            with_request_id("/p?z=1&a=2", id),
            "/p?a=2&gateway-api-conformance-request-id=0f0e&z=1"
        );
        // A second id replaces the first.
        let once = with_request_id("/p", "old");
        assert_eq!(
            with_request_id(&once, id),
            "/p?gateway-api-conformance-request-id=0f0e"
        );
    }
}
