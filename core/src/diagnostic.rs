//! Diagnostics: what went wrong, on which object, at which field, and why.

use serde::{Deserialize, Serialize};

use crate::model::ObjectKey;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The object would be rejected by the API server, or cannot be used.
    Error,
    /// The object is accepted but something in it is ignored or suspicious.
    Warning,
}

/// Where an object came from, so errors can point at a file and line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Source {
    /// File path, or `<stdin>`, or a caller-chosen label.
    pub file: String,
    /// 1-based line where the object's document starts.
    pub line: usize,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One problem, in the shape `gatewright validate -o json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Kind of the object, or empty when the document had none.
    pub kind: String,
    /// Namespace, empty for cluster-scoped kinds and unreadable documents.
    pub namespace: String,
    /// Object name, empty when unknown.
    pub name: String,
    /// Field path, e.g. `spec.rules[0].matches[1].path.value`; empty for whole-object problems.
    pub path: String,
    /// What the API server would have said (for CRD rules, the CRD's own message).
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
    /// File and line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Diagnostic {
    /// An error about a field of an object.
    pub fn error(key: &ObjectKey, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            kind: key.kind.to_string(),
            namespace: key.namespace.to_string(),
            name: key.name.to_string(),
            path: path.into(),
            message: message.into(),
            severity: Severity::Error,
            source: None,
        }
    }

    /// A warning about a field of an object.
    pub fn warning(key: &ObjectKey, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(key, path, message)
        }
    }

    /// Attaches the object's source position.
    pub fn at(mut self, source: Option<&Source>) -> Self {
        self.source = source.cloned();
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(src) = &self.source {
            write!(f, "{src}: ")?;
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: ")?;
        if !self.kind.is_empty() {
            write!(f, "{}", self.kind)?;
            if !self.namespace.is_empty() {
                write!(f, "/{}", self.namespace)?;
            }
            write!(f, "/{}: ", self.name)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}
