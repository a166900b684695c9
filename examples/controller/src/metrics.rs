//! Prometheus metrics of the controller.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of per-type xDS metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabels {
    /// Gateway `namespace/name`.
    pub gateway: String,
    /// Short type name (`Cluster`, `Listener`, ...).
    pub r#type: String,
}

/// Every metric the controller exports.
pub struct Metrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// Translations run.
    pub translations: Counter,
    /// Translation duration.
    pub translation_seconds: Histogram,
    /// Responses sent to proxies.
    pub xds_pushes: Family<TypeLabels, Counter>,
    /// ACKs received.
    pub xds_acks: Family<TypeLabels, Counter>,
    /// NACKs received.
    pub xds_nacks: Family<TypeLabels, Counter>,
    /// Proxies connected now.
    pub connected_proxies: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gatewright");
        let translations = Counter::default();
        let translation_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        let xds_pushes = Family::<TypeLabels, Counter>::default();
        let xds_acks = Family::<TypeLabels, Counter>::default();
        let xds_nacks = Family::<TypeLabels, Counter>::default();
        let connected_proxies = Gauge::default();
        registry.register("translations", "Translations run", translations.clone());
        registry.register(
            "translation_duration_seconds",
            "Time to translate a snapshot",
            translation_seconds.clone(),
        );
        registry.register("xds_pushes", "xDS responses sent", xds_pushes.clone());
        registry.register("xds_acks", "xDS responses acknowledged", xds_acks.clone());
        registry.register(
            "xds_nacks",
            "xDS responses rejected by Envoy",
            xds_nacks.clone(),
        );
        registry.register(
            "connected_proxies",
            "Envoy streams open",
            connected_proxies.clone(),
        );
        Metrics {
            registry,
            translations,
            translation_seconds,
            xds_pushes,
            xds_acks,
            xds_nacks,
            connected_proxies,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `Cluster` from `type.googleapis.com/envoy.config.cluster.v3.Cluster`.
pub fn short_type(type_url: &str) -> String {
    type_url.rsplit('.').next().unwrap_or(type_url).to_string()
}
