//! `gatewright-echo`: the conformance backend (`echo-basic`) and an httpbin-like echo.
//!
//! Two ways to start it:
//! - `--ip <addr>`: echo-basic's own interface. The mode, ports, TLS files and identity come from
//!   the environment exactly as for the upstream container (`GRPC_ECHO_SERVER`, `TCP_ECHO_SERVER`,
//!   `UDP_ECHO_SERVER`, `HTTP_PORT`, `H2C_PORT`, `HTTPS_PORT`, `TCP_PORT`, `TLS_PORT`, `UDP_PORT`,
//!   `TLS_SERVER_CERT`, `TLS_SERVER_PRIVKEY` / `TLS_SERVER_PRIV_KEY`, `TLS_CLIENT_CACERTS`,
//!   `NAMESPACE`, `POD_NAME`, `INGRESS_NAME`, `SERVICE_NAME`), plus `DNS_SERVER` / `DNS_PORT` for
//!   a CoreDNS `whoami`-like responder; every listener is bound on that address.
//! - `--listen <addr:port>` (and `--also-listen`): the HTTP echo routes on each address, speaking
//!   HTTP/1.1 and h2c, for the quickstart and the controller's tests.

use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use gatewright_echo::{Config, Identity};

#[derive(Parser)]
#[command(about = "The Gateway API conformance echo backend (echo-basic) and an httpbin-like echo")]
struct Args {
    /// Run as echo-basic, configured by the environment, with every listener on this address.
    #[arg(long, conflicts_with_all = ["listen", "also_listen"])]
    ip: Option<IpAddr>,
    /// Address of the HTTP echo (without `--ip`).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// More addresses serving the same echo.
    #[arg(long = "also-listen")]
    also_listen: Vec<SocketAddr>,
    /// Reported as `pod` (default: $POD_NAME; without `--ip`, else `echo`).
    #[arg(long, env = "POD_NAME")]
    pod: Option<String>,
    /// Reported as `namespace` (default: $NAMESPACE; without `--ip`, else `default`).
    #[arg(long, env = "NAMESPACE")]
    namespace: Option<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let result = match args.ip {
        Some(ip) => {
            let mut config = Config::from_env();
            if let Some(pod) = args.pod {
                config.set_var("POD_NAME", pod);
            }
            if let Some(namespace) = args.namespace {
                config.set_var("NAMESPACE", namespace);
            }
            gatewright_echo::run(ip, config).await
        }
        None => {
            let identity = Identity {
                namespace: args.namespace.unwrap_or_else(|| "default".into()),
                pod: args.pod.unwrap_or_else(|| "echo".into()),
                ..Identity::default()
            };
            gatewright_echo::http::run_legacy(args.listen, &args.also_listen, identity).await
        }
    };
    if let Err(e) = result {
        eprintln!("gatewright-echo: {e}");
        std::process::exit(1);
    }
}
