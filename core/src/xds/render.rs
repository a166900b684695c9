//! Envoy resources as Envoy's canonical proto3 JSON (with `@type` for `Any`), via prost-reflect.
//!
//! The descriptor set `envoy.desc.bin` is compiled from the protos shipped in the
//! envoy-types crate by `scripts/gen-descriptors.sh`.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use super::GatewayResources;

thread_local! {
    /// One pool per thread that renders: every descriptor and dynamic message holds a counted
    /// reference to its pool, so threads rendering from one shared pool would take and give
    /// back references on one counter from every core, for every message (two threads
    /// rendering 40 Gateways through one pool spent a quarter more CPU time than one thread).
    static POOL: Result<DescriptorPool, String> =
        DescriptorPool::decode(include_bytes!("envoy.desc.bin").as_slice()).map_err(|e| e.to_string());
}

/// Why a resource could not be rendered (a message type missing from the descriptor set).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The descriptor set is corrupt.
    #[error("the embedded Envoy descriptor set cannot be read: {0}")]
    Descriptors(String),
    /// The type is not in the descriptor set; regenerate it with scripts/gen-descriptors.sh.
    #[error("message type {0} is not in the embedded Envoy descriptor set")]
    UnknownType(String),
    /// Decoding our own encoding failed.
    #[error("re-decoding {0} failed: {1}")]
    Decode(String, String),
    /// JSON serialization failed.
    #[error("serializing {0} failed: {1}")]
    Serialize(String, String),
}

/// Renders any Envoy message as proto3 JSON with snake_case field names, as Envoy's own docs show them.
pub fn to_json<M: Message + prost::Name>(m: &M) -> Result<serde_json::Value, RenderError> {
    encoded_to_json(&M::full_name(), &m.encode_to_vec())
}

/// Renders encoded bytes of a named message type.
pub fn encoded_to_json(full_name: &str, bytes: &[u8]) -> Result<serde_json::Value, RenderError> {
    POOL.with(|pool| render_with(pool, full_name, bytes))
}

fn render_with(
    pool: &Result<DescriptorPool, String>,
    full_name: &str,
    bytes: &[u8],
) -> Result<serde_json::Value, RenderError> {
    let pool = pool
        .as_ref()
        .map_err(|e| RenderError::Descriptors(e.clone()))?;
    let desc = pool
        .get_message_by_name(full_name)
        .ok_or_else(|| RenderError::UnknownType(full_name.to_string()))?;
    let dm = DynamicMessage::decode(desc, bytes)
        .map_err(|e| RenderError::Decode(full_name.into(), e.to_string()))?;
    let opts = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(true);
    dm.serialize_with_options(serde_json::value::Serializer, &opts)
        .map_err(|e| RenderError::Serialize(full_name.into(), e.to_string()))
}

/// The resources of one Gateway as a JSON document with `listeners`, `routes`, `clusters`, `endpoints`, `secrets`.
pub fn resources_to_json(
    r: &GatewayResources,
    redact_secrets: bool,
) -> Result<serde_json::Value, RenderError> {
    fn list<M: Message + prost::Name>(v: &[M]) -> Result<serde_json::Value, RenderError> {
        Ok(serde_json::Value::Array(
            v.iter().map(to_json).collect::<Result<_, _>>()?,
        ))
    }
    let mut secrets = list(&r.secrets)?;
    if redact_secrets {
        redact(&mut secrets);
    }
    Ok(serde_json::json!({
        "listeners": list(&r.listeners)?,
        "routes": list(&r.routes)?,
        "clusters": list(&r.clusters)?,
        "endpoints": list(&r.endpoints)?,
        "secrets": secrets,
    }))
}

/// Replaces every private key in a rendered document with `[redacted]`.
pub fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "private_key" {
                    *val = serde_json::json!({"inline_string": "[redacted]"});
                } else {
                    redact(val);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}
