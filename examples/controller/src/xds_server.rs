//! The Aggregated Discovery Service: state-of-the-world and delta ADS, one snapshot per Gateway.
//!
//! Versions are content hashes, so a resource set Envoy rejected (NACK) is never re-sent
//! until its content changes. Updates go out clusters first, then endpoints, secrets,
//! listeners and routes (make-before-break).

use std::collections::{BTreeMap, BTreeSet};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
    Resource as DeltaResource,
};
use envoy_types::pb::google::protobuf::Any;
use gatewright::xds::{type_urls, GatewayResources};
use tokio::sync::{mpsc, watch};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

/// The order updates are sent in: what a resource refers to goes out before it.
pub const TYPE_ORDER: [&str; 5] = [
    type_urls::CLUSTER,
    type_urls::ENDPOINT,
    type_urls::SECRET,
    type_urls::LISTENER,
    type_urls::ROUTE,
];

/// Longest resource name list a client may send; longer requests are refused.
pub const MAX_RESOURCE_NAMES: usize = 100_000;

/// One encoded resource and its content version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedResource {
    /// Protobuf bytes.
    pub bytes: Arc<Vec<u8>>,
    /// Content hash, used as the resource version.
    pub version: String,
}

/// Everything one Gateway's Envoy should have, by type URL and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewaySnapshot {
    /// Increases with every change; reported back when acknowledged.
    pub generation: u64,
    /// Resources by type URL, then name.
    pub resources: BTreeMap<&'static str, BTreeMap<String, EncodedResource>>,
}

fn hash(bytes: &[u8]) -> String {
    format!("{:016x}", gatewright::translate::routes::fnv1a(bytes))
}

impl GatewaySnapshot {
    /// Encodes a Gateway's resources.
    pub fn from_resources(generation: u64, r: &GatewayResources) -> Self {
        let mut resources: BTreeMap<&'static str, BTreeMap<String, EncodedResource>> =
            BTreeMap::new();
        for t in TYPE_ORDER {
            resources.insert(t, BTreeMap::new());
        }
        for (type_url, name, bytes) in r.encoded() {
            let version = hash(&bytes);
            resources.entry(type_url).or_default().insert(
                name,
                EncodedResource {
                    bytes: Arc::new(bytes),
                    version,
                },
            );
        }
        GatewaySnapshot {
            generation,
            resources,
        }
    }

    /// Whether two snapshots carry the same resources (generation aside).
    pub fn same_content(&self, other: &GatewaySnapshot) -> bool {
        self.resources == other.resources
    }
}

/// All Gateways' snapshots.
pub type Snapshots = BTreeMap<String, Arc<GatewaySnapshot>>;

/// What happened on the streams, for status and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XdsEvent {
    /// A proxy opened a stream for a Gateway.
    Connected {
        /// `namespace/name` of the Gateway.
        gateway: String,
        /// Whether the stream is delta.
        delta: bool,
    },
    /// A stream ended.
    Disconnected {
        /// `namespace/name`.
        gateway: String,
    },
    /// The proxy accepted a response.
    Ack {
        /// `namespace/name`.
        gateway: String,
        /// Type URL.
        type_url: String,
        /// Snapshot generation the response carried.
        generation: u64,
    },
    /// The proxy rejected a response.
    Nack {
        /// `namespace/name`.
        gateway: String,
        /// Type URL.
        type_url: String,
        /// Snapshot generation the response carried.
        generation: u64,
        /// Envoy's error detail.
        message: String,
        /// Names of the resources in the rejected response.
        resources: Vec<String>,
    },
    /// Something was sent.
    Push {
        /// `namespace/name`.
        gateway: String,
        /// Type URL.
        type_url: String,
    },
}

/// The ADS service: hand it snapshots with [`XdsServer::publish`], serve it with [`XdsServer::service`].
#[derive(Clone)]
pub struct XdsServer {
    snapshots: watch::Sender<Arc<Snapshots>>,
    events: mpsc::UnboundedSender<XdsEvent>,
    nonce: Arc<AtomicU64>,
}

impl XdsServer {
    /// A server with no snapshots; events about streams go to the returned receiver.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<XdsEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (snapshots, _) = watch::channel(Arc::new(Snapshots::new()));
        (
            XdsServer {
                snapshots,
                events: tx,
                nonce: Arc::new(AtomicU64::new(1)),
            },
            rx,
        )
    }

    /// Replaces every Gateway's snapshot; streams send only what changed.
    pub fn publish(&self, snapshots: Snapshots) {
        self.snapshots.send_replace(Arc::new(snapshots));
    }

    /// The current snapshots.
    pub fn current(&self) -> Arc<Snapshots> {
        self.snapshots.borrow().clone()
    }

    /// The tonic service.
    pub fn service(&self) -> AggregatedDiscoveryServiceServer<XdsServer> {
        AggregatedDiscoveryServiceServer::new(self.clone())
            .max_decoding_message_size(16 * 1024 * 1024)
    }

    fn next_nonce(&self) -> String {
        self.nonce.fetch_add(1, Ordering::Relaxed).to_string()
    }

    fn emit(&self, e: XdsEvent) {
        let _ = self.events.send(e);
    }
}

fn gateway_of(node: Option<&envoy_types::pb::envoy::config::core::v3::Node>) -> Option<String> {
    let n = node?;
    if !n.id.is_empty() {
        Some(n.id.clone())
    } else if !n.cluster.is_empty() {
        Some(n.cluster.clone())
    } else {
        None
    }
}

fn is_wildcard_type(t: &str) -> bool {
    t == type_urls::LISTENER || t == type_urls::CLUSTER
}

fn known_type(t: &str) -> bool {
    TYPE_ORDER.contains(&t)
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Per-type state of a state-of-the-world stream.
#[derive(Default)]
struct SotwType {
    /// Requested names; None means all (LDS/CDS wildcard).
    names: Option<BTreeSet<String>>,
    /// Version of the last response.
    sent_version: Option<String>,
    /// Nonce of the last response.
    nonce: String,
    /// Generation of the last response.
    generation: u64,
    /// Names in the last response.
    sent_names: Vec<String>,
}

struct SotwStream {
    server: XdsServer,
    gateway: Option<String>,
    types: BTreeMap<String, SotwType>,
}

impl SotwStream {
    /// Handles one request; returns the responses to send.
    fn on_request(
        &mut self,
        req: DiscoveryRequest,
        snaps: &Snapshots,
    ) -> Result<Vec<DiscoveryResponse>, Status> {
        if self.gateway.is_none() {
            let Some(g) = gateway_of(req.node.as_ref()) else {
                return Err(Status::invalid_argument(
                    "the first request must carry a node id naming the Gateway",
                ));
            };
            self.server.emit(XdsEvent::Connected {
                gateway: g.clone(),
                delta: false,
            });
            self.gateway = Some(g);
        }
        if !known_type(&req.type_url) {
            return Err(Status::invalid_argument(format!(
                "unknown type URL {:?}",
                req.type_url
            )));
        }
        if req.resource_names.len() > MAX_RESOURCE_NAMES {
            return Err(Status::resource_exhausted("too many resource names"));
        }
        let gateway = self.gateway.clone().unwrap_or_default();
        let ts = self.types.entry(req.type_url.clone()).or_default();
        if !req.response_nonce.is_empty() {
            if req.response_nonce != ts.nonce {
                return Ok(Vec::new()); // stale: answers an older response
            }
            match &req.error_detail {
                Some(err) => self.server.emit(XdsEvent::Nack {
                    gateway: gateway.clone(),
                    type_url: req.type_url.clone(),
                    generation: ts.generation,
                    message: err.message.clone(),
                    resources: ts.sent_names.clone(),
                }),
                None => self.server.emit(XdsEvent::Ack {
                    gateway: gateway.clone(),
                    type_url: req.type_url.clone(),
                    generation: ts.generation,
                }),
            }
        }
        let names = if is_wildcard_type(&req.type_url)
            && (req.resource_names.is_empty() || req.resource_names.iter().any(|n| n == "*"))
        {
            None
        } else {
            Some(req.resource_names.iter().cloned().collect())
        };
        let changed = ts.names != names || ts.sent_version.is_none();
        ts.names = names;
        let type_url = req.type_url.clone();
        Ok(self
            .respond(&type_url, snaps, changed)
            .into_iter()
            .collect())
    }

    /// Builds a response for a type when its content (or subscription) changed.
    fn respond(
        &mut self,
        type_url: &str,
        snaps: &Snapshots,
        force: bool,
    ) -> Option<DiscoveryResponse> {
        let gateway = self.gateway.as_ref()?;
        let ts = self.types.get_mut(type_url)?;
        let snap = snaps.get(gateway);
        let empty = BTreeMap::new();
        let all = snap
            .and_then(|s| s.resources.get(type_url))
            .unwrap_or(&empty);
        let selected: Vec<(&String, &EncodedResource)> = match &ts.names {
            None => all.iter().collect(),
            Some(names) => names.iter().filter_map(|n| all.get_key_value(n)).collect(),
        };
        let mut version_input = Vec::new();
        for (n, r) in &selected {
            version_input.extend_from_slice(n.as_bytes());
            version_input.extend_from_slice(r.version.as_bytes());
        }
        let version = hash(&version_input);
        if !force && ts.sent_version.as_deref() == Some(&version) {
            return None;
        }
        if snap.is_none() && ts.sent_version.is_none() {
            // Nothing known for this Gateway yet: wait for a snapshot rather than send an empty config.
            return None;
        }
        ts.sent_version = Some(version.clone());
        ts.nonce = self.server.next_nonce();
        ts.generation = snap.map_or(0, |s| s.generation);
        ts.sent_names = selected.iter().map(|(n, _)| (*n).clone()).collect();
        self.server.emit(XdsEvent::Push {
            gateway: gateway.clone(),
            type_url: type_url.to_string(),
        });
        Some(DiscoveryResponse {
            version_info: version,
            resources: selected
                .iter()
                .map(|(_, r)| Any {
                    type_url: type_url.to_string(),
                    value: r.bytes.as_ref().clone(),
                })
                .collect(),
            type_url: type_url.to_string(),
            nonce: ts.nonce.clone(),
            ..Default::default()
        })
    }
}

/// Per-type state of a delta stream.
#[derive(Default)]
struct DeltaType {
    /// Subscribed names; None means wildcard.
    names: Option<BTreeSet<String>>,
    /// What the client has: name to version.
    known: BTreeMap<String, String>,
    nonce: String,
    generation: u64,
    sent_names: Vec<String>,
    started: bool,
}

struct DeltaStream {
    server: XdsServer,
    gateway: Option<String>,
    types: BTreeMap<String, DeltaType>,
}

impl DeltaStream {
    fn on_request(
        &mut self,
        req: DeltaDiscoveryRequest,
        snaps: &Snapshots,
    ) -> Result<Vec<DeltaDiscoveryResponse>, Status> {
        if self.gateway.is_none() {
            let Some(g) = gateway_of(req.node.as_ref()) else {
                return Err(Status::invalid_argument(
                    "the first request must carry a node id naming the Gateway",
                ));
            };
            self.server.emit(XdsEvent::Connected {
                gateway: g.clone(),
                delta: true,
            });
            self.gateway = Some(g);
        }
        if !known_type(&req.type_url) {
            return Err(Status::invalid_argument(format!(
                "unknown type URL {:?}",
                req.type_url
            )));
        }
        if req.resource_names_subscribe.len() + req.resource_names_unsubscribe.len()
            > MAX_RESOURCE_NAMES
        {
            return Err(Status::resource_exhausted("too many resource names"));
        }
        let gateway = self.gateway.clone().unwrap_or_default();
        let ts = self.types.entry(req.type_url.clone()).or_default();
        if !req.response_nonce.is_empty() {
            if req.response_nonce == ts.nonce {
                match &req.error_detail {
                    Some(err) => self.server.emit(XdsEvent::Nack {
                        gateway: gateway.clone(),
                        type_url: req.type_url.clone(),
                        generation: ts.generation,
                        message: err.message.clone(),
                        resources: ts.sent_names.clone(),
                    }),
                    None => self.server.emit(XdsEvent::Ack {
                        gateway: gateway.clone(),
                        type_url: req.type_url.clone(),
                        generation: ts.generation,
                    }),
                }
            }
        }
        if !ts.started {
            ts.started = true;
            ts.known = req.initial_resource_versions.clone().into_iter().collect();
            let wildcard = is_wildcard_type(&req.type_url)
                && (req.resource_names_subscribe.is_empty()
                    || req.resource_names_subscribe.iter().any(|n| n == "*"));
            ts.names = if wildcard {
                None
            } else {
                Some(BTreeSet::new())
            };
        }
        if let Some(names) = &mut ts.names {
            names.extend(
                req.resource_names_subscribe
                    .iter()
                    .filter(|n| *n != "*")
                    .cloned(),
            );
            for n in &req.resource_names_unsubscribe {
                names.remove(n);
                ts.known.remove(n);
            }
        }
        let type_url = req.type_url.clone();
        Ok(self.respond(&type_url, snaps).into_iter().collect())
    }

    fn respond(&mut self, type_url: &str, snaps: &Snapshots) -> Option<DeltaDiscoveryResponse> {
        let gateway = self.gateway.as_ref()?;
        let ts = self.types.get_mut(type_url)?;
        let snap = snaps.get(gateway)?;
        let empty = BTreeMap::new();
        let all = snap.resources.get(type_url).unwrap_or(&empty);
        let wanted = |n: &str| ts.names.as_ref().is_none_or(|s| s.contains(n));
        let updated: Vec<(&String, &EncodedResource)> = all
            .iter()
            .filter(|(n, r)| wanted(n) && ts.known.get(*n) != Some(&r.version))
            .collect();
        let removed: Vec<String> = ts
            .known
            .keys()
            .filter(|n| !all.contains_key(*n))
            .cloned()
            .collect();
        if updated.is_empty() && removed.is_empty() {
            return None;
        }
        for n in &removed {
            ts.known.remove(n);
        }
        for (n, r) in &updated {
            ts.known.insert((*n).clone(), r.version.clone());
        }
        ts.nonce = self.server.next_nonce();
        ts.generation = snap.generation;
        ts.sent_names = updated.iter().map(|(n, _)| (*n).clone()).collect();
        self.server.emit(XdsEvent::Push {
            gateway: gateway.clone(),
            type_url: type_url.to_string(),
        });
        Some(DeltaDiscoveryResponse {
            system_version_info: snap.generation.to_string(),
            resources: updated
                .iter()
                .map(|(n, r)| DeltaResource {
                    name: (*n).clone(),
                    version: r.version.clone(),
                    resource: Some(Any {
                        type_url: type_url.to_string(),
                        value: r.bytes.as_ref().clone(),
                    }),
                    ..Default::default()
                })
                .collect(),
            type_url: type_url.to_string(),
            removed_resources: removed,
            nonce: ts.nonce.clone(),
            ..Default::default()
        })
    }
}

/// Responses are bounded per stream: a client that never reads stops receiving, it cannot grow memory.
const STREAM_BUFFER: usize = 16;

#[tonic::async_trait]
impl AggregatedDiscoveryService for XdsServer {
    type StreamAggregatedResourcesStream = BoxStream<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = BoxStream<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let mut input = request.into_inner();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let mut snapshots = self.snapshots.subscribe();
        let mut st = SotwStream {
            server: self.clone(),
            gateway: None,
            types: BTreeMap::new(),
        };
        tokio::spawn(async move {
            loop {
                let out: Result<Vec<DiscoveryResponse>, Status> = tokio::select! {
                    req = input.next() => match req {
                        Some(Ok(req)) => {
                            let snaps = snapshots.borrow_and_update().clone();
                            st.on_request(req, &snaps)
                        }
                        _ => break,
                    },
                    changed = snapshots.changed() => {
                        if changed.is_err() { break; }
                        let snaps = snapshots.borrow_and_update().clone();
                        Ok(TYPE_ORDER.iter().filter_map(|t| st.respond(t, &snaps, false)).collect())
                    }
                };
                match out {
                    Ok(responses) => {
                        for r in responses {
                            if tx.send(Ok(r)).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                }
            }
            if let Some(g) = st.gateway.take() {
                st.server.emit(XdsEvent::Disconnected { gateway: g });
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        let mut input = request.into_inner();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let mut snapshots = self.snapshots.subscribe();
        let mut st = DeltaStream {
            server: self.clone(),
            gateway: None,
            types: BTreeMap::new(),
        };
        tokio::spawn(async move {
            loop {
                let out: Result<Vec<DeltaDiscoveryResponse>, Status> = tokio::select! {
                    req = input.next() => match req {
                        Some(Ok(req)) => {
                            let snaps = snapshots.borrow_and_update().clone();
                            st.on_request(req, &snaps)
                        }
                        _ => break,
                    },
                    changed = snapshots.changed() => {
                        if changed.is_err() { break; }
                        let snaps = snapshots.borrow_and_update().clone();
                        Ok(TYPE_ORDER.iter().filter_map(|t| st.respond(t, &snaps)).collect())
                    }
                };
                match out {
                    Ok(responses) => {
                        for r in responses {
                            if tx.send(Ok(r)).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                }
            }
            if let Some(g) = st.gateway.take() {
                st.server.emit(XdsEvent::Disconnected { gateway: g });
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
