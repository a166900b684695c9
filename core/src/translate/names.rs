//! How IR names are spelled: one route per rule match, one cluster per Service port. They are
//! built for every route of every translation, so they are appended piece by piece rather
//! than through the formatting machinery (which costs as much as the rest of a route's name).

use crate::model::{GrpcRouteMatch, HttpHeaderMatch, HttpRouteMatch};

/// Appends parts separated by `/`.
fn join(out: &mut String, parts: &[&str]) {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(p);
    }
}

/// `kind/namespace/name/rule/match`: the name of one match of one rule of a route (`kind`
/// is the lower-case route kind, `rule` the rule's id).
pub fn route(kind: &str, namespace: &str, name: &str, rule: &RuleId<'_>, index: usize) -> String {
    let mut out = String::with_capacity(kind.len() + namespace.len() + name.len() + 32);
    join(&mut out, &[kind, namespace, name]);
    out.push('/');
    rule.write_to(&mut out);
    out.push('/');
    out.push_str(itoa::Buffer::new().format(index));
    out
}

/// `namespace/service/port`, with `/h2c` for HTTP/2 without TLS: the cluster of a Service port.
pub fn cluster(namespace: &str, service: &str, port: i32, h2c: bool) -> String {
    let mut out = String::with_capacity(namespace.len() + service.len() + 12);
    join(&mut out, &[namespace, service]);
    out.push('/');
    out.push_str(itoa::Buffer::new().format(port));
    if h2c {
        out.push_str("/h2c");
    }
    out
}

/// A stable, content-derived identifier for a rule: its name, else `m` and the hash of its
/// matches (`rule-<index>` when it has none), so a rule keeps its routes' names when other
/// rules move around it.
pub fn rule_id<'a, M: RuleMatch>(
    name: Option<&'a str>,
    matches: Option<&[M]>,
    index: usize,
) -> RuleId<'a> {
    match (name, matches) {
        (Some(n), _) => RuleId::Named(n),
        (None, Some(list)) if !list.is_empty() => {
            let mut h = Fnv1a::default();
            for m in list {
                m.feed(&mut h);
            }
            RuleId::Hashed(h.hash)
        }
        (None, _) => RuleId::Index(index),
    }
}

/// A rule's id (see [`rule_id`]), spelled only where a name or message is written: every
/// rule of every translation has one, and most are never printed but into a route's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleId<'a> {
    /// The rule's `name`.
    Named(&'a str),
    /// `m` and the hash of the rule's matches, in 16 hex digits.
    Hashed(u64),
    /// `rule-` and the rule's index, for a rule with neither name nor matches.
    Index(usize),
}

impl RuleId<'_> {
    /// Appends the id.
    pub fn write_to(&self, out: &mut String) {
        match *self {
            RuleId::Named(n) => out.push_str(n),
            RuleId::Hashed(hash) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.reserve(17);
                out.push('m');
                for shift in (0..16).rev() {
                    out.push(char::from(HEX[((hash >> (shift * 4)) & 0xf) as usize]));
                }
            }
            RuleId::Index(i) => {
                out.push_str("rule-");
                out.push_str(itoa::Buffer::new().format(i));
            }
        }
    }
}

impl std::fmt::Display for RuleId<'_> {
    /// The same spelling as [`RuleId::write_to`] (messages only; names use that).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::new();
        self.write_to(&mut text);
        f.write_str(&text)
    }
}

/// A rule match, fed field by field into a rule's hash. Written out rather than serialized:
/// this runs for every rule of every translation, and streaming the matches as JSON cost
/// about 5 % of a translation. Every field goes in, so matches that differ hash apart.
pub trait RuleMatch {
    /// Feeds every field, in declaration order.
    fn feed(&self, h: &mut Fnv1a);
}

impl RuleMatch for HttpRouteMatch {
    fn feed(&self, h: &mut Fnv1a) {
        match &self.path {
            Some(p) => {
                h.opt(p.type_.as_deref());
                h.opt(p.value.as_deref());
            }
            None => h.none(),
        }
        h.headers(self.headers.as_deref());
        h.headers(self.query_params.as_deref());
        h.opt(self.method.as_deref());
    }
}

impl RuleMatch for GrpcRouteMatch {
    fn feed(&self, h: &mut Fnv1a) {
        match &self.method {
            Some(m) => {
                h.opt(m.type_.as_deref());
                h.opt(m.service.as_deref());
                h.opt(m.method.as_deref());
            }
            None => h.none(),
        }
        h.headers(self.headers.as_deref());
    }
}

/// FNV-1a: a stable hash for names (std's hasher may change between Rust releases).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.update(bytes);
    h.hash
}

/// FNV-1a over fields. A field ends with a byte no UTF-8 text holds (0xff after a text, 0xfe
/// for an absent one, 0xfd after a list), so different fields never feed the same bytes.
pub struct Fnv1a {
    hash: u64,
}

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a {
            hash: 0xcbf29ce484222325,
        }
    }
}

impl Fnv1a {
    fn update(&mut self, bytes: &[u8]) {
        let mut hash = self.hash;
        for b in bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3);
        }
        self.hash = hash;
    }

    fn none(&mut self) {
        self.update(&[0xfe]);
    }

    fn opt(&mut self, text: Option<&str>) {
        match text {
            Some(t) => {
                self.update(t.as_bytes());
                self.update(&[0xff]);
            }
            None => self.none(),
        }
    }

    fn headers(&mut self, list: Option<&[HttpHeaderMatch]>) {
        let Some(list) = list else {
            return self.none();
        };
        for m in list {
            self.opt(m.type_.as_deref());
            self.opt(Some(&m.name));
            self.opt(Some(&m.value));
        }
        self.update(&[0xfd]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrpcMethodMatch, HttpPathMatch};
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-c/]{0,3}")
    }

    fn header() -> impl Strategy<Value = HttpHeaderMatch> {
        (text(), "[a-c]{0,2}", "[a-c/]{0,2}").prop_map(|(type_, name, value)| HttpHeaderMatch {
            type_,
            name,
            value,
        })
    }

    fn http_match() -> impl Strategy<Value = HttpRouteMatch> {
        (
            proptest::option::of((text(), text())),
            proptest::option::of(proptest::collection::vec(header(), 0..3)),
            proptest::option::of(proptest::collection::vec(header(), 0..3)),
            text(),
        )
            .prop_map(|(path, headers, query_params, method)| HttpRouteMatch {
                path: path.map(|(type_, value)| HttpPathMatch { type_, value }),
                headers,
                query_params,
                method,
            })
    }

    fn id(matches: &[HttpRouteMatch]) -> String {
        rule_id(None, Some(matches), 3).to_string()
    }

    proptest! {
        /// Matches that differ in any field (small alphabets make near misses common: a text
        /// moved from one field to the next, an empty list against none) get different ids,
        /// and equal matches the same one.
        #[test]
        fn different_matches_get_different_ids(
            a in proptest::collection::vec(http_match(), 1..3),
            b in proptest::collection::vec(http_match(), 1..3),
        ) {
            prop_assert_eq!(a == b, id(&a) == id(&b), "{:?} / {:?}", a, b);
        }
    }

    #[test]
    fn a_rule_is_named_by_its_name_else_its_matches_else_its_index() {
        let m = HttpRouteMatch {
            method: Some("GET".into()),
            ..Default::default()
        };
        assert_eq!(
            rule_id(Some("api"), Some(&[m.clone()][..]), 0).to_string(),
            "api"
        );
        assert!(id(&[m]).starts_with('m'));
        assert_eq!(
            rule_id::<HttpRouteMatch>(None, None, 2).to_string(),
            "rule-2"
        );
        assert_eq!(
            rule_id::<HttpRouteMatch>(None, Some(&[]), 2).to_string(),
            "rule-2"
        );
        // gRPC: the service and the method are fields of their own.
        let grpc = |service: &str, method: &str| GrpcRouteMatch {
            method: Some(GrpcMethodMatch {
                type_: None,
                service: Some(service.into()),
                method: Some(method.into()),
            }),
            headers: None,
        };
        assert_ne!(
            rule_id(None, Some(&[grpc("a", "bc")][..]), 0),
            rule_id(None, Some(&[grpc("ab", "c")][..]), 0)
        );
    }

    /// The names read as the formatting machinery would write them.
    #[test]
    fn names_match_format() {
        assert_eq!(
            route("httproute", "default", "r", &RuleId::Named("api"), 12),
            "httproute/default/r/api/12"
        );
        assert_eq!(
            route("httproute", "default", "r", &RuleId::Hashed(0xff), 3),
            "httproute/default/r/m00000000000000ff/3"
        );
        assert_eq!(
            route("grpcroute", "ns", "g", &RuleId::Index(0), 0),
            "grpcroute/ns/g/rule-0/0"
        );
        assert_eq!(cluster("ns", "svc", 8080, false), "ns/svc/8080");
        assert_eq!(cluster("ns", "svc", 80, true), "ns/svc/80/h2c");
        assert_eq!(cluster("ns", "svc", -1, false), "ns/svc/-1");
        for h in [0u64, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(RuleId::Hashed(h).to_string(), format!("m{h:016x}"));
            let i = h as usize;
            assert_eq!(RuleId::Index(i).to_string(), format!("rule-{i}"));
        }
    }
}
