//! A consistent set of objects: what the translation reads. Cheap to clone (objects are shared).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::diagnostic::Source;
use crate::load::Loaded;
use crate::model::*;

mod endpoints;

pub use endpoints::{
    BackendPort, Endpoints, PortProtocol, ReadyEndpoints, ReadyPort, ServiceEntry,
};

/// Every object the translation may look at, keyed by kind/namespace/name.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// In key order, for the scans by kind and namespace.
    objects: BTreeMap<ObjectKey, Arc<Object>>,
    /// The same objects by hash: a translation looks up several objects per route, and a hash
    /// lookup compares one name where a search of the ordered map compares a dozen.
    index: FxHashMap<ObjectKey, Arc<Object>>,
    /// Objects per kind (by [`Kind`] index): a scan of a kind the snapshot has none of (say,
    /// BackendTLSPolicies, looked for at every backend) costs nothing.
    counts: [u32; Kind::ALL.len()],
    sources: BTreeMap<ObjectKey, Source>,
    /// Services by key, each with its EndpointSlices, the ready endpoints they add up to and
    /// its ports joined to them: resolving a backendRef is one lookup, neither a scan nor an
    /// allocation, and reads neither the Service nor its slices.
    services: FxHashMap<ObjectKey, ServiceEntry>,
    /// The kinds scanned per namespace at every backend (see [`scanned_by_namespace`]), by
    /// namespace: a scan is then a hash lookup and a walk of that namespace's few, rather than
    /// a search of every object.
    by_namespace: FxHashMap<Arc<str>, BTreeMap<ObjectKey, Arc<Object>>>,
    /// One shared copy of each namespace name: keys of one namespace then compare their
    /// namespaces by pointer (see [`cmp_shared`]). Kept for the snapshot's life: namespaces are few.
    namespaces: BTreeSet<Arc<str>>,
}

/// Kinds whose objects of one namespace are looked for at every backend of every route
/// (ReferenceGrants for cross-namespace references, BackendTLSPolicies for upstream TLS).
fn scanned_by_namespace(kind: Kind) -> bool {
    matches!(kind, Kind::ReferenceGrant | Kind::BackendTlsPolicy)
}

/// The objects of `map` from `start` on, in key order.
fn from_key<'a>(
    map: &'a BTreeMap<ObjectKey, Arc<Object>>,
    start: (Kind, &str, &str),
) -> std::collections::btree_map::Range<'a, ObjectKey, Arc<Object>> {
    map.range::<dyn KeyRef, _>((
        std::ops::Bound::Included(&start as &dyn KeyRef),
        std::ops::Bound::Unbounded,
    ))
}

/// The key of the Service an EndpointSlice belongs to (by its `kubernetes.io/service-name`
/// label), sharing the slice's namespace.
fn slice_service(key: &ObjectKey, o: &Object) -> Option<ObjectKey> {
    match o {
        Object::EndpointSlice(s) => s
            .metadata
            .labels
            .get(crate::translate::backends::SERVICE_NAME_LABEL)
            .map(|svc| ObjectKey {
                kind: Kind::Service,
                namespace: key.namespace.clone(),
                name: svc.as_str().into(),
            }),
        _ => None,
    }
}

/// Generates a typed iterator over one kind.
macro_rules! typed_iter {
    ($fn:ident, $get:ident, $kind:ident, $ty:ty) => {
        /// All objects of this kind, in key order.
        pub fn $fn(&self) -> impl Iterator<Item = &$ty> + '_ {
            self.of_kind(Kind::$kind).filter_map(|o| match o {
                // Borrow: the same for a variant held inline and one boxed.
                Object::$kind(x) => Some(Borrow::<$ty>::borrow(x)),
                _ => None,
            })
        }
        /// One object of this kind by namespace and name.
        pub fn $get(&self, namespace: &str, name: &str) -> Option<&$ty> {
            match self.get_parts(Kind::$kind, namespace, name) {
                Some(Object::$kind(x)) => Some(Borrow::<$ty>::borrow(x)),
                _ => None,
            }
        }
    };
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a snapshot from loaded objects; a later object with the same key replaces an earlier one.
    pub fn from_loaded(objects: impl IntoIterator<Item = Loaded>) -> Self {
        let mut s = Snapshot::new();
        for l in objects {
            s.put(l.object, Some(l.source), true);
        }
        s.refresh_all_endpoints();
        s
    }

    /// Builds a snapshot from bare objects.
    pub fn from_objects(objects: impl IntoIterator<Item = Object>) -> Self {
        let mut s = Snapshot::new();
        for o in objects {
            s.put(o, None, true);
        }
        s.refresh_all_endpoints();
        s
    }

    /// Adds up the Services a bulk load left waiting: once per Service of many slices rather
    /// than once per slice.
    fn refresh_all_endpoints(&mut self) {
        for service in self.services.values_mut() {
            service.after_bulk();
        }
    }

    /// Adds or replaces an object; returns the previous one.
    pub fn insert(&mut self, object: Object) -> Option<Arc<Object>> {
        self.insert_with_source(object, None)
    }

    /// Adds or replaces an object with the place it was read from.
    pub fn insert_with_source(
        &mut self,
        object: Object,
        source: Option<Source>,
    ) -> Option<Arc<Object>> {
        self.put(object, source, false)
    }

    /// Adds or replaces an object; in a `bulk` load, a Service of several slices is added up
    /// at the end ([`Snapshot::refresh_all_endpoints`]).
    fn put(&mut self, object: Object, source: Option<Source>, bulk: bool) -> Option<Arc<Object>> {
        let mut key = object.key();
        match self.namespaces.get(&*key.namespace) {
            Some(ns) => key.namespace = ns.clone(),
            None => {
                self.namespaces.insert(key.namespace.clone());
            }
        }
        match source {
            Some(s) => {
                self.sources.insert(key.clone(), s);
            }
            None => {
                self.sources.remove(&key);
            }
        }
        let object = Arc::new(object);
        if let Some(svc) = slice_service(&key, &object) {
            let service = self.services.entry(svc).or_default();
            service.slices.insert(key.clone(), object.clone());
            service.changed(bulk);
        }
        if key.kind == Kind::Service {
            let entry = self.services.entry(key.clone()).or_default();
            entry.set_service(Some(object.clone()));
        }
        if scanned_by_namespace(key.kind) {
            self.by_namespace
                .entry(key.namespace.clone())
                .or_default()
                .insert(key.clone(), object.clone());
        }
        self.index.insert(key.clone(), object.clone());
        let old = self.objects.insert(key.clone(), object);
        if old.is_none() {
            self.counts[key.kind as usize] += 1;
        }
        if let Some(svc) = old.as_deref().and_then(|o| slice_service(&key, o)) {
            self.unindex_slice(&svc, &key, bulk);
        }
        old
    }

    fn unindex_slice(&mut self, svc: &ObjectKey, key: &ObjectKey, bulk: bool) {
        // The slice may still be indexed under its new Service; keep it there.
        let now = self.index.get(key).and_then(|o| slice_service(key, o));
        if now.as_ref() == Some(svc) {
            return;
        }
        if let Some(service) = self.services.get_mut(svc) {
            service.slices.remove(key);
            if service.is_empty() {
                self.services.remove(svc);
            } else {
                service.changed(bulk);
            }
        }
    }

    /// Removes an object; returns it.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Object>> {
        self.sources.remove(key);
        let old = self.objects.remove(key);
        if old.is_some() {
            self.index.remove(key);
            self.counts[key.kind as usize] -= 1;
        }
        if scanned_by_namespace(key.kind) {
            if let Some(list) = self.by_namespace.get_mut(&*key.namespace) {
                list.remove(key);
                if list.is_empty() {
                    self.by_namespace.remove(&*key.namespace);
                }
            }
        }
        if let Some(svc) = old.as_deref().and_then(|o| slice_service(key, o)) {
            self.unindex_slice(&svc, key, false);
        }
        if key.kind == Kind::Service && old.is_some() {
            if let Some(entry) = self.services.get_mut(key) {
                entry.set_service(None);
                if entry.is_empty() {
                    self.services.remove(key);
                }
            }
        }
        old
    }

    /// A namespace's labels, with the `kubernetes.io/metadata.name` label Kubernetes (1.22+)
    /// puts on every namespace, whether or not the Namespace object was given.
    pub fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        let mut labels = self
            .namespace("", namespace)
            .map(|n| n.metadata.labels.clone())
            .unwrap_or_default();
        labels.insert("kubernetes.io/metadata.name".into(), namespace.to_string());
        labels
    }

    /// Every object of one kind in one namespace (a range scan).
    pub fn in_namespace<'a>(
        &'a self,
        kind: Kind,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a Object> + 'a {
        let map = if scanned_by_namespace(kind) {
            self.by_namespace.get(namespace)
        } else {
            Some(&self.objects)
        };
        map.filter(|_| self.has_any(kind))
            .into_iter()
            .flat_map(move |m| from_key(m, (kind, namespace, "")))
            .take_while(move |(k, _)| k.kind == kind && &*k.namespace == namespace)
            .map(|(_, o)| o.as_ref())
    }

    /// The ReferenceGrants of one namespace.
    pub fn reference_grants_in<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a ReferenceGrant> + 'a {
        self.in_namespace(Kind::ReferenceGrant, namespace)
            .filter_map(|o| match o {
                Object::ReferenceGrant(g) => Some(g),
                _ => None,
            })
    }

    /// The BackendTLSPolicies of one namespace.
    pub fn backend_tls_policies_in<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a BackendTlsPolicy> + 'a {
        self.in_namespace(Kind::BackendTlsPolicy, namespace)
            .filter_map(|o| match o {
                Object::BackendTlsPolicy(p) => Some(&**p),
                _ => None,
            })
    }

    /// The EndpointSlices of a Service (by the `kubernetes.io/service-name` label).
    pub fn endpoint_slices_of<'a>(
        &'a self,
        namespace: &str,
        service: &str,
    ) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
        self.service_entry(namespace, service)
            .into_iter()
            .flat_map(|(_, service)| service.slices.values())
            .filter_map(|o| match o.as_ref() {
                Object::EndpointSlice(s) => Some(s),
                _ => None,
            })
    }

    /// What a Service's EndpointSlices add up to; `None` when it has none.
    pub fn ready_endpoints(&self, namespace: &str, service: &str) -> Option<&ReadyEndpoints> {
        self.service_entry(namespace, service)
            .filter(|(_, s)| !s.slices.is_empty())
            .map(|(_, s)| &s.ready)
    }

    /// A Service (or the slices naming it) with what a backendRef to it reads, and the key it
    /// is kept under; `None` when neither the Service nor any slice of it exists.
    pub fn service_entry(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<(&ObjectKey, &ServiceEntry)> {
        self.services
            .get_key_value(&(Kind::Service, namespace, name) as &dyn KeyRef)
    }

    /// Looks an object up.
    pub fn get(&self, key: &ObjectKey) -> Option<&Object> {
        self.index.get(key).map(|o| o.as_ref())
    }

    /// Whether the snapshot holds any object of a kind.
    pub fn has_any(&self, kind: Kind) -> bool {
        self.count_of(kind) > 0
    }

    /// How many objects of a kind the snapshot holds, to size what is built from them.
    pub fn count_of(&self, kind: Kind) -> usize {
        self.counts[kind as usize] as usize
    }

    /// Looks an object up by kind, namespace and name, without building a key.
    pub fn get_parts(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Object> {
        self.get_parts_keyed(kind, namespace, name).map(|(_, o)| o)
    }

    /// Like [`Snapshot::get_parts`], with the snapshot's own key for the object.
    pub fn get_parts_keyed(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Option<(&ObjectKey, &Object)> {
        self.index
            .get_key_value(&(kind, namespace, name) as &dyn KeyRef)
            .map(|(k, o)| (k, o.as_ref()))
    }

    /// Where an object was read from.
    pub fn source(&self, key: &ObjectKey) -> Option<&Source> {
        self.sources.get(key)
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Object> + '_ {
        self.objects.values().map(|o| o.as_ref())
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Every object of one kind, in key order (a range scan, not a filter over everything).
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Object> + '_ {
        self.keyed_of_kind(kind).map(|(_, o)| o)
    }

    /// Every object of one kind with its key (cloning a key shares its names).
    pub fn keyed_of_kind(&self, kind: Kind) -> impl Iterator<Item = (&ObjectKey, &Object)> + '_ {
        self.objects_from((kind, "", ""))
            .take_while(move |(k, _)| k.kind == kind)
    }

    /// The objects from `start` on, in key order, without building a key for the bound; none
    /// at all, without a search, when the snapshot has no object of `start`'s kind (every
    /// caller reads only that kind).
    fn objects_from<'a>(
        &'a self,
        start: (Kind, &str, &str),
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Object)> + 'a {
        self.has_any(start.0)
            .then(|| from_key(&self.objects, start))
            .into_iter()
            .flatten()
            .map(|(k, o)| (k, o.as_ref()))
    }

    /// An object with the snapshot's own key for it.
    pub fn get_keyed(&self, key: &ObjectKey) -> Option<(&ObjectKey, &Object)> {
        self.index.get_key_value(key).map(|(k, o)| (k, o.as_ref()))
    }

    typed_iter!(gateway_classes, gateway_class, GatewayClass, GatewayClass);
    typed_iter!(gateways, gateway, Gateway, Gateway);
    typed_iter!(listener_sets, listener_set, ListenerSet, ListenerSet);
    typed_iter!(http_routes, http_route, HttpRoute, HttpRoute);
    typed_iter!(grpc_routes, grpc_route, GrpcRoute, GrpcRoute);
    typed_iter!(tls_routes, tls_route, TlsRoute, TlsRoute);
    typed_iter!(tcp_routes, tcp_route, TcpRoute, TcpRoute);
    typed_iter!(udp_routes, udp_route, UdpRoute, UdpRoute);
    typed_iter!(
        reference_grants,
        reference_grant,
        ReferenceGrant,
        ReferenceGrant
    );
    typed_iter!(
        backend_tls_policies,
        backend_tls_policy,
        BackendTlsPolicy,
        BackendTlsPolicy
    );
    typed_iter!(namespaces, namespace, Namespace, Namespace);
    typed_iter!(services, service, Service, Service);
    typed_iter!(
        endpoint_slices,
        endpoint_slice,
        EndpointSlice,
        EndpointSlice
    );
    typed_iter!(secrets, secret, Secret, Secret);
    typed_iter!(config_maps, config_map, ConfigMap, ConfigMap);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(ns: &str, name: &str) -> Object {
        let text = format!(
            "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  from: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: other}}]\n  to: [{{group: '', kind: Service}}]\n"
        );
        let mut objects = crate::load::parse_str(&text, "grant.yaml").objects;
        objects.remove(0).object
    }

    fn names(s: &Snapshot, ns: &str) -> Vec<String> {
        s.reference_grants_in(ns)
            .map(|g| g.metadata.name.clone())
            .collect()
    }

    /// The per-namespace index follows inserts, replacements and removals, and a namespace's
    /// scan sees exactly its own objects of the kind asked for.
    #[test]
    fn namespace_scans_follow_changes() {
        let mut s = Snapshot::new();
        for (ns, name) in [("b", "g2"), ("a", "g1"), ("b", "g1"), ("c", "g3")] {
            s.insert(grant(ns, name));
        }
        assert_eq!(names(&s, "a"), ["g1"]);
        assert_eq!(names(&s, "b"), ["g1", "g2"]);
        assert!(names(&s, "nope").is_empty());
        assert_eq!(s.backend_tls_policies_in("b").count(), 0);
        s.insert(grant("b", "g2"));
        assert_eq!(names(&s, "b"), ["g1", "g2"]);
        s.remove(&ObjectKey::new(Kind::ReferenceGrant, "b", "g1"));
        assert_eq!(names(&s, "b"), ["g2"]);
        s.remove(&ObjectKey::new(Kind::ReferenceGrant, "c", "g3"));
        assert!(names(&s, "c").is_empty());
        assert!(!s.by_namespace.contains_key("c"));
        assert_eq!(s.reference_grants().count(), 2);
    }

    fn slice(name: &str, service: &str, address: &str) -> Object {
        let text = format!(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: {name}, namespace: a, labels: {{kubernetes.io/service-name: {service}}}}}\naddressType: IPv4\nports: [{{port: 80}}]\nendpoints: [{{addresses: [{address}]}}]\n"
        );
        let mut objects = crate::load::parse_str(&text, "slice.yaml").objects;
        objects.remove(0).object
    }

    fn addresses(s: &Snapshot, service: &str) -> Vec<String> {
        let ready = s.ready_endpoints("a", service).and_then(|r| r.port(""));
        let list = ready.map(|p| p.endpoints.iter().map(|(a, _)| a.to_string()).collect());
        list.unwrap_or_default()
    }

    /// A Service's ready endpoints follow its slices as they are added, replaced, moved to
    /// another Service and removed, and match those of a snapshot built at once.
    #[test]
    fn ready_endpoints_follow_slice_changes() {
        let mut s = Snapshot::new();
        s.insert(slice("s1", "web", "10.0.0.2"));
        s.insert(slice("s2", "web", "10.0.0.1"));
        assert_eq!(addresses(&s, "web"), ["10.0.0.1", "10.0.0.2"]);
        s.insert(slice("s1", "web", "10.0.0.3"));
        assert_eq!(addresses(&s, "web"), ["10.0.0.1", "10.0.0.3"]);
        s.insert(slice("s1", "api", "10.0.0.3"));
        assert_eq!(addresses(&s, "web"), ["10.0.0.1"]);
        assert_eq!(addresses(&s, "api"), ["10.0.0.3"]);
        let at_once = Snapshot::from_objects(s.iter().cloned());
        for service in ["web", "api"] {
            assert_eq!(
                s.ready_endpoints("a", service),
                at_once.ready_endpoints("a", service)
            );
        }
        // A bulk load adds a Service of several slices up at its end, after a later slice
        // replaced an earlier one and moved it to another Service.
        let bulk = Snapshot::from_objects([
            slice("s1", "web", "10.0.0.2"),
            slice("s2", "web", "10.0.0.1"),
            slice("s3", "web", "10.0.0.4"),
            slice("s1", "api", "10.0.0.3"),
        ]);
        assert_eq!(addresses(&bulk, "web"), ["10.0.0.1", "10.0.0.4"]);
        assert_eq!(addresses(&bulk, "api"), ["10.0.0.3"]);
        s.remove(&ObjectKey::new(Kind::EndpointSlice, "a", "s2"));
        assert!(s.ready_endpoints("a", "web").is_none());
        assert_eq!(addresses(&s, "api"), ["10.0.0.3"]);
    }

    fn service(name: &str, spec: &str) -> Object {
        let text = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: a}}\nspec: {spec}\n"
        );
        let mut objects = crate::load::parse_str(&text, "service.yaml").objects;
        objects.remove(0).object
    }

    /// `(port, protocol, h2c, addresses, dns)` of a Service port, as a backendRef reads it.
    type Joined = (i32, PortProtocol, bool, Vec<String>, bool);

    /// Each port of a Service, joined; None when the Service does not exist.
    fn joined(s: &Snapshot, name: &str) -> Option<Vec<Joined>> {
        let (key, entry) = s.service_entry("a", name)?;
        assert_eq!((key.kind, &*key.name), (Kind::Service, name));
        entry.has_service().then(|| {
            let port = |p: &BackendPort| {
                let list = p
                    .endpoints
                    .iter()
                    .map(|(a, n)| format!("{a}:{n}"))
                    .collect();
                (p.port, p.protocol, p.h2c, list, p.dns)
            };
            entry.ports().iter().map(port).collect()
        })
    }

    /// A Service's ports are joined to its ready endpoints (by port name) whichever comes
    /// first, and again when either changes or goes; an ExternalName Service's ports reach its
    /// DNS name; a bulk load joins as objects added one by one do.
    #[test]
    fn service_ports_join_ready_endpoints() {
        let tcp = PortProtocol::Tcp;
        let mut s = Snapshot::new();
        s.insert(slice("s1", "web", "10.0.0.2"));
        assert_eq!(joined(&s, "web"), None, "slices alone make no Service");
        s.insert(service(
            "web",
            "{ports: [{port: 8080}, {name: dns, port: 53, protocol: UDP}, {name: g, port: 9, appProtocol: kubernetes.io/h2c}]}",
        ));
        let web = vec![
            (8080, tcp, false, vec!["10.0.0.2:80".to_string()], false),
            (53, PortProtocol::Udp, false, vec![], false),
            (9, tcp, true, vec![], false),
        ];
        assert_eq!(joined(&s, "web"), Some(web.clone()));
        let at_once = Snapshot::from_objects(s.iter().cloned());
        assert_eq!(joined(&at_once, "web"), Some(web));
        s.insert(slice("s1", "web", "10.0.0.7"));
        assert_eq!(joined(&s, "web").unwrap()[0].3, ["10.0.0.7:80"]);
        s.remove(&ObjectKey::new(Kind::EndpointSlice, "a", "s1"));
        assert_eq!(joined(&s, "web").unwrap()[0].3, Vec::<String>::new());
        s.insert(service("web", "{ports: [{port: 80, protocol: SCTP}]}"));
        let sctp = (80, PortProtocol::Other, false, vec![], false);
        assert_eq!(joined(&s, "web"), Some(vec![sctp]));
        s.remove(&ObjectKey::new(Kind::Service, "a", "web"));
        assert!(
            s.service_entry("a", "web").is_none(),
            "nothing keeps the entry"
        );
        s.insert(service(
            "ext",
            "{type: ExternalName, externalName: backend.example.com, ports: [{port: 443}]}",
        ));
        let ext = (
            443,
            tcp,
            false,
            vec!["backend.example.com:443".to_string()],
            true,
        );
        assert_eq!(joined(&s, "ext"), Some(vec![ext]));
    }
}
