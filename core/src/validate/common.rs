//! What every kind's checks share: field paths, the diagnostic sink, the OpenAPI value checks
//! (worded as the API server words them), references, conditions and durations.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;

use super::Channel;
use crate::diagnostic::Diagnostic;
use crate::model::limits::{self, Limits};
use crate::model::*;

/// A field path in Kubernetes form: `spec.rules[0].matches[1].path.value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    /// The root of a path, e.g. `spec`.
    pub(crate) fn root(name: &str) -> Path {
        Path(name.to_string())
    }

    /// A child field.
    pub(crate) fn f(&self, field: &str) -> Path {
        Path(format!("{}.{field}", self.0))
    }

    /// A list item.
    pub(crate) fn i(&self, index: usize) -> Path {
        Path(format!("{}[{index}]", self.0))
    }

    /// The path as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compiles each pattern once and keeps it; every pattern used is a constant, so the cache
/// stays small.
static REGEXES: LazyLock<Mutex<HashMap<&'static str, Regex>>> = LazyLock::new(Default::default);

/// Whether `value` matches `pattern` (unanchored, as Go's `MatchString` and CEL's `matches`).
///
/// Every pattern passed here is a constant of this crate, and a unit test compiles each one,
/// so the compile error branch is unreachable; it answers "matches" rather than panicking.
pub(crate) fn matches(pattern: &'static str, value: &str) -> bool {
    let regex = {
        let mut cache = REGEXES.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(pattern) {
            Some(r) => r.clone(),
            None => match Regex::new(pattern) {
                Ok(r) => cache.entry(pattern).or_insert(r).clone(),
                Err(_) => return true,
            },
        }
    };
    regex.is_match(value)
}

/// Collects the diagnostics of one object.
pub(crate) struct Cx<'a> {
    key: &'a ObjectKey,
    /// The CRD channel whose schema and rules apply.
    pub(crate) channel: Channel,
    /// Prefix the API server leaves out of "in body" names: `status.` when the status
    /// subresource is validated on its own.
    body_root: &'static str,
    pub(crate) out: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    /// A sink for the object `key`, validated under `channel`.
    pub(crate) fn new(key: &'a ObjectKey, channel: Channel) -> Self {
        Cx {
            key,
            channel,
            body_root: "",
            out: Vec::new(),
        }
    }

    /// A sink for a status-subresource update: "in body" names are relative to `status`.
    pub(crate) fn for_status(key: &'a ObjectKey, channel: Channel) -> Self {
        Cx {
            body_root: "status.",
            ..Cx::new(key, channel)
        }
    }

    /// Whether experimental-channel fields and rules apply.
    pub(crate) fn experimental(&self) -> bool {
        self.channel == Channel::Experimental
    }

    /// Records an error at `path`.
    pub(crate) fn error(&mut self, path: &Path, message: impl Into<String>) {
        self.out
            .push(Diagnostic::error(self.key, path.as_str(), message));
    }

    /// A CEL rule (`x-kubernetes-validations`) at `path`: `message` is the CRD's, verbatim.
    pub(crate) fn rule(&mut self, path: &Path, ok: bool, message: &str) {
        if !ok {
            self.error(path, message);
        }
    }

    /// A CEL rule whose evaluation may fail at run time, reading an absent field without
    /// `has()` (`Err(field)`); the API server then rejects the object with
    /// `no such key: <field> evaluating rule: <message>`.
    pub(crate) fn rule_eval(&mut self, path: &Path, result: Result<bool, &str>, message: &str) {
        match result {
            Ok(true) => {}
            Ok(false) => self.error(path, message),
            Err(field) => self.error(
                path,
                format!("no such key: {field} evaluating rule: {message}"),
            ),
        }
    }

    /// The name the API server's schema validator gives a field in "in body" messages.
    pub(crate) fn body(&self, path: &Path) -> String {
        let p = path.as_str();
        p.strip_prefix(self.body_root).unwrap_or(p).to_string()
    }

    /// `Required value`.
    pub(crate) fn required(&mut self, path: &Path) {
        self.error(path, "Required value");
    }

    /// Checks a string against its enum, length and pattern limits.
    pub(crate) fn str(&mut self, path: &Path, value: &str, l: &Limits) {
        if !l.one_of.is_empty() && !l.one_of.contains(&value) {
            let supported: Vec<String> = l.one_of.iter().map(|v| format!("{v:?}")).collect();
            self.error(
                path,
                format!(
                    "Unsupported value: {value:?}: supported values: {}",
                    supported.join(", ")
                ),
            );
        }
        let len = value.chars().count();
        if let Some(max) = l.max_length.filter(|m| len > *m) {
            let unit = if max == 1 { "byte" } else { "bytes" };
            self.error(path, format!("Too long: may not be more than {max} {unit}"));
        }
        if let Some(min) = l.min_length.filter(|m| len < *m) {
            let body = self.body(path);
            self.error(
                path,
                format!(
                    "Invalid value: {value:?}: {body} in body should be at least {min} chars long"
                ),
            );
        }
        if let Some(p) = l.pattern.filter(|p| !matches(p, value)) {
            let body = self.body(path);
            self.error(
                path,
                format!("Invalid value: {value:?}: {body} in body should match '{p}'"),
            );
        }
    }

    /// Checks an optional string; absence is fine.
    pub(crate) fn opt_str(&mut self, path: &Path, value: Option<&str>, l: &Limits) {
        if let Some(v) = value {
            self.str(path, v, l);
        }
    }

    /// Checks an integer against its enum and range limits.
    pub(crate) fn int(&mut self, path: &Path, value: i64, l: &Limits) {
        if !l.int_one_of.is_empty() && !l.int_one_of.contains(&value) {
            let supported: Vec<String> = l.int_one_of.iter().map(|v| format!("\"{v}\"")).collect();
            self.error(
                path,
                format!(
                    "Unsupported value: {value}: supported values: {}",
                    supported.join(", ")
                ),
            );
        }
        if let Some(min) = l.minimum.filter(|m| value < *m) {
            let body = self.body(path);
            self.error(
                path,
                format!("Invalid value: {value}: {body} in body should be greater than or equal to {min}"),
            );
        }
        if let Some(max) = l.maximum.filter(|m| value > *m) {
            let body = self.body(path);
            self.error(
                path,
                format!(
                    "Invalid value: {value}: {body} in body should be less than or equal to {max}"
                ),
            );
        }
    }

    /// Checks an optional integer; absence is fine.
    pub(crate) fn opt_int(&mut self, path: &Path, value: Option<i32>, l: &Limits) {
        if let Some(v) = value {
            self.int(path, v.into(), l);
        }
    }

    /// Checks the number of items of a list.
    pub(crate) fn count(&mut self, path: &Path, len: usize, l: &Limits) {
        if let Some(max) = l.max_items.filter(|m| len > *m) {
            self.error(
                path,
                format!("Too many: {len}: must have at most {max} items"),
            );
        }
        if let Some(min) = l.min_items.filter(|m| len < *m) {
            let body = self.body(path);
            self.error(
                path,
                format!("Invalid value: {len}: {body} in body should have at least {min} items"),
            );
        }
    }

    /// Checks a list of strings: its length, each item, and (for `x-kubernetes-list-type:
    /// set`) that no item repeats.
    pub(crate) fn strings(&mut self, path: &Path, items: &[String], l: &Limits, set: bool) {
        self.count(path, items.len(), l);
        if let Some(item) = l.items {
            for (i, v) in items.iter().enumerate() {
                self.str(&path.i(i), v, item);
            }
        }
        if set {
            self.unique(path, items.iter().map(|v| format!("{v:?}")));
        }
    }

    /// Checks a map of strings: its size, each value, and reports values at `path.key`.
    pub(crate) fn map(&mut self, path: &Path, map: &BTreeMap<String, String>, l: &Limits) {
        if let Some(max) = l.max_properties.filter(|m| map.len() > *m) {
            self.error(
                path,
                format!("Too many: {}: must have at most {max} items", map.len()),
            );
        }
        if let Some(values) = l.values {
            for (k, v) in map {
                self.str(&path.f(k), v, values);
            }
        }
    }

    /// Reports repeated entries of a `set` list (`shown` is each item as the API server prints it).
    pub(crate) fn unique(&mut self, path: &Path, shown: impl Iterator<Item = String>) {
        let mut seen = std::collections::HashSet::new();
        for (i, s) in shown.enumerate() {
            if !seen.insert(s.clone()) {
                self.error(&path.i(i), format!("Duplicate value: {s}"));
            }
        }
    }

    /// Reports repeated keys of a `map` list (`x-kubernetes-list-map-keys: [field]`).
    pub(crate) fn unique_keys<'k>(
        &mut self,
        path: &Path,
        field: &str,
        keys: impl Iterator<Item = &'k str>,
    ) {
        self.unique(
            path,
            keys.map(|k| format!("map[string]interface {{}}{{\"{field}\":{k:?}}}")),
        );
    }

    /// Reports repeated integer keys of a `map` list.
    pub(crate) fn unique_int_keys(
        &mut self,
        path: &Path,
        field: &str,
        keys: impl Iterator<Item = i64>,
    ) {
        self.unique(
            path,
            keys.map(|k| format!("map[string]interface {{}}{{\"{field}\":{k}}}")),
        );
    }
}

/// CEL's `||`: true when either side is (even if the other fails), else the first failure.
pub(crate) fn cel_or(
    a: Result<bool, &'static str>,
    b: Result<bool, &'static str>,
) -> Result<bool, &'static str> {
    match (a, b) {
        (Ok(true), _) | (_, Ok(true)) => Ok(true),
        (Err(e), _) | (_, Err(e)) => Err(e),
        _ => Ok(false),
    }
}

// ---- References ----

/// `ParentReference` fields.
pub(crate) fn parent_ref(cx: &mut Cx, path: &Path, p: &ParentReference) {
    cx.opt_str(&path.f("group"), p.group.as_deref(), &limits::GROUP);
    cx.opt_str(&path.f("kind"), p.kind.as_deref(), &limits::KIND);
    cx.opt_str(
        &path.f("namespace"),
        p.namespace.as_deref(),
        &limits::NAMESPACE,
    );
    cx.str(&path.f("name"), &p.name, &limits::OBJECT_NAME);
    cx.opt_str(
        &path.f("sectionName"),
        p.section_name.as_deref(),
        &limits::SECTION_NAME,
    );
    cx.opt_int(&path.f("port"), p.port, &limits::PORT);
}

/// `BackendObjectReference` fields and the CEL rule every backend reference carries.
pub(crate) fn backend_ref(cx: &mut Cx, path: &Path, b: &BackendObjectReference) {
    cx.opt_str(&path.f("group"), b.group.as_deref(), &limits::GROUP);
    cx.opt_str(&path.f("kind"), b.kind.as_deref(), &limits::KIND);
    cx.str(&path.f("name"), &b.name, &limits::OBJECT_NAME);
    cx.opt_str(
        &path.f("namespace"),
        b.namespace.as_deref(),
        &limits::NAMESPACE,
    );
    cx.opt_int(&path.f("port"), b.port, &limits::PORT);
    // (size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true
    // group and kind are defaulted; were one absent, the rule would fail at run time.
    let result = match (b.group.as_deref(), b.kind.as_deref()) {
        (Some(g), Some(k)) => Ok(!(g.is_empty() && k == "Service") || b.port.is_some()),
        (None, _) => Err("group"),
        (_, None) => Err("kind"),
    };
    cx.rule_eval(path, result, "Must have port for Service reference");
}

/// `SecretObjectReference` fields.
pub(crate) fn secret_ref(cx: &mut Cx, path: &Path, r: &SecretObjectReference) {
    cx.opt_str(&path.f("group"), r.group.as_deref(), &limits::GROUP);
    cx.opt_str(&path.f("kind"), r.kind.as_deref(), &limits::KIND);
    cx.str(&path.f("name"), &r.name, &limits::OBJECT_NAME);
    cx.opt_str(
        &path.f("namespace"),
        r.namespace.as_deref(),
        &limits::NAMESPACE,
    );
}

/// `LocalObjectReference` fields (extension refs, CA certificate refs, parameters).
pub(crate) fn local_ref(cx: &mut Cx, path: &Path, r: &LocalObjectReference) {
    cx.str(&path.f("group"), &r.group, &limits::GROUP);
    cx.str(&path.f("kind"), &r.kind, &limits::KIND);
    cx.str(&path.f("name"), &r.name, &limits::OBJECT_NAME);
}

/// `ObjectReference` fields (frontend CA certificate refs).
pub(crate) fn object_ref(cx: &mut Cx, path: &Path, r: &ObjectReference) {
    cx.str(&path.f("group"), &r.group, &limits::GROUP);
    cx.str(&path.f("kind"), &r.kind, &limits::KIND);
    cx.str(&path.f("name"), &r.name, &limits::OBJECT_NAME);
    cx.opt_str(
        &path.f("namespace"),
        r.namespace.as_deref(),
        &limits::NAMESPACE,
    );
}

// ---- Status ----

/// A list of `metav1.Condition`s (a `map` list keyed by `type`).
pub(crate) fn conditions(cx: &mut Cx, path: &Path, conditions: &[Condition], l: &Limits) {
    cx.count(path, conditions.len(), l);
    cx.unique_keys(path, "type", conditions.iter().map(|c| c.type_.as_ref()));
    for (i, c) in conditions.iter().enumerate() {
        let p = path.i(i);
        cx.str(&p.f("type"), &c.type_, &limits::CONDITION_TYPE);
        cx.str(&p.f("status"), &c.status, &limits::CONDITION_STATUS);
        cx.str(&p.f("reason"), &c.reason, &limits::CONDITION_REASON);
        cx.str(&p.f("message"), &c.message, &limits::CONDITION_MESSAGE);
        if let Some(g) = c.observed_generation {
            cx.int(&p.f("observedGeneration"), g, &limits::OBSERVED_GENERATION);
        }
        let t = &c.last_transition_time;
        let tp = p.f("lastTransitionTime");
        if t.is_empty() {
            cx.required(&tp);
        } else if !matches(DATE_TIME_PATTERN, t) {
            let body = cx.body(&tp);
            cx.error(
                &tp,
                format!("Invalid value: {t:?}: {body} in body must be of type date-time: {t:?}"),
            );
        }
    }
}

/// RFC 3339 date-time, as OpenAPI's `format: date-time` (go-openapi `IsDateTime`) accepts it.
pub(crate) const DATE_TIME_PATTERN: &str =
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$";

/// The status of a route, per parent.
pub(crate) fn route_status(cx: &mut Cx, path: &Path, s: &RouteStatus) {
    let parents = path.f("parents");
    cx.count(&parents, s.parents.len(), &limits::PARENT_REFS);
    for (i, p) in s.parents.iter().enumerate() {
        let pp = parents.i(i);
        parent_ref(cx, &pp.f("parentRef"), &p.parent_ref);
        cx.str(
            &pp.f("controllerName"),
            &p.controller_name,
            &limits::CONTROLLER_NAME,
        );
        conditions(
            cx,
            &pp.f("conditions"),
            &p.conditions,
            &limits::PARENT_CONDITIONS,
        );
    }
}

// ---- Durations ----

/// Parses a duration as Go's `time.ParseDuration` (and CEL's `duration()`) do, in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_end];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * scale;
    }
    let ns = total as i128;
    Some(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("0s"), Some(0));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("0.5s"), Some(500_000_000));
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn paths_print_in_kubernetes_form() {
        let p = Path::root("spec").f("rules").i(0).f("matches").i(1);
        assert_eq!(p.as_str(), "spec.rules[0].matches[1]");
    }
}
