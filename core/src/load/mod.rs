//! Manifests in, objects out: YAML and JSON documents, `kind: List`, CRD defaults, source positions.
//!
//! Parsing is pure over text ([`parse_str`]); [`files`] reads paths and directories.

mod defaults;
pub mod files;

use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::model::{Kind, Object, ObjectKey};

pub use defaults::apply_defaults;

/// An object and the place it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The object, with CRD defaults applied.
    pub object: Object,
    /// File and line of its document.
    pub source: Source,
}

/// The objects read from some input, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadResult {
    /// Objects of kinds we understand.
    pub objects: Vec<Loaded>,
    /// Syntax errors, undecodable objects and skipped unknown kinds.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadResult {
    /// Whether any diagnostic is an error (unknown kinds are only warnings).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Appends another result.
    pub fn extend(&mut self, other: LoadResult) {
        self.objects.extend(other.objects);
        self.diagnostics.extend(other.diagnostics);
    }
}

/// Documents larger than this are refused rather than parsed, so hostile input cannot exhaust memory.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Parses YAML (multi-document) or JSON text, naming `file` in every diagnostic.
pub fn parse_str(text: &str, file: &str) -> LoadResult {
    let mut out = LoadResult::default();
    for (line, doc) in split_documents(text) {
        let source = Source {
            file: file.to_string(),
            line,
        };
        if doc.trim().is_empty() || doc.lines().all(is_blank_or_comment) {
            continue;
        }
        if doc.len() > MAX_DOCUMENT_BYTES {
            out.diagnostics.push(syntax_error(
                &source,
                format!("document larger than {MAX_DOCUMENT_BYTES} bytes"),
            ));
            continue;
        }
        match serde_saphyr::from_str::<serde_json::Value>(doc) {
            Ok(value) => add_value(value, &source, &mut out),
            Err(e) => {
                let (l, c) = e
                    .location()
                    .map(|loc| (loc.line() as usize, loc.column() as usize))
                    .unwrap_or((1, 1));
                let msg = first_line(&e.to_string());
                out.diagnostics.push(syntax_error(
                    &source,
                    format!(
                        "YAML syntax error at {file}:{}:{c}: {msg}",
                        line + l.saturating_sub(1)
                    ),
                ));
            }
        }
    }
    out
}

fn is_blank_or_comment(l: &str) -> bool {
    let t = l.trim();
    t.is_empty() || t.starts_with('#')
}

/// The parser's message without its own (document-relative) position prefix.
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line.split_once(": ") {
        Some((pos, rest)) if pos.starts_with("line ") => rest.to_string(),
        _ => line.to_string(),
    }
}

fn syntax_error(source: &Source, message: String) -> Diagnostic {
    Diagnostic {
        kind: String::new(),
        namespace: String::new(),
        name: String::new(),
        path: String::new(),
        message,
        severity: Severity::Error,
        source: Some(source.clone()),
    }
}

/// Splits a YAML stream at `---` document markers, keeping each document's first line number.
///
/// JSON input is one document. A `---` inside a block scalar at column 0 would be split
/// too; Kubernetes manifests never have one, since block scalars are indented.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim_end();
        let is_marker = t == "---" || t.starts_with("--- ") || t == "...";
        if is_marker {
            docs.push((start_line, &text[start..offset]));
            // A `--- ` line may carry content after the marker.
            start = offset + if t.starts_with("--- ") { 4 } else { line.len() };
            start_line = i + 1 + usize::from(!t.starts_with("--- "));
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start..]));
    docs
}

/// Turns one decoded document into objects (expanding `kind: List`).
fn add_value(value: serde_json::Value, source: &Source, out: &mut LoadResult) {
    let serde_json::Value::Object(map) = &value else {
        if !value.is_null() {
            out.diagnostics.push(syntax_error(
                source,
                "document is not a Kubernetes object (expected a mapping)".into(),
            ));
        }
        return;
    };
    let kind_name = map.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
    if kind_name == "List" || kind_name.ends_with("List") && map.contains_key("items") {
        if let Some(serde_json::Value::Array(items)) = map.get("items") {
            for item in items.clone() {
                add_value(item, source, out);
            }
        }
        return;
    }
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string();
    let namespace = map
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string();
    let api_version = map
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    let Some(kind) = resolve_kind(api_version, kind_name) else {
        out.diagnostics.push(Diagnostic {
            kind: kind_name.to_string(),
            namespace,
            name,
            path: String::new(),
            message: format!("unknown kind {api_version:?} {kind_name:?}: skipped"),
            severity: Severity::Warning,
            source: Some(source.clone()),
        });
        return;
    };
    match Object::from_value(kind, value) {
        Ok(mut object) => {
            if kind.namespaced() && object.metadata().namespace.is_none() {
                object.metadata_mut().namespace = Some("default".into());
            }
            apply_defaults(&mut object);
            out.objects.push(Loaded {
                object,
                source: source.clone(),
            });
        }
        Err(message) => {
            let key = ObjectKey::new(kind, if kind.namespaced() { &namespace } else { "" }, &name);
            let (path, message) = match message.split_once(": ") {
                Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
                _ => (String::new(), message),
            };
            out.diagnostics
                .push(Diagnostic::error(&key, path, message).at(Some(source)));
        }
    }
}

/// Finds our kind for an `apiVersion`/`kind` pair; versions the CRDs do not serve are unknown.
pub fn resolve_kind(api_version: &str, kind: &str) -> Option<Kind> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind && k.group() == group && k.versions().contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_with_line_numbers() {
        let text = "a: 1\n---\nb: 2\n--- \nc: 3\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0], (1, "a: 1\n"));
        assert_eq!(docs[1], (3, "b: 2\n"));
        assert_eq!(docs[2].0, 5);
    }

    #[test]
    fn loads_objects_and_skips_unknown_kinds() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c, listeners: [{name: http, port: 80, protocol: HTTP}]}\n";
        let r = parse_str(text, "x.yaml");
        assert_eq!(r.objects.len(), 1);
        assert_eq!(r.objects[0].source.line, 5);
        assert_eq!(r.objects[0].object.key().to_string(), "Gateway/default/g");
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(r.diagnostics[0].severity, Severity::Warning);
        assert!(!r.has_errors());
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let text = "kind: Namespace\n---\nkind: Gateway\nmetadata: {name: [\n";
        let r = parse_str(text, "bad.yaml");
        let errors: Vec<_> = r
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{:?}", r.diagnostics);
        let m = &errors[0].message;
        assert_eq!(
            m,
            "YAML syntax error at bad.yaml:4:18: unclosed bracket '['"
        );
        assert!(r.has_errors());
    }

    #[test]
    fn wrong_types_name_the_field() {
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c, listeners: [{name: http, port: eighty, protocol: HTTP}]}\n";
        let r = parse_str(text, "x.yaml");
        assert!(r.objects.is_empty());
        assert_eq!(
            r.diagnostics[0].path, "spec.listeners[0].port",
            "{:?}",
            r.diagnostics
        );
        assert_eq!(r.diagnostics[0].name, "g");
    }

    #[test]
    fn expands_lists_and_json() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"a"},"spec":{"ports":[{"port":80}]}}]}"#;
        let r = parse_str(text, "x.json");
        assert_eq!(r.objects.len(), 2, "{:?}", r.diagnostics);
        assert_eq!(r.objects[0].object.key().to_string(), "Namespace/a");
    }
}
