//! `gatewright-echo`: echoes HTTP requests back as JSON, like httpbin and the Gateway API
//! conformance backend (`echo-basic`): `path`, `host`, `method`, `proto`, `headers`,
//! `namespace`, `pod`; `/status/NNN` answers with that status; `X-Echo-Set-Header`
//! sets response headers; `?delay=1s` waits. Speaks HTTP/1.1 and h2c on the same port.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use clap::Parser;

#[derive(Parser, Clone)]
#[command(about = "An httpbin-like echo backend")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// More addresses serving the same echo (the conformance backends' h2c port 3001).
    #[arg(long = "also-listen")]
    also_listen: Vec<SocketAddr>,
    /// Reported as `pod` (default: $POD_NAME, else `echo`).
    #[arg(long, env = "POD_NAME", default_value = "echo")]
    pod: String,
    /// Reported as `namespace` (default: $NAMESPACE).
    #[arg(long, env = "NAMESPACE", default_value = "default")]
    namespace: String,
}

/// Canonical header name, as Go's net/http prints it (`x-foo-bar` → `X-Foo-Bar`).
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn status_of(uri: &str) -> Option<Result<u16, ()>> {
    let rest = uri.strip_prefix("/status/")?;
    if rest.len() == 3 && rest.bytes().all(|b| b.is_ascii_digit()) {
        Some(rest.parse().map_err(|_| ()))
    } else {
        Some(Err(()))
    }
}

async fn echo(args: Args, peer: SocketAddr, req: Request) -> Response {
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    println!("Echoing back request made to {uri} to client ({peer})");
    if req.uri().path() == "/health" {
        return Response::new(Body::from("OK"));
    }
    if let Some(s) = status_of(&uri) {
        let code = s
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = code;
        return r;
    }
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(d) = query.get("delay") {
        match humantime::parse_duration(d) {
            Ok(d) => tokio::time::sleep(d).await,
            Err(e) => {
                let mut r = Response::new(Body::from(
                    serde_json::json!({"message": e.to_string()}).to_string(),
                ));
                *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return r;
            }
        }
    }
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in req.headers() {
        if k == "host" {
            continue;
        }
        headers
            .entry(canonical(k.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    let proto = match req.version() {
        axum::http::Version::HTTP_2 => "HTTP/2.0",
        axum::http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let body = serde_json::json!({
        "path": uri,
        "host": host,
        "method": req.method().as_str(),
        "proto": proto,
        "headers": headers,
        "args": query,
        "namespace": args.namespace,
        "ingress": "",
        "service": "",
        "pod": args.pod,
        "httpPort": args.listen.port().to_string(),
    });
    let mut r = Response::new(Body::from(
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    ));
    let set: Vec<String> = req
        .headers()
        .get_all("x-echo-set-header")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for item in set {
        if let Some((name, value)) = item.split_once(':') {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                r.headers_mut().append(n, v);
            }
        }
    }
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    println!("echo listening on {}", args.listen);
    let a = args.clone();
    let app = axum::Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request| {
            let a = a.clone();
            async move { echo(a, peer, req).await }
        },
    );
    for addr in &args.also_listen {
        let extra = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        println!("echo listening on {addr}");
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(
                extra,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        });
    }
    if let Err(e) = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
