//! `kind: websocket` (SCHEMA.md §6.4): dial the Gateway with an Origin and no subprotocol, send
//! each frame and expect the same payload back, until 3 consecutive attempts succeed.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

use crate::traffic::Target;

/// Per-operation timeout of one attempt (the suite's requestTimeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One frame of an exchange: `{text: "..."}` or `{binaryBytes: [..]}`.
fn frame(v: &Value) -> Result<Message, String> {
    if let Some(t) = v.get("text").and_then(Value::as_str) {
        return Ok(Message::text(t));
    }
    if let Some(b) = v.get("binaryBytes").and_then(Value::as_array) {
        let bytes = b
            .iter()
            .map(|x| {
                x.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or(format!("binaryBytes: {x} is not a byte"))
            })
            .collect::<Result<Vec<u8>, String>>()?;
        return Ok(Message::binary(bytes));
    }
    Err(format!(
        "websocket frame {v} has neither text nor binaryBytes"
    ))
}

/// The Origin header: `<t.Name()>` stands for the Go subtest name (test/subtest, spaces as `_`).
fn origin(spec: &Value, test: &str, case: &str) -> String {
    let name = format!("{test}/{}", case.replace(' ', "_"));
    spec.get("origin")
        .and_then(Value::as_str)
        .unwrap_or("")
        .replace("<t.Name()>", &name)
}

/// One attempt: handshake, then every exchange in order.
fn attempt(t: &Target, spec: &Value, origin: &str) -> Result<(), String> {
    let path = spec.get("path").and_then(Value::as_str).unwrap_or("/");
    // Go's gwAddr always carries the port, so the URL (and Host) does too.
    let url = format!("ws://{}{path}", t.addr);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("{url}: {e}"))?;
    let origin = origin
        .parse()
        .map_err(|e| format!("origin {origin:?}: {e}"))?;
    request.headers_mut().insert("Origin", origin);
    if let Some(p) = spec
        .get("subprotocol")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        let p = p.parse().map_err(|e| format!("subprotocol {p:?}: {e}"))?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", p);
    }
    let tcp = TcpStream::connect_timeout(&t.addr, REQUEST_TIMEOUT).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let (mut ws, _) = tungstenite::client(request, tcp).map_err(|e| format!("handshake: {e}"))?;
    let result = (|| {
        for x in spec
            .get("exchanges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let send = frame(x.get("send").unwrap_or(&Value::Null))?;
            let want = frame(x.get("expect").unwrap_or(&Value::Null))?;
            ws.send(send).map_err(|e| format!("send: {e}"))?;
            let got = loop {
                match ws.read().map_err(|e| format!("receive: {e}"))? {
                    m @ (Message::Text(_) | Message::Binary(_)) => break m,
                    Message::Close(c) => return Err(format!("closed by the server: {c:?}")),
                    _ => continue,
                }
            };
            // The Go client reads text or binary alike and compares the payload only.
            if got.clone().into_data() != want.clone().into_data() {
                return Err(format!("reply {got:?}, want {want:?}"));
            }
        }
        Ok(())
    })();
    let _ = ws.close(None);
    let _ = ws.flush();
    result
}

/// Runs a websocket entry: 3 consecutive successful attempts within `timeout`, a 1 s pause
/// after each failure.
pub fn run(t: &Target, e: &Value, test: &str, timeout: Duration) -> Result<(), String> {
    let spec = e.get("websocket").cloned().unwrap_or_default();
    let case = e.get("name").and_then(Value::as_str).unwrap_or("");
    let origin = origin(&spec, test, case);
    let deadline = Instant::now() + timeout;
    let mut ok = 0;
    let mut last = String::new();
    while ok < 3 {
        if Instant::now() > deadline {
            return Err(format!(
                "websocket not consistent within {timeout:?}: {last}"
            ));
        }
        match attempt(t, &spec, &origin) {
            Ok(()) => ok += 1,
            Err(m) => {
                ok = 0;
                last = m;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    Ok(())
}
