//! Envoy Gateway v1.9.0 golden cases (`../shared/envoy-gateway/v1.9.0/`) as snapshots, for
//! the parity and Envoy acceptance tests.
//!
//! A case's input bundle is a map whose keys (`gateways`, `httpRoutes`, ..., matched
//! case-insensitively) hold lists of objects. Each object is re-serialized to JSON and
//! loaded with `gatewright::load::parse_str`, so CRD defaults apply. A missing
//! `apiVersion`/`kind` is filled in from the bundle key; an `apiVersion` Gateway API v1.6.1
//! no longer serves (EG's harness decodes by bundle key and ignores it, e.g. `v1alpha2`
//! ReferenceGrant) is replaced by the served one. Keys for kinds outside Gateway API
//! (`serviceImports`, `clusterTrustBundles`) are dropped, as the loader drops unknown kinds.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gatewright::load::{parse_str, Loaded};
use gatewright::{Kind, Severity, Snapshot};
use serde_json::{json, Value};

/// The controller name the cases' GatewayClass uses.
pub const CONTROLLER: &str = "gateway.envoyproxy.io/gatewayclass-controller";

/// `../shared/envoy-gateway/v1.9.0`.
pub fn eg_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")).join("envoy-gateway/v1.9.0")
}

/// The kind a bundle key holds (`httpRoutes`, `gatewayClass`, ...), or None for non-Gateway-API keys.
pub fn kind_of_key(key: &str) -> Option<Kind> {
    let plural_ies = key.strip_suffix("ies").map(|s| format!("{s}y"));
    [
        Some(key.to_string()),
        plural_ies,
        key.strip_suffix("es").map(str::to_string),
        key.strip_suffix('s').map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .find_map(|k| Kind::parse(&k))
}

/// Reads a YAML file into JSON.
pub fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads one object of a bundle, filling in what EG's harness does not need.
fn load_object(kind: Kind, mut object: Value, file: &str) -> Vec<Loaded> {
    let Some(map) = object.as_object_mut() else {
        return Vec::new();
    };
    let kind_name = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or(kind.as_str())
        .to_string();
    let kind = Kind::parse(&kind_name).unwrap_or(kind);
    map.insert("kind".into(), json!(kind.as_str()));
    let served = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| gatewright::load::resolve_kind(v, kind.as_str()) == Some(kind));
    if !served {
        map.insert("apiVersion".into(), json!(kind.api_version()));
    }
    // EG's harness decodes YAML with sigs.k8s.io/yaml, which turns a scalar into a string
    // where the Go field is a string (`value: 1234`); do the same, field by field.
    for _ in 0..32 {
        let text = serde_json::to_string(&object).expect("JSON");
        let result = parse_str(&text, file);
        let errors: Vec<_> = result
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        let Some(e) = errors.first() else {
            return result.objects;
        };
        let scalar =
            e.message.starts_with("invalid type:") && e.message.ends_with("expected a string");
        if !(scalar && stringify(&mut object, &e.path)) {
            panic!("{file}: {errors:?}");
        }
    }
    panic!("{file}: too many scalar fields to coerce");
}

/// Replaces the scalar at a dotted path (`spec.rules[0].value`) by its text.
fn stringify(object: &mut Value, path: &str) -> bool {
    let mut v = object;
    for part in path.split('.') {
        let (field, indexes) = part.split_once('[').unwrap_or((part, ""));
        v = &mut v[field];
        for i in indexes.split('[') {
            let Ok(i) = i.trim_end_matches(']').parse::<usize>() else {
                continue;
            };
            v = &mut v[i];
        }
    }
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return false,
    };
    *v = Value::String(text);
    true
}

/// Every object of a bundle (`key: [objects]` or `key: object`).
fn load_bundle(bundle: &Value, file: &str) -> Vec<Loaded> {
    let mut out = Vec::new();
    let Some(map) = bundle.as_object() else {
        return out;
    };
    for (key, value) in map {
        let Some(kind) = kind_of_key(key) else {
            continue;
        };
        match value {
            Value::Array(items) => {
                for item in items {
                    out.extend(load_object(kind, item.clone(), file));
                }
            }
            Value::Object(_) => out.extend(load_object(kind, value.clone(), file)),
            _ => {}
        }
    }
    out
}

/// The snapshot of one case: fixtures, then base, then the case's own objects (which win).
pub fn snapshot(case: &str) -> Snapshot {
    let dir = eg_dir();
    let fixtures_text = std::fs::read_to_string(dir.join("FIXTURES.yaml")).expect("FIXTURES.yaml");
    let fixtures = parse_str(&fixtures_text, "FIXTURES.yaml");
    assert!(!fixtures.has_errors(), "{:?}", fixtures.diagnostics);
    let base = read_yaml(&dir.join("testdata/gatewayapi/base/base.yaml"));
    let input = read_yaml(&dir.join(format!("testdata/gatewayapi/{case}.in.yaml")));
    let mut objects = fixtures.objects;
    objects.extend(load_bundle(&base, "base.yaml"));
    objects.extend(load_bundle(&input, &format!("{case}.in.yaml")));
    Snapshot::from_loaded(objects)
}

/// The 232 cases that use only standard Gateway API kinds.
pub fn cases() -> Vec<String> {
    let text = std::fs::read_to_string(eg_dir().join("STANDARD_ONLY_CASES.tsv")).expect("tsv");
    text.lines()
        .filter_map(|l| l.split('\t').nth(1))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
