//! UDP mode: every datagram on `UDP_PORT` is answered with one JSON datagram naming the request
//! and who answered it.

use std::net::IpAddr;

use serde::Serialize;

use crate::config::Config;
use crate::{bind_udp, log_line, Error, Identity};

/// echo-basic reads datagrams into a buffer of this size; longer ones are truncated.
const BUFFER: usize = 1024;

#[derive(Serialize)]
struct Reply<'a> {
    request: &'a str,
    #[serde(flatten)]
    identity: &'a Identity,
}

/// Runs echo-basic's UDP mode on `UDP_PORT` (default 8080).
pub async fn run(ip: IpAddr, config: &Config) -> Result<(), Error> {
    let port = config.port("UDP_PORT", 8080)?;
    let socket = bind_udp(ip, port.number).await?;
    log_line(format!("Starting UDP server on {ip}:{}", port.number));
    let identity = config.identity();
    let mut buf = [0u8; BUFFER];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            // ICMP errors from earlier replies surface here on some systems: not fatal.
            Err(e) => {
                log_line(format!("UDP read error: {e}"));
                continue;
            }
        };
        let payload = String::from_utf8_lossy(&buf[..n]);
        log_line(format!("Received UDP {payload} from {from}"));
        let reply = serde_json::to_vec(&Reply {
            request: &payload,
            identity: &identity,
        });
        match reply {
            Ok(reply) => {
                if let Err(e) = socket.send_to(&reply, from).await {
                    log_line(format!("UDP write to {from}: {e}"));
                }
            }
            Err(e) => log_line(format!("UDP reply to {from}: {e}")),
        }
    }
}
