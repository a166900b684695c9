//! A consistent set of objects: what the translation reads. Cheap to clone (objects are shared).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diagnostic::Source;
use crate::load::Loaded;
use crate::model::*;

/// Every object the translation may look at, keyed by kind/namespace/name.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    objects: BTreeMap<ObjectKey, Arc<Object>>,
    sources: BTreeMap<ObjectKey, Source>,
}

/// Generates a typed iterator over one kind.
macro_rules! typed_iter {
    ($fn:ident, $get:ident, $kind:ident, $ty:ty) => {
        /// All objects of this kind, in key order.
        pub fn $fn(&self) -> impl Iterator<Item = &$ty> + '_ {
            self.of_kind(Kind::$kind).filter_map(|o| match o {
                Object::$kind(x) => Some(x),
                _ => None,
            })
        }
        /// One object of this kind by namespace and name.
        pub fn $get(&self, namespace: &str, name: &str) -> Option<&$ty> {
            match self.get(&ObjectKey::new(Kind::$kind, namespace, name)) {
                Some(Object::$kind(x)) => Some(x),
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
            s.insert_with_source(l.object, Some(l.source));
        }
        s
    }

    /// Builds a snapshot from bare objects.
    pub fn from_objects(objects: impl IntoIterator<Item = Object>) -> Self {
        let mut s = Snapshot::new();
        for o in objects {
            s.insert(o);
        }
        s
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
        let key = object.key();
        match source {
            Some(s) => {
                self.sources.insert(key.clone(), s);
            }
            None => {
                self.sources.remove(&key);
            }
        }
        self.objects.insert(key, Arc::new(object))
    }

    /// Removes an object; returns it.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Object>> {
        self.sources.remove(key);
        self.objects.remove(key)
    }

    /// Looks an object up.
    pub fn get(&self, key: &ObjectKey) -> Option<&Object> {
        self.objects.get(key).map(|o| o.as_ref())
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
        let start = ObjectKey::new(kind, "", "");
        self.objects
            .range(start..)
            .take_while(move |(k, _)| k.kind == kind)
            .map(|(_, o)| o.as_ref())
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
