//! The translation as one document (`xds` and `status` keys): what the CLI, Python and Node print.

use serde_json::{json, Map, Value};

use crate::parallel::Parallelism;
use crate::translate::Translation;
use crate::xds::{self, bootstrap, render, Delivery};

/// Which Envoy resource types to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    /// Listeners.
    Listener,
    /// RouteConfigurations.
    Route,
    /// Clusters.
    Cluster,
    /// ClusterLoadAssignments.
    Endpoint,
    /// Secrets (private keys redacted).
    Secret,
}

impl ResourceType {
    /// Every type.
    pub const ALL: [ResourceType; 5] = [
        ResourceType::Listener,
        ResourceType::Route,
        ResourceType::Cluster,
        ResourceType::Endpoint,
        ResourceType::Secret,
    ];

    /// Parses `listener`, `route`, `cluster`, `endpoint`, `secret`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "listener" | "listeners" => ResourceType::Listener,
            "route" | "routes" => ResourceType::Route,
            "cluster" | "clusters" => ResourceType::Cluster,
            "endpoint" | "endpoints" => ResourceType::Endpoint,
            "secret" | "secrets" => ResourceType::Secret,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            ResourceType::Listener => "listeners",
            ResourceType::Route => "routes",
            ResourceType::Cluster => "clusters",
            ResourceType::Endpoint => "endpoints",
            ResourceType::Secret => "secrets",
        }
    }
}

/// What to put into the document.
#[derive(Debug, Clone)]
pub struct DocumentOptions {
    /// Include the `xds` key.
    pub xds: bool,
    /// Include the `status` key.
    pub status: bool,
    /// Resource types under `xds`.
    pub types: Vec<ResourceType>,
    /// Only this Gateway (`namespace/name`).
    pub gateway: Option<String>,
    /// Whether the Gateways of a large translation are built and rendered on several threads.
    pub parallel: Parallelism,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        DocumentOptions {
            xds: true,
            status: true,
            types: ResourceType::ALL.to_vec(),
            gateway: None,
            parallel: Parallelism::default(),
        }
    }
}

/// Renders the translation; private keys are always redacted here.
pub fn document(t: &Translation, opts: &DocumentOptions) -> Result<Value, render::RenderError> {
    let mut doc = Map::new();
    if opts.xds {
        let picked = t.each_gateway(&opts.parallel, |name, ir| {
            if opts.gateway.as_ref().is_some_and(|g| g != name) {
                return Ok(None);
            }
            let r = xds::build(ir, Delivery::Ads, "0.0.0.0");
            let Value::Object(mut all) = render::resources_to_json(&r, true)? else {
                return Ok(None);
            };
            let picked: Map<String, Value> = opts
                .types
                .iter()
                .filter_map(|ty| all.remove(ty.key()).map(|v| (ty.key().to_string(), v)))
                .collect();
            Ok(Some((name.to_string(), Value::Object(picked))))
        });
        let mut gws = Map::new();
        for gw in picked {
            if let Some((name, v)) = gw? {
                gws.insert(name, v);
            }
        }
        doc.insert("xds".into(), Value::Object(gws));
    }
    if opts.status {
        let status: Vec<Value> = t
            .status
            .iter()
            .filter(|s| {
                opts.gateway.is_none()
                    || s.kind != "Gateway"
                    || opts.gateway.as_deref()
                        == Some(&format!(
                            "{}/{}",
                            s.metadata.namespace.as_deref().unwrap_or(""),
                            s.metadata.name
                        ))
            })
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();
        doc.insert("status".into(), Value::Array(status));
    }
    if !t.diagnostics.is_empty() {
        doc.insert(
            "diagnostics".into(),
            serde_json::to_value(&t.diagnostics).unwrap_or(Value::Null),
        );
    }
    Ok(Value::Object(doc))
}

/// Why a bootstrap could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// No such Gateway in the translation (not ours, or not in the input).
    #[error("no Gateway {0} in the translation; known: {1}")]
    UnknownGateway(String, String),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] render::RenderError),
}

/// A complete static Envoy config for one Gateway (the only output that carries key material).
pub fn static_bootstrap(
    t: &Translation,
    gateway: &str,
    bind_address: &str,
) -> Result<Value, BootstrapError> {
    let ir = t.gateways.get(gateway).ok_or_else(|| {
        BootstrapError::UnknownGateway(
            gateway.to_string(),
            t.gateways.keys().cloned().collect::<Vec<_>>().join(", "),
        )
    })?;
    let b = bootstrap::static_bootstrap(
        gateway,
        ir,
        bind_address,
        &bootstrap::AdminAddress::default(),
    );
    Ok(render::to_json(&b)?)
}

/// `{"gateway": bootstrap}` for every Gateway, for tools that validate them all.
pub fn all_static_bootstraps(t: &Translation, bind_address: &str) -> Result<Value, BootstrapError> {
    let mut m = Map::new();
    for g in t.gateways.keys() {
        m.insert(g.clone(), static_bootstrap(t, g, bind_address)?);
    }
    Ok(json!(m))
}
