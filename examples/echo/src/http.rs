//! HTTP mode: the plain listener (HTTP/1.1) with echo-basic's routes (`/health`, `/status/`,
//! `/retry/`, `/ws`, echo), the h2c listener (echo only, HTTP/2 with prior knowledge required), the
//! HTTPS listener (same routes as plain), and the echo reply the conformance client compares.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::serve::{serve_http, Conn, Protocols};
use crate::tls::TlsInfo;
use crate::{bind_tcp, log_line, tls, Error, Identity};

/// Go's `ParseForm` reads at most this much of a form body.
const MAX_FORM_BODY: usize = 10 << 20;

/// What every HTTP listener of one process shares.
#[derive(Debug)]
pub struct Echo {
    identity: Identity,
    /// Reported as `httpPort` on every listener.
    http_port: String,
    /// Attempts seen per `uuid` by the `/retry/` simulator (kept in memory, like upstream).
    retries: Mutex<HashMap<String, u64>>,
}

impl Echo {
    /// State for a process with this identity, reporting `http_port` as `httpPort`.
    pub fn new(identity: Identity, http_port: String) -> Arc<Self> {
        Arc::new(Echo {
            identity,
            http_port,
            retries: Mutex::new(HashMap::new()),
        })
    }
}

/// Runs echo-basic's HTTP mode: plain on `HTTP_PORT`, h2c on `H2C_PORT`, and HTTPS on `HTTPS_PORT`
/// when `TLS_SERVER_CERT` and `TLS_SERVER_PRIVKEY` are set.
pub async fn run(ip: IpAddr, config: &Config) -> Result<(), Error> {
    let http = config.port("HTTP_PORT", 3000)?;
    let h2c = config.port("H2C_PORT", 3001)?;
    let https = config.port("HTTPS_PORT", 8443)?;
    let tls = match config.tls_files("TLS_SERVER_PRIVKEY", true) {
        Some(files) => Some(tls::server_config(&files, &[b"h2", b"http/1.1"])?),
        None => None,
    };
    let state = Echo::new(config.identity(), http.text.clone());
    let mut servers = JoinSet::new();
    let plain = bind_tcp(ip, http.number).await?;
    let h2c_listener = bind_tcp(ip, h2c.number).await?;
    log_line(format!("Starting HTTP server on {ip}:{}", http.number));
    log_line(format!("Starting h2c server on {ip}:{}", h2c.number));
    spawn(
        &mut servers,
        "HTTP",
        plain,
        None,
        Protocols::Http1,
        main_router(&state),
    );
    spawn(
        &mut servers,
        "h2c",
        h2c_listener,
        None,
        Protocols::Auto,
        h2c_router(&state),
    );
    if let Some(tls) = tls {
        let listener = bind_tcp(ip, https.number).await?;
        log_line(format!("Starting HTTPS server on {ip}:{}", https.number));
        let acceptor = Some(TlsAcceptor::from(tls));
        spawn(
            &mut servers,
            "HTTPS",
            listener,
            acceptor,
            Protocols::Auto,
            main_router(&state),
        );
    }
    first_failure(servers).await
}

/// Runs the original CLI: the plain routes on every address, each speaking HTTP/1.1 and h2c, with
/// `httpPort` the port of `listen`.
pub async fn run_legacy(
    listen: SocketAddr,
    also_listen: &[SocketAddr],
    identity: Identity,
) -> Result<(), Error> {
    let state = Echo::new(identity, listen.port().to_string());
    let mut servers = JoinSet::new();
    for addr in std::iter::once(&listen).chain(also_listen) {
        let listener = bind_tcp(addr.ip(), addr.port()).await?;
        log_line(format!("echo listening on {addr}"));
        spawn(
            &mut servers,
            "HTTP",
            listener,
            None,
            Protocols::Auto,
            main_router(&state),
        );
    }
    first_failure(servers).await
}

type Servers = JoinSet<(&'static str, std::io::Error)>;

fn spawn(
    set: &mut Servers,
    what: &'static str,
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    protocols: Protocols,
    app: Router,
) {
    set.spawn(async move { (what, serve_http(listener, tls, protocols, app).await) });
}

/// Waits for the first listener to stop and reports why.
async fn first_failure(mut servers: Servers) -> Result<(), Error> {
    match servers.join_next().await {
        Some(Ok((what, e))) => Err(Error::Serve {
            what: what.into(),
            message: e.to_string(),
        }),
        Some(Err(e)) => Err(Error::Serve {
            what: "HTTP".into(),
            message: e.to_string(),
        }),
        None => Ok(()),
    }
}

/// The plain and HTTPS listeners' routes (Go `ServeMux` patterns on the `//`-collapsed path).
pub fn main_router(state: &Arc<Echo>) -> Router {
    Router::new().fallback(route_main).with_state(state.clone())
}

/// The h2c listener: every path is echoed, but only for HTTP/2 (or `Upgrade: h2c`) requests.
pub fn h2c_router(state: &Arc<Echo>) -> Router {
    Router::new().fallback(route_h2c).with_state(state.clone())
}

async fn route_main(
    State(state): State<Arc<Echo>>,
    Extension(conn): Extension<Conn>,
    req: Request,
) -> Response {
    let path = collapse_slashes(req.uri().path());
    match path.as_str() {
        "/health" => text(StatusCode::OK, "OK"),
        "/ws" => websocket(conn, req).await,
        "/status" | "/retry" => redirect_to_subtree(&path, req.uri().query()),
        p if p.starts_with("/status/") => status(&conn, &req),
        p if p.starts_with("/retry/") => retry(&state, conn, req).await,
        _ => echo(&state, &conn, req).await,
    }
}

async fn route_h2c(
    State(state): State<Arc<Echo>>,
    Extension(conn): Extension<Conn>,
    req: Request,
) -> Response {
    let upgrade_h2c = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes() == b"h2c");
    if req.version() != Version::HTTP_2 && !upgrade_h2c {
        return text(StatusCode::BAD_REQUEST, "Expected h2c request");
    }
    echo(&state, &conn, req).await
}

/// Collapses every run of `/` into one, as echo-basic does before routing.
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// Go's `RequestURI`: the request target as received (the `:path` for HTTP/2).
fn request_uri(req: &Request) -> String {
    if req.version() < Version::HTTP_2 && req.uri().scheme().is_some() {
        return req.uri().to_string();
    }
    req.uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Go's `ServeMux` answer to `/status` and `/retry`: a 301 to the subtree, query kept.
fn redirect_to_subtree(path: &str, query: Option<&str>) -> Response {
    let target = match query {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let body = format!("<a href=\"{target}\">Moved Permanently</a>.\n\n");
    let mut r = (
        StatusCode::MOVED_PERMANENTLY,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `/status/NNN`: the whole request URI must be exactly that; the answer has that status, no body.
fn status(conn: &Conn, req: &Request) -> Response {
    let uri = request_uri(req);
    let digits = uri
        .strip_prefix("/status/")
        .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()));
    let Some(digits) = digits else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match digits.parse::<u16>() {
        // Go's WriteHeader panics below 100 and the server drops the connection.
        Ok(code) if code < 100 => {
            conn.abort.close();
            StatusCode::BAD_REQUEST.into_response()
        }
        // An informational code is not final in Go: the handler's return then sends 200.
        Ok(code) if code < 200 => StatusCode::OK.into_response(),
        Ok(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::BAD_REQUEST)
            .into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// The first value of `key` in a URL-encoded string (Go's `url.Values.Get`).
fn form_get(encoded: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn query_get(req: &Request, key: &str) -> Option<String> {
    form_get(req.uri().query().unwrap_or("").as_bytes(), key)
}

/// Go's `time.ParseDuration`; negative durations sleep for nothing.
fn parse_go_duration(value: &str) -> Result<Duration, String> {
    go_parse_duration::parse_duration(value)
        .map(|ns| Duration::from_nanos(u64::try_from(ns).unwrap_or(0)))
        .map_err(|_| format!("time: invalid duration {value:?}"))
}

fn json_error(status: StatusCode, message: String) -> Response {
    let mut r = (
        status,
        serde_json::json!({ "message": message }).to_string(),
    )
        .into_response();
    set_json_headers(r.headers_mut());
    r
}

fn set_json_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The `/retry/` simulator: fails the first `succeedAfter` attempts of each `uuid`, with
/// `responseCode` or else a TCP reset, then echoes.
async fn retry(state: &Echo, conn: Conn, req: Request) -> Response {
    let Some(uuid) = query_get(&req, "uuid").filter(|u| !u.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "uuid is required");
    };
    let Some(succeed_after) = query_get(&req, "succeedAfter").and_then(|n| n.parse::<i64>().ok())
    else {
        return text(StatusCode::BAD_REQUEST, "succeedAfter is required");
    };
    let failing = {
        let mut retries = state.retries.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = retries.entry(uuid).or_insert(0);
        if i64::try_from(*seen).unwrap_or(i64::MAX) < succeed_after {
            *seen += 1;
            true
        } else {
            false
        }
    };
    if !failing {
        return echo(state, &conn, req).await;
    }
    if let Some(d) = query_get(&req, "delayRetry").filter(|d| !d.is_empty()) {
        match parse_go_duration(&d) {
            Ok(d) => tokio::time::sleep(d).await,
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
    let code = query_get(&req, "responseCode").and_then(|c| c.parse::<u16>().ok());
    match code.and_then(|c| StatusCode::from_u16(c).ok()) {
        Some(code) => code.into_response(),
        None => {
            conn.abort.reset();
            // The connection is being torn down; nothing is ever answered.
            std::future::pending().await
        }
    }
}

/// `/ws`: a WebSocket that sends every message back; the handshake needs an `Origin` header.
async fn websocket(conn: Conn, req: Request) -> Response {
    if !req.headers().contains_key(header::ORIGIN) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let (mut parts, _body) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let remote = conn.remote;
    upgrade.on_upgrade(move |socket| echo_websocket(socket, remote))
}

async fn echo_websocket(mut socket: WebSocket, remote: SocketAddr) {
    log_line(format!("established websocket connection {remote}"));
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Close(_) => break,
            // Pings are answered by the library; pongs need nothing.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

/// The echo reply body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EchoBody<'a> {
    path: String,
    host: String,
    method: &'a str,
    proto: &'static str,
    headers: BTreeMap<String, Vec<String>>,
    http_port: &'a str,
    #[serde(flatten)]
    identity: &'a Identity,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TlsBody {
    version: String,
    server_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    negotiated_protocol: String,
    cipher_suite: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    peer_certificates: Vec<String>,
}

impl From<&TlsInfo> for TlsBody {
    fn from(t: &TlsInfo) -> Self {
        TlsBody {
            version: t.version_http(),
            server_name: t.server_name.clone(),
            negotiated_protocol: t.negotiated_protocol.clone(),
            cipher_suite: t.cipher_suite_go(),
            peer_certificates: t.peer_certificates_pem(),
        }
    }
}

/// Canonical header name, as Go's net/http writes it (`x-foo-bar` → `X-Foo-Bar`).
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// The echo handler: logs the request, honours `delay`, and answers with what it received.
async fn echo(state: &Echo, conn: &Conn, req: Request) -> Response {
    let uri = request_uri(&req);
    log_line(format!(
        "Echoing back request made to {uri} to client ({})",
        conn.remote
    ));
    let (parts, body) = req.into_parts();
    // Go's FormValue: a form body (POST, PUT, PATCH) wins over the query.
    let mut delay = None;
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if is_form && matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
        if let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BODY).await {
            delay = form_get(&bytes, "delay");
        }
    }
    if delay.is_none() {
        delay = form_get(parts.uri.query().unwrap_or("").as_bytes(), "delay");
    }
    if let Some(d) = delay.filter(|d| !d.is_empty()) {
        match parse_go_duration(&d) {
            Ok(d) => tokio::time::sleep(d).await,
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
    let host = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            parts
                .headers
                .get(header::HOST)
                .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
        })
        .unwrap_or_default();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &parts.headers {
        // Go keeps neither in the header map: Host moves to r.Host, chunking to TransferEncoding.
        if k == header::HOST || (k == header::TRANSFER_ENCODING && parts.version < Version::HTTP_2)
        {
            continue;
        }
        headers
            .entry(canonical(k.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    let proto = match parts.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    let body = EchoBody {
        path: uri,
        host,
        method: parts.method.as_str(),
        proto,
        headers,
        http_port: &state.http_port,
        identity: &state.identity,
        tls: conn.tls.as_deref().map(TlsBody::from),
    };
    let mut json = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut json,
        serde_json::ser::PrettyFormatter::with_indent(b" "),
    );
    if let Err(e) = body.serialize(&mut ser) {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    let mut r = Response::new(Body::from(json));
    for (name, value) in echo_set_headers(&parts.headers) {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            r.headers_mut().append(n, v);
        }
    }
    set_json_headers(r.headers_mut());
    r
}

/// The response headers asked for with `X-Echo-Set-Header: Name:value,Other:value`, in order;
/// a repeated name gets `,value` appended to its first value.
fn echo_set_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for list in headers.get_all("x-echo-set-header") {
        let list = String::from_utf8_lossy(list.as_bytes());
        for item in list.split(',') {
            let item = item.trim();
            let (name, value) = item.split_once(':').unwrap_or((item, ""));
            if name.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(value.trim());
                }
                None => out.push((name.to_string(), value.to_string())),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_collapse() {
        assert_eq!(collapse_slashes("//status///200"), "/status/200");
        assert_eq!(collapse_slashes("/"), "/");
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical("x-foo-bar"), "X-Foo-Bar");
        assert_eq!(canonical("USER-AGENT"), "User-Agent");
    }

    #[test]
    fn set_header_items() {
        let mut h = HeaderMap::new();
        h.append("x-echo-set-header", HeaderValue::from_static(""));
        h.append(
            "x-echo-set-header",
            HeaderValue::from_static("X-A: 1 , x-b:2,X-A:3,nocolon"),
        );
        assert_eq!(
            echo_set_headers(&h),
            vec![
                ("X-A".to_string(), " 1,3".to_string()),
                ("x-b".to_string(), "2".to_string()),
                ("nocolon".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("-1s"), Ok(Duration::ZERO));
        assert!(parse_go_duration("soon").is_err());
    }
}
