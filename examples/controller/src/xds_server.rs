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
use rustc_hash::{FxHashMap, FxHashSet};
use std::time::Duration;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::{Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

/// The order updates are sent in: what a resource refers to goes out before it.
pub const TYPE_ORDER: [&str; 5] = [
    type_urls::CLUSTER,
    type_urls::ENDPOINT,
    type_urls::SECRET,
    type_urls::LISTENER,
    type_urls::ROUTE,
];

/// Most resource names a stream may subscribe to per type; a request that would exceed it ends the stream.
pub const MAX_RESOURCE_NAMES: usize = 20_000;

/// Longest resource name accepted (ours are `namespace/name/port`, well below this).
pub const MAX_NAME_BYTES: usize = 1024;

/// Longest node id accepted (a Gateway's `namespace/name` is at most 317 bytes).
pub const MAX_NODE_ID_BYTES: usize = 1024;

/// Largest request message decoded; larger ones end the stream with `OUT_OF_RANGE`.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Longest NACK error message kept for status and logs; the rest is cut.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// Most ADS streams open at once over all connections; more are refused with `RESOURCE_EXHAUSTED`.
pub const MAX_STREAMS: usize = 10_000;

/// Most concurrent HTTP/2 streams per connection (Envoy opens one).
pub const MAX_STREAMS_PER_CONNECTION: u32 = 100;

/// One encoded resource and its content version, both shared with the encoder's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedResource {
    /// Protobuf bytes.
    pub bytes: Arc<Vec<u8>>,
    /// Content hash, used as the resource version.
    pub version: Arc<str>,
}

/// One type's resources by name.
pub type TypeResources = BTreeMap<Arc<str>, EncodedResource>;

/// Everything one Gateway's Envoy should have, by type URL and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewaySnapshot {
    /// Increases with every change; reported back when acknowledged.
    pub generation: u64,
    /// Resources by type URL, then name.
    pub resources: BTreeMap<&'static str, TypeResources>,
}

impl GatewaySnapshot {
    /// Encodes a Gateway's resources.
    pub fn from_resources(generation: u64, r: &GatewayResources) -> Self {
        let mut resources: BTreeMap<&'static str, TypeResources> =
            TYPE_ORDER.iter().map(|t| (*t, BTreeMap::new())).collect();
        for (type_url, name, bytes) in r.encoded() {
            let version = gatewright::xds::encoded::version(&bytes);
            resources.entry(type_url).or_default().insert(
                name.into(),
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

    /// A Gateway's resources from the incremental encoder: unchanged ones keep their bytes.
    pub fn from_encoded(
        generation: u64,
        encoded: Vec<gatewright::xds::encoded::EncodedResource>,
    ) -> Self {
        let mut resources: BTreeMap<&'static str, TypeResources> =
            TYPE_ORDER.iter().map(|t| (*t, BTreeMap::new())).collect();
        // The encoder hands the resources grouped by type and in name order: each type's map is
        // built in one pass (10,000 routes make 20,000 clusters and endpoint sets, on every change).
        let mut encoded = encoded.into_iter().peekable();
        while let Some(type_url) = encoded.peek().map(|r| r.type_url) {
            let group: TypeResources =
                std::iter::from_fn(|| encoded.next_if(|r| r.type_url == type_url))
                    .map(|r| {
                        let resource = EncodedResource {
                            bytes: r.bytes,
                            version: r.version,
                        };
                        (r.name, resource)
                    })
                    .collect();
            let into = resources.entry(type_url).or_default();
            if into.is_empty() {
                *into = group;
            } else {
                into.extend(group);
            }
        }
        GatewaySnapshot {
            generation,
            resources,
        }
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
    streams: Arc<Semaphore>,
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
                streams: Arc::new(Semaphore::new(MAX_STREAMS)),
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

    /// The tonic service, refusing requests larger than [`MAX_REQUEST_BYTES`].
    pub fn service(&self) -> AggregatedDiscoveryServiceServer<XdsServer> {
        AggregatedDiscoveryServiceServer::new(self.clone())
            .max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    /// Serves ADS on `listener` (over TLS when `tls` is given) with the limits above, until it fails.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        tls: Option<ServerTlsConfig>,
    ) -> Result<(), tonic::transport::Error> {
        let mut builder = Server::builder()
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .tcp_keepalive(Some(Duration::from_secs(60)))
            .tcp_nodelay(true);
        if let Some(tls) = tls {
            builder = builder.tls_config(tls)?;
        }
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        builder
            .add_service(self.service())
            .serve_with_incoming(incoming)
            .await
    }

    fn next_nonce(&self) -> String {
        self.nonce.fetch_add(1, Ordering::Relaxed).to_string()
    }

    fn emit(&self, e: XdsEvent) {
        let _ = self.events.send(e);
    }
}

/// The Gateway a stream serves: the node id (else cluster) of its first request.
fn gateway_of(
    node: Option<&envoy_types::pb::envoy::config::core::v3::Node>,
) -> Result<String, Status> {
    let id = node
        .map(|n| if n.id.is_empty() { &n.cluster } else { &n.id })
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Status::invalid_argument("the first request must carry a node id naming the Gateway")
        })?;
    if id.len() > MAX_NODE_ID_BYTES {
        return Err(Status::invalid_argument("node id too long"));
    }
    Ok(id.clone())
}

/// Refuses requests naming too many or too long resources.
fn check_names<'a>(
    names: impl IntoIterator<Item = &'a String>,
    count: usize,
) -> Result<(), Status> {
    if count > MAX_RESOURCE_NAMES {
        return Err(Status::resource_exhausted(format!(
            "more than {MAX_RESOURCE_NAMES} resource names"
        )));
    }
    if names.into_iter().any(|n| n.len() > MAX_NAME_BYTES) {
        return Err(Status::invalid_argument(format!(
            "resource name longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Envoy's error detail, cut to [`MAX_ERROR_MESSAGE_BYTES`] on a character boundary.
fn error_message(m: &str) -> String {
    if m.len() <= MAX_ERROR_MESSAGE_BYTES {
        return m.to_string();
    }
    let mut end = MAX_ERROR_MESSAGE_BYTES;
    while !m.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &m[..end])
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
    /// Whether the last response was already ACKed or NACKed (repeats report nothing).
    answered: bool,
}

/// The state of one state-of-the-world ADS stream, driven by its requests and by snapshot
/// changes; public so fuzzers and tests can drive it without sockets.
pub struct SotwStream {
    server: XdsServer,
    gateway: Option<String>,
    types: BTreeMap<String, SotwType>,
}

impl SotwStream {
    /// A stream that has seen no request yet.
    pub fn new(server: &XdsServer) -> Self {
        SotwStream {
            server: server.clone(),
            gateway: None,
            types: BTreeMap::new(),
        }
    }

    /// The Gateway this stream serves, once its first request named it.
    pub fn gateway(&self) -> Option<&str> {
        self.gateway.as_deref()
    }

    /// Handles one request: the responses to send, or the status that ends the stream.
    pub fn on_request(
        &mut self,
        req: DiscoveryRequest,
        snaps: &Snapshots,
    ) -> Result<Vec<DiscoveryResponse>, Status> {
        if self.gateway.is_none() {
            let g = gateway_of(req.node.as_ref())?;
            self.server.emit(XdsEvent::Connected {
                gateway: g.clone(),
                delta: false,
            });
            self.gateway = Some(g);
        }
        if !known_type(&req.type_url) {
            return Err(Status::invalid_argument(format!(
                "unknown type URL {:?}",
                error_message(&req.type_url)
            )));
        }
        check_names(&req.resource_names, req.resource_names.len())?;
        let gateway = self.gateway.clone().unwrap_or_default();
        let ts = self.types.entry(req.type_url.clone()).or_default();
        if !req.response_nonce.is_empty() {
            if req.response_nonce != ts.nonce {
                return Ok(Vec::new()); // stale: answers an older response
            }
            if !ts.answered {
                ts.answered = true;
                self.server.emit(match &req.error_detail {
                    Some(err) => XdsEvent::Nack {
                        gateway: gateway.clone(),
                        type_url: req.type_url.clone(),
                        generation: ts.generation,
                        message: error_message(&err.message),
                        resources: ts.sent_names.clone(),
                    },
                    None => XdsEvent::Ack {
                        gateway: gateway.clone(),
                        type_url: req.type_url.clone(),
                        generation: ts.generation,
                    },
                });
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

    /// Responses for every type whose content changed in `snaps`, in [`TYPE_ORDER`].
    pub fn on_snapshots(&mut self, snaps: &Snapshots) -> Vec<DiscoveryResponse> {
        TYPE_ORDER
            .iter()
            .filter_map(|t| self.respond(t, snaps, false))
            .collect()
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
        let selected: Vec<(&Arc<str>, &EncodedResource)> = match &ts.names {
            None => all.iter().collect(),
            Some(names) => names
                .iter()
                .filter_map(|n| all.get_key_value(n.as_str()))
                .collect(),
        };
        let mut version_input = Vec::new();
        for (n, r) in &selected {
            version_input.extend_from_slice(n.as_bytes());
            version_input.extend_from_slice(r.version.as_bytes());
        }
        let version = gatewright::xds::encoded::version(&version_input).to_string();
        if !force && ts.sent_version.as_deref() == Some(&version) {
            return None;
        }
        if snap.is_none() && ts.sent_version.is_none() {
            // Nothing known for this Gateway yet: wait for a snapshot rather than send an empty config.
            return None;
        }
        ts.sent_version = Some(version.clone());
        ts.nonce = self.server.next_nonce();
        ts.answered = false;
        ts.generation = snap.map_or(0, |s| s.generation);
        ts.sent_names = selected.iter().map(|(n, _)| n.to_string()).collect();
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
    /// Subscribed names; None means wildcard. Hashed: every update looks up every resource.
    names: Option<FxHashSet<String>>,
    /// What the client has: name to version.
    known: FxHashMap<String, Arc<str>>,
    nonce: String,
    generation: u64,
    sent_names: Vec<String>,
    started: bool,
    /// Whether the last response was already ACKed or NACKed (repeats report nothing).
    answered: bool,
}

/// The state of one incremental (delta) ADS stream, driven by its requests and by snapshot
/// changes; public so fuzzers and tests can drive it without sockets.
pub struct DeltaStream {
    server: XdsServer,
    gateway: Option<String>,
    types: BTreeMap<String, DeltaType>,
}

impl DeltaStream {
    /// A stream that has seen no request yet.
    pub fn new(server: &XdsServer) -> Self {
        DeltaStream {
            server: server.clone(),
            gateway: None,
            types: BTreeMap::new(),
        }
    }

    /// The Gateway this stream serves, once its first request named it.
    pub fn gateway(&self) -> Option<&str> {
        self.gateway.as_deref()
    }

    /// Handles one request: the responses to send, or the status that ends the stream.
    pub fn on_request(
        &mut self,
        req: DeltaDiscoveryRequest,
        snaps: &Snapshots,
    ) -> Result<Vec<DeltaDiscoveryResponse>, Status> {
        if self.gateway.is_none() {
            let g = gateway_of(req.node.as_ref())?;
            self.server.emit(XdsEvent::Connected {
                gateway: g.clone(),
                delta: true,
            });
            self.gateway = Some(g);
        }
        if !known_type(&req.type_url) {
            return Err(Status::invalid_argument(format!(
                "unknown type URL {:?}",
                error_message(&req.type_url)
            )));
        }
        check_names(
            req.resource_names_subscribe
                .iter()
                .chain(&req.resource_names_unsubscribe)
                .chain(req.initial_resource_versions.keys()),
            req.resource_names_subscribe.len()
                + req.resource_names_unsubscribe.len()
                + req.initial_resource_versions.len(),
        )?;
        let gateway = self.gateway.clone().unwrap_or_default();
        let ts = self.types.entry(req.type_url.clone()).or_default();
        if !req.response_nonce.is_empty() && req.response_nonce == ts.nonce && !ts.answered {
            ts.answered = true;
            self.server.emit(match &req.error_detail {
                Some(err) => XdsEvent::Nack {
                    gateway: gateway.clone(),
                    type_url: req.type_url.clone(),
                    generation: ts.generation,
                    message: error_message(&err.message),
                    resources: ts.sent_names.clone(),
                },
                None => XdsEvent::Ack {
                    gateway: gateway.clone(),
                    type_url: req.type_url.clone(),
                    generation: ts.generation,
                },
            });
        }
        if !ts.started {
            ts.started = true;
            ts.known = req
                .initial_resource_versions
                .iter()
                .map(|(n, v)| (n.clone(), Arc::from(v.as_str())))
                .collect();
            let wildcard = is_wildcard_type(&req.type_url)
                && (req.resource_names_subscribe.is_empty()
                    || req.resource_names_subscribe.iter().any(|n| n == "*"));
            ts.names = if wildcard {
                None
            } else {
                Some(FxHashSet::default())
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
            // Subscriptions add up over a stream: bound the total, not just one request.
            if names.len() > MAX_RESOURCE_NAMES {
                return Err(Status::resource_exhausted(format!(
                    "more than {MAX_RESOURCE_NAMES} resource names subscribed"
                )));
            }
        }
        let type_url = req.type_url.clone();
        Ok(self.respond(&type_url, snaps).into_iter().collect())
    }

    /// Responses for every type whose content changed in `snaps`, in [`TYPE_ORDER`].
    pub fn on_snapshots(&mut self, snaps: &Snapshots) -> Vec<DeltaDiscoveryResponse> {
        TYPE_ORDER
            .iter()
            .filter_map(|t| self.respond(t, snaps))
            .collect()
    }

    fn respond(&mut self, type_url: &str, snaps: &Snapshots) -> Option<DeltaDiscoveryResponse> {
        let gateway = self.gateway.as_ref()?;
        let ts = self.types.get_mut(type_url)?;
        let snap = snaps.get(gateway)?;
        let empty = BTreeMap::new();
        let all = snap.resources.get(type_url).unwrap_or(&empty);
        let wanted = |n: &str| ts.names.as_ref().is_none_or(|s| s.contains(n));
        // One pass over the resources, counting the known ones among them: when that is all
        // of them (nearly always), nothing was removed and the known names need no lookups.
        let mut still_there = 0;
        let updated: Vec<(&Arc<str>, &EncodedResource)> = all
            .iter()
            .filter(|(n, r)| {
                let known = ts.known.get(&***n);
                still_there += usize::from(known.is_some());
                wanted(n) && known != Some(&r.version)
            })
            .collect();
        let mut removed: Vec<String> = if still_there == ts.known.len() {
            Vec::new()
        } else {
            ts.known
                .keys()
                .filter(|n| !all.contains_key(n.as_str()))
                .cloned()
                .collect()
        };
        // The known names are hashed, in no order: sent sorted, the same every time.
        removed.sort_unstable();
        if updated.is_empty() && removed.is_empty() {
            return None;
        }
        for n in &removed {
            ts.known.remove(n);
        }
        for (n, r) in &updated {
            ts.known.insert(n.to_string(), r.version.clone());
        }
        ts.nonce = self.server.next_nonce();
        ts.answered = false;
        ts.generation = snap.generation;
        ts.sent_names = updated.iter().map(|(n, _)| n.to_string()).collect();
        self.server.emit(XdsEvent::Push {
            gateway: gateway.clone(),
            type_url: type_url.to_string(),
        });
        Some(DeltaDiscoveryResponse {
            system_version_info: snap.generation.to_string(),
            resources: updated
                .iter()
                .map(|(n, r)| DeltaResource {
                    name: n.to_string(),
                    version: r.version.to_string(),
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

/// Responses queued per stream: a client that never reads stops receiving, it cannot grow memory.
const STREAM_BUFFER: usize = 1;

/// What the stream driver needs of a stream's state.
trait Session: Send + 'static {
    type Req: Send + 'static;
    type Resp: Send + 'static;
    fn on_request(&mut self, req: Self::Req, snaps: &Snapshots) -> Result<Vec<Self::Resp>, Status>;
    fn on_snapshots(&mut self, snaps: &Snapshots) -> Vec<Self::Resp>;
    fn server(&self) -> &XdsServer;
    fn take_gateway(&mut self) -> Option<String>;
}

impl Session for SotwStream {
    type Req = DiscoveryRequest;
    type Resp = DiscoveryResponse;
    fn on_request(
        &mut self,
        req: DiscoveryRequest,
        s: &Snapshots,
    ) -> Result<Vec<Self::Resp>, Status> {
        SotwStream::on_request(self, req, s)
    }
    fn on_snapshots(&mut self, s: &Snapshots) -> Vec<Self::Resp> {
        SotwStream::on_snapshots(self, s)
    }
    fn server(&self) -> &XdsServer {
        &self.server
    }
    fn take_gateway(&mut self) -> Option<String> {
        self.gateway.take()
    }
}

impl Session for DeltaStream {
    type Req = DeltaDiscoveryRequest;
    type Resp = DeltaDiscoveryResponse;
    fn on_request(
        &mut self,
        req: DeltaDiscoveryRequest,
        s: &Snapshots,
    ) -> Result<Vec<Self::Resp>, Status> {
        DeltaStream::on_request(self, req, s)
    }
    fn on_snapshots(&mut self, s: &Snapshots) -> Vec<Self::Resp> {
        DeltaStream::on_snapshots(self, s)
    }
    fn server(&self) -> &XdsServer {
        &self.server
    }
    fn take_gateway(&mut self) -> Option<String> {
        self.gateway.take()
    }
}

/// What woke a stream's task.
enum Wake<R> {
    /// A request from the proxy.
    Request(R),
    /// A request that could not be decoded: the stream ends with this status.
    Failed(Status),
    /// New snapshots were published.
    Snapshots,
}

/// One wake-up of a stream: the responses to send, or the status that ends it.
///
/// A request is answered from the current snapshots without marking them seen. A change
/// published just before the request then stays pending, and the next turn sends it for
/// every type; marking it seen here would send it only for the requested type, and the
/// other types would miss it until the next change (a proxy stuck on old listeners).
fn turn<S: Session>(
    st: &mut S,
    wake: Wake<S::Req>,
    snapshots: &mut watch::Receiver<Arc<Snapshots>>,
) -> Result<Vec<S::Resp>, Status> {
    match wake {
        Wake::Request(req) => {
            let snaps = snapshots.borrow().clone();
            st.on_request(req, &snaps)
        }
        Wake::Failed(status) => Err(status),
        Wake::Snapshots => {
            let snaps = snapshots.borrow_and_update().clone();
            Ok(st.on_snapshots(&snaps))
        }
    }
}

/// Runs one stream on its own task: requests and snapshot changes in, responses out.
fn drive<S: Session>(
    mut st: S,
    mut input: Streaming<S::Req>,
    permit: OwnedSemaphorePermit,
) -> BoxStream<S::Resp>
where
    Streaming<S::Req>: Stream<Item = Result<S::Req, Status>> + Send + Unpin,
{
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let mut snapshots = st.server().snapshots.subscribe();
    tokio::spawn(async move {
        let _permit = permit;
        loop {
            // Room for a response first: a client that does not read holds at most
            // STREAM_BUFFER responses here, and snapshot changes meanwhile coalesce.
            let Ok(slot) = tx.reserve().await else {
                break;
            };
            let wake = tokio::select! {
                req = input.next() => match req {
                    Some(Ok(req)) => Wake::Request(req),
                    // A request that did not decode (too large, malformed): say why, then end.
                    Some(Err(status)) => Wake::Failed(status),
                    None => break,
                },
                changed = snapshots.changed() => {
                    if changed.is_err() { break; }
                    Wake::Snapshots
                }
            };
            let out = turn(&mut st, wake, &mut snapshots);
            match out {
                Ok(responses) => {
                    let mut responses = responses.into_iter();
                    match responses.next() {
                        Some(first) => slot.send(Ok(first)),
                        None => drop(slot),
                    }
                    let mut gone = false;
                    for r in responses {
                        if tx.send(Ok(r)).await.is_err() {
                            gone = true;
                            break;
                        }
                    }
                    if gone {
                        break;
                    }
                }
                Err(status) => {
                    slot.send(Err(status));
                    break;
                }
            }
        }
        if let Some(g) = st.take_gateway() {
            st.server().emit(XdsEvent::Disconnected { gateway: g });
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

impl XdsServer {
    fn permit(&self) -> Result<OwnedSemaphorePermit, Status> {
        self.streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| Status::resource_exhausted("too many xDS streams"))
    }
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for XdsServer {
    type StreamAggregatedResourcesStream = BoxStream<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = BoxStream<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let permit = self.permit()?;
        Ok(Response::new(drive(
            SotwStream::new(self),
            request.into_inner(),
            permit,
        )))
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        let permit = self.permit()?;
        Ok(Response::new(drive(
            DeltaStream::new(self),
            request.into_inner(),
            permit,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::core::v3::Node;

    const GATEWAY: &str = "default/gw";

    /// One cluster and one listener, both with `content` as bytes and version.
    fn snapshots(generation: u64, content: &str) -> Snapshots {
        let resources = [type_urls::CLUSTER, type_urls::LISTENER]
            .into_iter()
            .map(|t| {
                let r = EncodedResource {
                    bytes: Arc::new(content.as_bytes().to_vec()),
                    version: Arc::from(content),
                };
                (t, TypeResources::from([(Arc::from("a"), r)]))
            })
            .collect();
        let snap = GatewaySnapshot {
            generation,
            resources,
        };
        Snapshots::from([(GATEWAY.to_string(), Arc::new(snap))])
    }

    fn node() -> Option<Node> {
        Some(Node {
            id: GATEWAY.into(),
            ..Default::default()
        })
    }

    /// Subscribes to clusters and listeners, publishes a change to both, then acknowledges the
    /// old clusters before the stream noticed the change: the listeners must still follow.
    /// `request(type, nonce)` builds a request; `read(response)` gives its type, nonce and bytes.
    fn change_before_a_request_reaches_every_type<S: Session>(
        mut st: S,
        server: &XdsServer,
        request: impl Fn(&str, &str) -> S::Req,
        read: impl Fn(&S::Resp) -> (String, String, Vec<u8>),
    ) {
        server.publish(snapshots(1, "v1"));
        let mut rx = server.snapshots.subscribe();
        let ask = |st: &mut S, req, rx: &mut _| {
            let out = turn(st, Wake::Request(req), rx).expect("request accepted");
            out.iter().map(&read).collect::<Vec<_>>()
        };
        let cds = ask(&mut st, request(type_urls::CLUSTER, ""), &mut rx);
        let lds = ask(&mut st, request(type_urls::LISTENER, ""), &mut rx);
        assert_eq!(cds.len(), 1);
        assert_eq!(lds[0].2, b"v1");

        server.publish(snapshots(2, "v2"));
        let ack = ask(&mut st, request(type_urls::CLUSTER, &cds[0].1), &mut rx);
        assert_eq!(ack.len(), 1, "the acknowledged type gets the change");
        assert_eq!(ack[0].2, b"v2");
        assert!(rx.has_changed().expect("sender alive"), "change consumed");
        let rest = turn(&mut st, Wake::Snapshots, &mut rx).expect("snapshots");
        let rest: Vec<_> = rest.iter().map(&read).collect();
        assert_eq!(rest.len(), 1, "only the listener is left: {rest:?}");
        assert_eq!(
            (rest[0].0.as_str(), &rest[0].2[..]),
            (type_urls::LISTENER, &b"v2"[..])
        );
    }

    #[test]
    fn delta_stream_sends_a_change_that_came_with_a_request_for_another_type() {
        let (server, _events) = XdsServer::new();
        change_before_a_request_reaches_every_type(
            DeltaStream::new(&server),
            &server,
            |type_url, nonce| DeltaDiscoveryRequest {
                node: node(),
                type_url: type_url.into(),
                response_nonce: nonce.into(),
                ..Default::default()
            },
            |r| {
                let bytes = r.resources[0].resource.as_ref().map(|a| a.value.clone());
                (
                    r.type_url.clone(),
                    r.nonce.clone(),
                    bytes.unwrap_or_default(),
                )
            },
        );
    }

    #[test]
    fn sotw_stream_sends_a_change_that_came_with_a_request_for_another_type() {
        let (server, _events) = XdsServer::new();
        change_before_a_request_reaches_every_type(
            SotwStream::new(&server),
            &server,
            |type_url, nonce| DiscoveryRequest {
                node: node(),
                type_url: type_url.into(),
                response_nonce: nonce.into(),
                ..Default::default()
            },
            |r| {
                let bytes = r.resources[0].value.clone();
                (r.type_url.clone(), r.nonce.clone(), bytes)
            },
        );
    }
}
