//! Compiles the Envoy protos shipped inside the `envoy-types` crate into a descriptor set.
//!
//! Usage: `cargo run --manifest-path tools/descriptors/Cargo.toml -- PROTO_DIR OUT`, where
//! PROTO_DIR is the `proto/` directory of the envoy-types version in core's Cargo.lock
//! (`scripts/gen-descriptors.sh` finds it). Only the files the translator emits and their
//! imports are compiled, to keep the committed set small.

use prost::Message;

/// Root protos: every message type gatewright puts into an Envoy config, directly or in an `Any`.
const ROOTS: &[&str] = &[
    "envoy/config/bootstrap/v3/bootstrap.proto",
    "envoy/config/listener/v3/listener.proto",
    "envoy/config/route/v3/route.proto",
    "envoy/config/cluster/v3/cluster.proto",
    "envoy/config/endpoint/v3/endpoint.proto",
    "envoy/extensions/transport_sockets/tls/v3/tls.proto",
    "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
    "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
    "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.proto",
    "envoy/extensions/filters/udp/udp_proxy/v3/route.proto",
    "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
    "envoy/extensions/filters/http/router/v3/router.proto",
    "envoy/extensions/filters/http/cors/v3/cors.proto",
    "envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto",
    "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
    "envoy/extensions/filters/http/stateful_session/v3/stateful_session.proto",
    "envoy/extensions/http/stateful_session/cookie/v3/cookie.proto",
    "envoy/extensions/http/stateful_session/header/v3/header.proto",
    "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
    "envoy/extensions/access_loggers/stream/v3/stream.proto",
    "envoy/service/discovery/v3/discovery.proto",
    "envoy/service/discovery/v3/ads.proto",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, proto_dir, out] = args.as_slice() else {
        eprintln!("usage: gatewright-descriptors PROTO_DIR OUT");
        std::process::exit(2);
    };
    let includes: Vec<String> = [
        "data-plane-api",
        "xds",
        "protoc-gen-validate",
        "googleapis",
        "cel-spec",
        "opentelemetry-proto",
        "client_model",
        "ratelimit",
    ]
    .iter()
    .map(|d| format!("{proto_dir}/{d}"))
    .collect();
    let mut set = match protox::compile(ROOTS, &includes) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("compiling Envoy protos failed: {e:?}");
            std::process::exit(1);
        }
    };
    // Comments are not needed for rendering and would triple the size.
    for file in &mut set.file {
        file.source_code_info = None;
    }
    if let Err(e) = std::fs::write(out, set.encode_to_vec()) {
        eprintln!("writing {out} failed: {e}");
        std::process::exit(1);
    }
    eprintln!("wrote {} files to {out}", set.file.len());
}
