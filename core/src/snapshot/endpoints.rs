//! A Service's ready endpoints, kept with its EndpointSlices as they come and go: every cluster
//! of the Service reads them, and a translation then neither walks the slices nor allocates.

use std::collections::BTreeMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::model::*;

/// Ready `(address, port)` pairs, sorted and without duplicates: one copy shared by every
/// cluster of a Service port, in every translation until one of its slices changes.
pub type Endpoints = Arc<[(Arc<str>, u16)]>;

/// A Service, its EndpointSlices and what a backendRef to it reads, kept together: resolving a
/// backendRef is then one hash lookup that reads neither the Service nor its slices.
#[derive(Debug, Clone, Default)]
pub struct ServiceEntry {
    /// The Service itself; None while only slices name it.
    pub(super) service: Option<Arc<Object>>,
    /// The slices, by key: a slice replaced or removed leaves the others as they were.
    pub(super) slices: BTreeMap<ObjectKey, Arc<Object>>,
    /// What `slices` add up to, except during a bulk load (see [`ServiceEntry::changed`]).
    pub(super) ready: ReadyEndpoints,
    /// The Service's ports, each with its ready endpoints (see [`ServiceEntry::join`]).
    ports: SmallVec<[BackendPort; 1]>,
}

/// How a route reaches one Service port: what resolving a backendRef reads, worked out when
/// the Service or its slices change rather than at every backend of every translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendPort {
    /// The port number routes name.
    pub port: i32,
    /// Its protocol (`TCP` when the Service leaves it out).
    pub protocol: PortProtocol,
    /// Whether its `appProtocol` asks for HTTP/2 without TLS (`kubernetes.io/h2c`, `h2c`, `grpc`).
    pub h2c: bool,
    /// Its place in the Service's `spec.ports`.
    pub index: usize,
    /// The ready endpoints behind it: those its slices give under its name, or the DNS name of
    /// an ExternalName Service.
    pub endpoints: Endpoints,
    /// Whether `endpoints` are DNS names, which Envoy resolves itself.
    pub dns: bool,
}

/// The protocols of a Service port that routes tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortProtocol {
    /// TCP, the default.
    Tcp,
    /// UDP.
    Udp,
    /// Anything else (SCTP): no route kind forwards to it.
    Other,
}

impl ServiceEntry {
    /// The Service, when it exists.
    pub fn service(&self) -> Option<&Service> {
        match self.service.as_deref() {
            Some(Object::Service(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether the Service exists, without reading it.
    pub fn has_service(&self) -> bool {
        self.service.is_some()
    }

    /// The Service's ports with their ready endpoints, in `spec.ports` order; empty when the
    /// Service does not exist.
    pub fn ports(&self) -> &[BackendPort] {
        &self.ports
    }

    /// Whether nothing (neither the Service nor a slice) keeps this entry.
    pub(super) fn is_empty(&self) -> bool {
        self.service.is_none() && self.slices.is_empty()
    }

    /// Replaces (or removes) the Service and joins its ports anew.
    pub(super) fn set_service(&mut self, service: Option<Arc<Object>>) {
        self.service = service;
        self.join();
    }

    /// Joins the Service's ports with the ready endpoints: by port name, or for an
    /// ExternalName Service, its DNS name at the port's number.
    fn join(&mut self) {
        let Some(Object::Service(service)) = self.service.as_deref() else {
            self.ports.clear();
            return;
        };
        let spec = &service.spec;
        let external = spec
            .external_name
            .as_deref()
            .filter(|_| spec.type_.as_deref() == Some("ExternalName"));
        self.ports = spec
            .ports
            .iter()
            .enumerate()
            .map(|(index, p)| {
                let (endpoints, dns) = match external {
                    Some(host) => (Arc::from([(host.into(), p.port as u16)]) as Endpoints, true),
                    None => match self.ready.port(p.name.as_deref().unwrap_or("")) {
                        Some(ready) => (ready.endpoints.clone(), ready.dns),
                        None => (Arc::from([]) as Endpoints, false),
                    },
                };
                BackendPort {
                    port: p.port,
                    protocol: match p.protocol.as_deref().unwrap_or("TCP") {
                        "TCP" => PortProtocol::Tcp,
                        "UDP" => PortProtocol::Udp,
                        _ => PortProtocol::Other,
                    },
                    h2c: matches!(
                        p.app_protocol.as_deref(),
                        Some("kubernetes.io/h2c" | "h2c" | "grpc")
                    ),
                    index,
                    endpoints,
                    dns,
                }
            })
            .collect();
    }

    /// After a slice came or went: adds the slices up again, the cost of one Service's slices
    /// paid once per change instead of once per cluster per translation. In a `bulk` load, a
    /// Service of several slices waits for [`ServiceEntry::after_bulk`]: added up once, not
    /// once per slice, and a Service of one is added up while its slice is fresh in cache.
    pub(super) fn changed(&mut self, bulk: bool) {
        if !bulk || self.slices.len() == 1 {
            self.refresh();
        }
    }

    /// Adds up what a bulk load left waiting. A bulk load starts from an empty snapshot, so
    /// the Services it left waiting are exactly those of several slices.
    pub(super) fn after_bulk(&mut self) {
        if self.slices.len() > 1 {
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.ready = ReadyEndpoints::of(self.slices.values().filter_map(|o| match o.as_ref() {
            Object::EndpointSlice(s) => Some(&s.body),
            _ => None,
        }));
        self.join();
    }
}

/// The ready endpoints of a Service, by the port names its EndpointSlices give.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadyEndpoints {
    /// Sorted by name; most Services have one port, held inline.
    ports: SmallVec<[ReadyPort; 1]>,
    /// Whether any slice has a ready endpoint, on any port or none.
    any: bool,
}

/// The ready endpoints behind one port name of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyPort {
    /// The Service port's name (empty for an unnamed port).
    name: String,
    /// The endpoints, each with the port number its slice gives for this name.
    pub endpoints: Endpoints,
    /// Whether the addresses are DNS names (an `FQDN` slice), which Envoy resolves itself.
    pub dns: bool,
}

/// One port name's endpoints while the slices are walked.
#[derive(Default)]
struct Gathered {
    list: Vec<(Arc<str>, u16)>,
    dns: bool,
}

impl ReadyEndpoints {
    /// What a Service's slices add up to. A slice counts for a port name when the first of its
    /// ports with that name has a port number that fits in 16 bits.
    pub fn of<'a>(slices: impl IntoIterator<Item = &'a EndpointSliceData>) -> Self {
        // Per port name: its endpoints and whether any are DNS names. Services have a port or
        // two: a short list searched in place beats a map.
        let mut by_name: SmallVec<[(&str, Gathered); 1]> = SmallVec::new();
        let mut any = false;
        for slice in slices {
            let ready = || slice.endpoints.iter().filter(|e| e.is_ready());
            any |= ready().next().is_some();
            let ports = slice.ports.as_deref().unwrap_or_default();
            for (i, p) in ports.iter().enumerate() {
                let name = p.name.as_deref().unwrap_or("");
                let first = !ports[..i]
                    .iter()
                    .any(|q| q.name.as_deref().unwrap_or("") == name);
                let Some(port) = p.port.and_then(|p| u16::try_from(p).ok()).filter(|_| first)
                else {
                    continue;
                };
                let at = match by_name.iter().position(|(n, ..)| *n == name) {
                    Some(at) => at,
                    None => {
                        by_name.push((name, Gathered::default()));
                        by_name.len() - 1
                    }
                };
                let (_, gathered) = &mut by_name[at];
                gathered.dns |= slice.address_type == "FQDN";
                for e in ready() {
                    gathered
                        .list
                        .extend(e.addresses.iter().map(|a| (a.clone(), port)));
                }
            }
        }
        by_name.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let ports = by_name
            .into_iter()
            .map(|(name, Gathered { mut list, dns })| {
                list.sort_unstable();
                list.dedup();
                ReadyPort {
                    name: name.to_string(),
                    endpoints: list.into(),
                    dns,
                }
            })
            .collect();
        ReadyEndpoints { ports, any }
    }

    /// The endpoints behind a Service port name (`""` for an unnamed port); `None` when no
    /// slice gives a port of that name.
    pub fn port(&self, name: &str) -> Option<&ReadyPort> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Whether any slice has a ready endpoint, whatever its ports.
    pub fn any(&self) -> bool {
        self.any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(text: &str) -> EndpointSliceData {
        serde_saphyr::from_str(text).unwrap()
    }

    fn pairs(r: &ReadyEndpoints, name: &str) -> Option<(Vec<(String, u16)>, bool)> {
        r.port(name).map(|p| {
            let list = p.endpoints.iter().map(|(a, n)| (a.to_string(), *n));
            (list.collect(), p.dns)
        })
    }

    /// Ready endpoints join across slices per port name, sorted and once each; endpoints not
    /// ready, ports without a number and later ports of a name already seen do not count.
    #[test]
    fn slices_add_up_per_port_name() {
        let a = slice(
            "addressType: IPv4\nports: [{name: http, port: 8080}, {name: http, port: 9}, {name: bad}]\nendpoints:\n- addresses: [10.0.0.2, 10.0.0.1]\n- addresses: [10.0.0.9]\n  conditions: {ready: false}\n",
        );
        let b = slice(
            "addressType: IPv4\nports: [{name: http, port: 8081}, {port: 70000}]\nendpoints:\n- addresses: [10.0.0.1]\n",
        );
        let r = ReadyEndpoints::of([&a, &b]);
        let http = vec![
            ("10.0.0.1".to_string(), 8080),
            ("10.0.0.1".to_string(), 8081),
            ("10.0.0.2".to_string(), 8080),
        ];
        assert_eq!(pairs(&r, "http"), Some((http, false)));
        assert_eq!(pairs(&r, "bad"), None, "a port without a number");
        assert_eq!(pairs(&r, ""), None, "a port number past 65535");
        assert!(r.any());
        // The same slices in the other order add up to the same.
        assert_eq!(ReadyEndpoints::of([&b, &a]), r);
    }

    /// FQDN slices mark their port's endpoints as DNS names; slices with nothing ready leave a
    /// port with no endpoints and `any` false.
    #[test]
    fn fqdn_and_unready_slices() {
        let dns = slice(
            "addressType: FQDN\nports: [{port: 80}]\nendpoints:\n- addresses: [backend.example.com]\n",
        );
        let r = ReadyEndpoints::of([&dns]);
        let want = vec![("backend.example.com".to_string(), 80)];
        assert_eq!(pairs(&r, ""), Some((want, true)));
        let idle = slice(
            "addressType: IPv4\nports: [{port: 80}]\nendpoints:\n- addresses: [10.0.0.1]\n  conditions: {ready: false}\n",
        );
        let r = ReadyEndpoints::of([&idle]);
        assert_eq!(pairs(&r, ""), Some((vec![], false)));
        assert!(!r.any());
    }
}
