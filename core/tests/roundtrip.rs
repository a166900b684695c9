//! Objects generated from our JSON Schema survive load → serialize → load unchanged.

use gatewright::load::parse_str;
use gatewright::{Kind, Object};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// A small deterministic generator driven by proptest's seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
            .map(|d| resolve(root, d))
            .unwrap_or(s),
        None => s,
    }
}

fn value(root: &Value, s: &Value, g: &mut Gen, depth: u32) -> Value {
    let s = resolve(root, s);
    if let Some(any) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(|a| a.as_array())
    {
        let non_null: Vec<&Value> = any.iter().filter(|x| x["type"] != "null").collect();
        if let Some(pick) = non_null.get(g.below(non_null.len() as u64) as usize) {
            return value(root, pick, g, depth);
        }
    }
    if let Some(e) = s.get("enum").and_then(|e| e.as_array()) {
        return e[g.below(e.len() as u64) as usize].clone();
    }
    let ty = match &s["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .find(|t| *t != "null")
            .unwrap_or("null")
            .to_string(),
        _ => {
            if s.get("properties").is_some() {
                "object".into()
            } else {
                "string".into()
            }
        }
    };
    match ty.as_str() {
        "object" => {
            let mut m = Map::new();
            if let Some(props) = s.get("properties").and_then(|p| p.as_object()) {
                let required: Vec<&str> = s["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                for (k, p) in props {
                    if depth == 0
                        && ["apiVersion", "kind", "status", "metadata"].contains(&k.as_str())
                    {
                        continue;
                    }
                    if required.contains(&k.as_str()) || (g.below(3) == 0 && depth < 8) {
                        m.insert(k.clone(), value(root, p, g, depth + 1));
                    }
                }
            } else if s.get("additionalProperties").is_some() && depth < 8 {
                for i in 0..g.below(3) {
                    m.insert(format!("k{i}"), json!(format!("v{}", g.below(100))));
                }
            }
            Value::Object(m)
        }
        "array" => {
            let n = if depth < 8 { g.below(3) } else { 0 };
            Value::Array(
                (0..n)
                    .map(|_| value(root, &s["items"], g, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let lo = s["minimum"].as_i64().unwrap_or(-5);
            let hi = s["maximum"].as_i64().unwrap_or(70000).min(lo + 100_000);
            json!(lo + g.below((hi - lo + 1) as u64) as i64)
        }
        "number" => json!(g.below(1000)),
        "boolean" => json!(g.below(2) == 1),
        "null" => Value::Null,
        _ => json!(["a", "b.example.com", "/x", "*.c.org", "ns-1", ""][g.below(6) as usize]),
    }
}

fn generate(kind: Kind, seed: u64) -> Value {
    let schema = serde_json::to_value(Object::schema(kind)).expect("schema");
    let mut g = Gen(seed | 1);
    let mut v = value(&schema, &schema, &mut g, 0);
    if let Value::Object(m) = &mut v {
        let api = kind.api_version();
        m.insert("apiVersion".into(), json!(api));
        m.insert("kind".into(), json!(kind.as_str()));
        m.insert(
            "metadata".into(),
            json!({"name": format!("obj{}", g.below(9)), "namespace": "ns"}),
        );
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn load_serialize_load_round_trips(seed in any::<u64>(), k in 0..Kind::ALL.len()) {
        let kind = Kind::ALL[k];
        let text = generate(kind, seed).to_string();
        let first = parse_str(&text, "gen.json");
        prop_assert!(first.diagnostics.is_empty(), "generated object did not load: {:?}\n{text}", first.diagnostics);
        prop_assert_eq!(first.objects.len(), 1);
        let obj = &first.objects[0].object;
        let again_text = serde_json::to_string(obj).expect("serialize");
        let second = parse_str(&again_text, "again.json");
        prop_assert!(second.diagnostics.is_empty(), "{:?}", second.diagnostics);
        prop_assert_eq!(&second.objects[0].object, obj);
        // YAML too.
        let yaml = serde_saphyr::to_string(obj).expect("yaml");
        let third = parse_str(&yaml, "again.yaml");
        prop_assert!(third.diagnostics.is_empty(), "{:?}\n{yaml}", third.diagnostics);
        prop_assert_eq!(&third.objects[0].object, obj);
    }
}
