//! The xDS server's request handling: arbitrary DiscoveryRequest / DeltaDiscoveryRequest
//! sequences (raw protobuf bytes decoded with prost, or structured requests that reuse the
//! nonces the server sent) interleaved with snapshot changes, on one stream.
//!
//! Checks: nothing panics; every response names a type we serve and carries a fresh nonce;
//! a stream that was refused stays refused (the driver ends it).
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use gatewright::{translate, Options, Snapshot};
use gatewright_controller::xds_server::{
    DeltaStream, GatewaySnapshot, Snapshots, SotwStream, XdsServer, TYPE_ORDER,
};
use libfuzzer_sys::fuzz_target;
use prost::Message;

const GATEWAY: &str = "default/insecure-port";
const QUICKSTART: &str = include_str!("../../examples/quickstart/quickstart.yaml");
const SERVICE: &str = include_str!("../../examples/quickstart/httpbin-service.yaml");

/// Three snapshot sets to switch between: none, the quickstart, the quickstart edited.
fn snapshot_sets() -> &'static [Arc<Snapshots>; 3] {
    static SETS: OnceLock<[Arc<Snapshots>; 3]> = OnceLock::new();
    SETS.get_or_init(|| {
        let build = |text: String, generation: u64| {
            let loaded = gatewright::load::parse_str(&text, "quickstart.yaml");
            let t = translate(&Snapshot::from_loaded(loaded.objects), &Options::default());
            let mut snaps = Snapshots::new();
            for (g, ir) in &t.gateways {
                let r = gatewright::xds::build(ir, gatewright::xds::Delivery::Ads, "0.0.0.0");
                snaps.insert(g.clone(), Arc::new(GatewaySnapshot::from_resources(generation, &r)));
            }
            Arc::new(snaps)
        };
        let base = format!("{QUICKSTART}\n---\n{SERVICE}");
        [
            Arc::new(Snapshots::new()),
            build(base.clone(), 1),
            build(base.replace("www.example.com", "api.example.com"), 2),
        ]
    })
}

#[derive(Arbitrary, Debug)]
enum TypeUrl {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Nonce {
    None,
    Last,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// Protobuf bytes, as a client might send them.
    Raw(Vec<u8>),
    /// A well-formed request.
    Request {
        node: Option<Option<String>>,
        type_url: TypeUrl,
        names: Vec<String>,
        unsubscribe: Vec<String>,
        initial: Vec<(String, String)>,
        nonce: Nonce,
        nack: Option<String>,
    },
    /// The controller publishes another snapshot set.
    Publish(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    delta: bool,
    steps: Vec<Step>,
}

fn type_url(t: &TypeUrl) -> String {
    match t {
        TypeUrl::Known(i) => TYPE_ORDER[*i as usize % TYPE_ORDER.len()].to_string(),
        TypeUrl::Other(s) => s.clone(),
    }
}

fn node(n: &Option<Option<String>>) -> Option<Node> {
    n.as_ref().map(|id| Node {
        id: id.clone().unwrap_or_else(|| GATEWAY.to_string()),
        ..Default::default()
    })
}

fn nonce(n: &Nonce, last: &BTreeMap<String, String>, t: &str) -> String {
    match n {
        Nonce::None => String::new(),
        Nonce::Last => last.get(t).cloned().unwrap_or_default(),
        Nonce::Other(s) => s.clone(),
    }
}

fn known(t: &str) -> bool {
    TYPE_ORDER.contains(&t)
}

fuzz_target!(|input: Input| {
    let sets = snapshot_sets();
    let (server, mut events) = XdsServer::new();
    let mut snaps = sets[1].clone();
    let mut sotw = SotwStream::new(&server);
    let mut delta = DeltaStream::new(&server);
    let mut last_nonce: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_nonces = std::collections::BTreeSet::new();
    for step in input.steps.iter().take(64) {
        let result: Result<Vec<(String, String)>, tonic::Status> = match step {
            Step::Publish(i) => {
                snaps = sets[*i as usize % sets.len()].clone();
                Ok(if input.delta {
                    delta.on_snapshots(&snaps).into_iter().map(|r| (r.type_url, r.nonce)).collect()
                } else {
                    sotw.on_snapshots(&snaps).into_iter().map(|r| (r.type_url, r.nonce)).collect()
                })
            }
            Step::Raw(bytes) => {
                if input.delta {
                    match DeltaDiscoveryRequest::decode(bytes.as_slice()) {
                        Ok(req) => delta
                            .on_request(req, &snaps)
                            .map(|rs| rs.into_iter().map(|r| (r.type_url, r.nonce)).collect()),
                        Err(_) => continue,
                    }
                } else {
                    match DiscoveryRequest::decode(bytes.as_slice()) {
                        Ok(req) => sotw
                            .on_request(req, &snaps)
                            .map(|rs| rs.into_iter().map(|r| (r.type_url, r.nonce)).collect()),
                        Err(_) => continue,
                    }
                }
            }
            Step::Request { node: n, type_url: t, names, unsubscribe, initial, nonce: nc, nack } => {
                let t = type_url(t);
                let error_detail = nack.as_ref().map(|m| RpcStatus {
                    code: 3,
                    message: m.clone(),
                    details: Vec::new(),
                });
                if input.delta {
                    let req = DeltaDiscoveryRequest {
                        node: node(n),
                        type_url: t.clone(),
                        resource_names_subscribe: names.clone(),
                        resource_names_unsubscribe: unsubscribe.clone(),
                        initial_resource_versions: initial.iter().cloned().collect(),
                        response_nonce: nonce(nc, &last_nonce, &t),
                        error_detail,
                        ..Default::default()
                    };
                    // Round-trip through the wire format, as the server receives it.
                    let req = DeltaDiscoveryRequest::decode(req.encode_to_vec().as_slice())
                        .expect("a request we encoded decodes");
                    delta
                        .on_request(req, &snaps)
                        .map(|rs| rs.into_iter().map(|r| (r.type_url, r.nonce)).collect())
                } else {
                    let req = DiscoveryRequest {
                        node: node(n),
                        type_url: t.clone(),
                        resource_names: names.clone(),
                        response_nonce: nonce(nc, &last_nonce, &t),
                        error_detail,
                        ..Default::default()
                    };
                    let req = DiscoveryRequest::decode(req.encode_to_vec().as_slice())
                        .expect("a request we encoded decodes");
                    sotw.on_request(req, &snaps)
                        .map(|rs| rs.into_iter().map(|r| (r.type_url, r.nonce)).collect())
                }
            }
        };
        match result {
            Ok(responses) => {
                for (t, n) in responses {
                    assert!(known(&t), "response for a type we do not serve: {t:?}");
                    assert!(seen_nonces.insert(n.clone()), "nonce {n} reused");
                    last_nonce.insert(t, n);
                }
            }
            // The stream ends here, as the server's driver ends it.
            Err(_) => break,
        }
        while events.try_recv().is_ok() {}
    }
});
