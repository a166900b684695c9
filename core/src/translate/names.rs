//! How IR names are spelled: one route per rule match, one cluster per Service port. They are
//! built for every route of every translation, so they are appended piece by piece rather
//! than through the formatting machinery (which costs as much as the rest of a route's name).

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
pub fn route(kind: &str, namespace: &str, name: &str, rule: &str, index: usize) -> String {
    let mut out = String::with_capacity(kind.len() + namespace.len() + name.len() + rule.len() + 8);
    join(&mut out, &[kind, namespace, name, rule]);
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

/// `m` and 16 hex digits: a rule without a name, by the hash of its matches.
pub fn hashed_rule(hash: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(17);
    out.push('m');
    for shift in (0..16).rev() {
        out.push(char::from(HEX[((hash >> (shift * 4)) & 0xf) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names read as the formatting machinery would write them.
    #[test]
    fn names_match_format() {
        assert_eq!(
            route("httproute", "default", "r", "m00ff", 12),
            "httproute/default/r/m00ff/12"
        );
        assert_eq!(
            route("grpcroute", "ns", "g", "rule-0", 0),
            "grpcroute/ns/g/rule-0/0"
        );
        assert_eq!(cluster("ns", "svc", 8080, false), "ns/svc/8080");
        assert_eq!(cluster("ns", "svc", 80, true), "ns/svc/80/h2c");
        assert_eq!(cluster("ns", "svc", -1, false), "ns/svc/-1");
        for h in [0u64, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hashed_rule(h), format!("m{h:016x}"));
        }
    }
}
