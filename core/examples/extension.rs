//! An extension that adds a response header to every route and caps every cluster's
//! connection timeout, without forking the engine.
//!
//! Run: `cargo run -p gatewright --example extension -- examples/quickstart`

use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::google::protobuf::Duration;
use gatewright::extension::Extension;
use gatewright::xds::{self, render, Delivery, GatewayResources};

/// Stamps `x-gateway: <namespace/name>` on every response and a 2 s connect timeout on every cluster.
struct StampAndCap;

impl Extension for StampAndCap {
    fn post_process(&self, gateway: &str, resources: &mut GatewayResources) {
        for rc in &mut resources.routes {
            for vh in &mut rc.virtual_hosts {
                for r in &mut vh.routes {
                    r.response_headers_to_add.push(HeaderValueOption {
                        header: Some(HeaderValue {
                            key: "x-gateway".into(),
                            value: gateway.into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
        }
        for c in &mut resources.clusters {
            c.connect_timeout = Some(Duration {
                seconds: 2,
                nanos: 0,
            });
        }
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/quickstart".into());
    let loaded = match gatewright::load::files::load_paths(&[dir]) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let t = gatewright::translate(
        &gatewright::Snapshot::from_loaded(loaded.objects),
        &Default::default(),
    );
    for (gateway, ir) in &t.gateways {
        let mut resources = xds::build(ir, Delivery::Ads, "0.0.0.0");
        StampAndCap.post_process(gateway, &mut resources);
        match render::resources_to_json(&resources, true) {
            Ok(json) => println!(
                "{gateway}:\n{}",
                serde_json::to_string_pretty(&json["routes"]).unwrap_or_default()
            ),
            Err(e) => eprintln!("error: {e}"),
        }
    }
}
