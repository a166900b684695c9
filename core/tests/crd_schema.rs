//! JSON Schema parity: `Object::schema(kind)` against the CRD `openAPIV3Schema` (storage version,
//! experimental channel) of each Gateway API kind, property by property under `spec`.
//!
//! Compared at every node: property names, `required`, `enum`, `pattern`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`, `minimum`/`maximum`, `maxProperties`, and the JSON type. Our schema's
//! `$ref`s are resolved into `$defs`, and `Option`'s `anyOf: [X, null]` / `type: [x, null]` are
//! read as `X`. The CRDs are read at run time from `../shared`; the test is skipped with a message
//! when that directory is absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatewright::Kind;
use serde_json::Value;

/// Fields of the CRDs we deliberately do not model, with the reason (path as printed by the walk).
const NOT_MODELLED: &[(&str, &str)] = &[];

fn shared_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")).to_path_buf()
}

fn crd_file(kind: Kind) -> &'static str {
    match kind {
        Kind::GatewayClass => "gateway.networking.k8s.io_gatewayclasses.yaml",
        Kind::Gateway => "gateway.networking.k8s.io_gateways.yaml",
        Kind::ListenerSet => "gateway.networking.k8s.io_listenersets.yaml",
        Kind::HttpRoute => "gateway.networking.k8s.io_httproutes.yaml",
        Kind::GrpcRoute => "gateway.networking.k8s.io_grpcroutes.yaml",
        Kind::TlsRoute => "gateway.networking.k8s.io_tlsroutes.yaml",
        Kind::TcpRoute => "gateway.networking.k8s.io_tcproutes.yaml",
        Kind::UdpRoute => "gateway.networking.k8s.io_udproutes.yaml",
        Kind::ReferenceGrant => "gateway.networking.k8s.io_referencegrants.yaml",
        Kind::BackendTlsPolicy => "gateway.networking.k8s.io_backendtlspolicies.yaml",
        _ => unreachable!("not a Gateway API kind"),
    }
}

/// The storage version's schema of a CRD.
fn crd_schema(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = serde_saphyr::from_str(&text).expect("CRD is YAML");
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    let storage = versions
        .iter()
        .find(|v| v["storage"] == Value::Bool(true))
        .expect("a storage version");
    storage["schema"]["openAPIV3Schema"].clone()
}

/// Follows `$ref`s and unwraps `Option` (`anyOf: [X, {type: null}]`).
fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    loop {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            s = &root["$defs"][name];
            continue;
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = any.iter().filter(|v| v["type"] != "null").collect();
            if non_null.len() == 1 && any.len() == 2 {
                s = non_null[0];
                continue;
            }
        }
        return s;
    }
}

/// The JSON type, with `null` removed from `type: [x, null]`.
fn json_type(s: &Value) -> Option<String> {
    match s.get("type")? {
        Value::String(t) => Some(t.clone()),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_string),
        _ => None,
    }
}

fn string_set(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

/// Numbers compare by value (`1` and `1.0` are the same limit).
fn number(v: Option<&Value>) -> Option<String> {
    v.map(|v| match v.as_f64() {
        Some(f) => format!("{f}"),
        None => v.to_string(),
    })
}

struct Walk<'a> {
    ours_root: &'a Value,
    mismatches: Vec<String>,
    /// Schema nodes compared, so a walk that silently stops early shows.
    nodes: usize,
}

impl Walk<'_> {
    fn compare(&mut self, path: &str, crd: &Value, ours: &Value) {
        let ours = resolve(self.ours_root, ours);
        self.nodes += 1;
        let crd_type = json_type(crd);
        let our_type = json_type(ours);
        // An integer in the CRD may be a number in ours only if we got the Rust type wrong.
        if crd_type.is_some() && our_type.is_some() && crd_type != our_type {
            self.mismatches.push(format!(
                "{path}: type {} (CRD) vs {} (ours)",
                crd_type.unwrap_or_default(),
                our_type.unwrap_or_default()
            ));
            return;
        }
        for key in ["enum", "required"] {
            let (a, b) = (string_set(crd.get(key)), string_set(ours.get(key)));
            if a != b {
                self.mismatches
                    .push(format!("{path}: {key} {a:?} (CRD) vs {b:?} (ours)"));
            }
        }
        if crd.get("pattern") != ours.get("pattern") {
            self.mismatches.push(format!(
                "{path}: pattern {:?} (CRD) vs {:?} (ours)",
                crd.get("pattern"),
                ours.get("pattern")
            ));
        }
        for key in [
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "minimum",
            "maximum",
            "maxProperties",
        ] {
            let (a, b) = (number(crd.get(key)), number(ours.get(key)));
            if a != b {
                self.mismatches
                    .push(format!("{path}: {key} {a:?} (CRD) vs {b:?} (ours)"));
            }
        }
        if let Some(props) = crd.get("properties").and_then(Value::as_object) {
            let our_props = ours.get("properties").and_then(Value::as_object);
            for (name, sub) in props {
                let child = format!("{path}.{name}");
                match our_props.and_then(|p| p.get(name)) {
                    Some(o) => self.compare(&child, sub, o),
                    None if NOT_MODELLED.iter().any(|(p, _)| *p == child) => {}
                    None => self.mismatches.push(format!("{child}: missing in ours")),
                }
            }
            for name in our_props.into_iter().flatten().map(|(k, _)| k) {
                if !props.contains_key(name) {
                    self.mismatches
                        .push(format!("{path}.{name}: not in the CRD"));
                }
            }
        }
        if let Some(items) = crd.get("items") {
            match ours.get("items") {
                Some(o) => self.compare(&format!("{path}[]"), items, o),
                None => self
                    .mismatches
                    .push(format!("{path}[]: items missing in ours")),
            }
        }
        if let Some(values) = crd.get("additionalProperties").filter(|v| v.is_object()) {
            match ours.get("additionalProperties") {
                Some(o) => self.compare(&format!("{path}{{}}"), values, o),
                None => self
                    .mismatches
                    .push(format!("{path}{{}}: additionalProperties missing in ours")),
            }
        }
    }
}

#[test]
fn model_schema_matches_the_crds() {
    let dir = shared_dir().join("gateway-api/v1.6.1/crd/experimental");
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let mut all = Vec::new();
    for kind in Kind::ALL
        .into_iter()
        .filter(|k| k.group() == gatewright::model::GATEWAY_GROUP)
    {
        let crd = crd_schema(&dir.join(crd_file(kind)));
        let ours = serde_json::to_value(gatewright::Object::schema(kind)).expect("schema is JSON");
        let mut walk = Walk {
            ours_root: &ours,
            mismatches: Vec::new(),
            nodes: 0,
        };
        walk.compare(
            &format!("{kind}.spec"),
            &crd["properties"]["spec"],
            &ours["properties"]["spec"],
        );
        println!(
            "{kind}: {} schema nodes compared, {} mismatches",
            walk.nodes,
            walk.mismatches.len()
        );
        assert!(walk.nodes > 5, "{kind}: the walk compared almost nothing");
        all.extend(walk.mismatches);
    }
    for m in &all {
        println!("  {m}");
    }
    assert!(
        all.is_empty(),
        "{} schema mismatches (listed above)",
        all.len()
    );
}

/// The text of every `src/<dir>/*.rs` file.
fn sources(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable source");
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
                text,
            )
        })
        .collect();
    out.sort();
    out
}

/// Every `x-kubernetes-validations` message of a schema, with the path of its rule.
fn rule_messages(schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    for rule in schema["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(m) = rule["message"].as_str() {
            out.push((path.to_string(), m.to_string()));
        }
    }
    for (name, sub) in schema["properties"].as_object().into_iter().flatten() {
        rule_messages(sub, &format!("{path}.{name}"), out);
    }
    if schema["items"].is_object() {
        rule_messages(&schema["items"], &format!("{path}[]"), out);
    }
}

/// Each CEL rule of both channels' CRDs has a check: its message (verbatim, as a Rust string
/// literal) occurs in `src/validate`.
#[test]
fn every_crd_rule_has_a_check() {
    let crds = shared_dir().join("gateway-api/v1.6.1/crd");
    if !crds.is_dir() {
        println!("skipped: {} is absent", crds.display());
        return;
    }
    let code: String = sources("validate").into_iter().map(|(_, t)| t).collect();
    let mut rules = 0;
    let mut missing = BTreeSet::new();
    for channel in ["standard", "experimental"] {
        for kind in Kind::ALL
            .into_iter()
            .filter(|k| k.group() == gatewright::model::GATEWAY_GROUP)
        {
            let schema = crd_schema(&crds.join(channel).join(crd_file(kind)));
            let mut messages = Vec::new();
            rule_messages(&schema, kind.as_str(), &mut messages);
            for (path, m) in messages {
                rules += 1;
                let escaped = m.replace('\\', "\\\\").replace('"', "\\\"");
                if !code.contains(&m) && !code.contains(&escaped) {
                    missing.insert(format!("{channel} {path}: {m}"));
                }
            }
        }
    }
    println!("{rules} CEL rules, {} without a check", missing.len());
    for m in &missing {
        println!("  {m}");
    }
    assert!(rules > 100, "found almost no CEL rules");
    assert!(
        missing.is_empty(),
        "CEL rules without a check (listed above)"
    );
}

/// Each limit the model's schema attributes use (`limits::X.schema()`) is checked by the
/// validator too (`limits::X` occurs in `src/validate`).
#[test]
fn every_model_limit_is_validated() {
    let code: String = sources("validate").into_iter().map(|(_, t)| t).collect();
    let mut used = std::collections::BTreeMap::new();
    for (file, text) in sources("model") {
        for (i, _) in text.match_indices("limits::") {
            let name: String = text[i + "limits::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name, file.clone());
            }
        }
    }
    let missing: Vec<String> = used
        .iter()
        .filter(|(name, _)| !code.contains(&format!("limits::{name}")))
        .map(|(name, file)| format!("limits::{name} (used in model/{file})"))
        .collect();
    println!(
        "{} limits used by the model, {} unchecked",
        used.len(),
        missing.len()
    );
    assert!(used.len() > 50, "found almost no limits");
    assert!(
        missing.is_empty(),
        "limits the validator never checks: {missing:?}"
    );
}
