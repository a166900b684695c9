//! Hostname matching between listeners and routes, with `*.` wildcards as the spec defines them.

/// Whether `host` is covered by `pattern` (`*.example.com` covers `a.example.com` and `a.b.example.com`, not `example.com`).
pub fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => {
            // suffix is `.example.com`; the host needs at least one more label.
            let host_suffix = host.strip_prefix('*').unwrap_or(host);
            host_suffix.len() > suffix.len() && host_suffix.ends_with(suffix)
                || host.starts_with('*') && host_suffix == suffix
        }
        None => pattern == host,
    }
}

/// Whether `pattern` is a wildcard (`*.example.com`) matching the non-wildcard `host` with exactly one more label.
pub fn wildcard_covers_label(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) if !host.starts_with('*') => host
            .strip_suffix(suffix)
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        _ => false,
    }
}

/// The hostnames a route serves on a listener: the intersection of both sets.
///
/// `None` for the listener means any host; an empty route list means any host. The result
/// is empty when they do not intersect; `["*"]` means any host.
pub fn intersect(listener: Option<&str>, route: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match (listener, route.is_empty()) {
        (None, true) => vec!["*".to_string()],
        (None, false) => route.to_vec(),
        (Some(l), true) => vec![l.to_string()],
        (Some(l), false) => route
            .iter()
            .filter_map(|r| {
                if covers(l, r) {
                    Some(r.clone())
                } else if covers(r, l) {
                    Some(l.to_string())
                } else {
                    None
                }
            })
            .collect(),
    };
    out.sort();
    out.dedup();
    out
}

/// Whether listener hostname `other` is strictly more specific than `this` (`None`: any host):
/// it matches a subset of the hosts `this` matches.
pub fn more_specific(other: Option<&str>, this: Option<&str>) -> bool {
    match (other, this) {
        (Some(_), None) => true,
        (Some(o), Some(t)) => o != t && covers(t, o),
        (None, _) => false,
    }
}

/// Listener isolation (GatewayHTTPListenerIsolation): of the hostnames a route serves through a
/// listener whose hostname is `own`, drops those that a strictly more specific listener of the
/// same port (`siblings`) covers, since requests for them belong to that listener alone.
pub fn isolate(hosts: Vec<String>, own: Option<&str>, siblings: &[Option<&str>]) -> Vec<String> {
    hosts
        .into_iter()
        .filter(|h| {
            !siblings
                .iter()
                .any(|s| more_specific(*s, own) && s.is_some_and(|pattern| covers(pattern, h)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_specific_listeners_take_their_hosts() {
        let route: Vec<String> = [
            "bar.com",
            "*.example.com",
            "*.foo.example.com",
            "abc.foo.example.com",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        let siblings = [
            None,
            Some("*.example.com"),
            Some("*.foo.example.com"),
            Some("abc.foo.example.com"),
        ];
        let served = |own: Option<&str>| isolate(intersect(own, &route), own, &siblings);
        assert_eq!(served(None), ["bar.com"]);
        assert_eq!(served(Some("*.example.com")), ["*.example.com"]);
        assert_eq!(served(Some("*.foo.example.com")), ["*.foo.example.com"]);
        assert_eq!(served(Some("abc.foo.example.com")), ["abc.foo.example.com"]);
        // A catch-all route keeps `*`: the more specific virtual hosts already win in Envoy.
        assert_eq!(isolate(intersect(None, &[]), None, &siblings), ["*"]);
    }

    #[test]
    fn wildcards_cover_one_or_more_labels() {
        assert!(covers("*.example.com", "a.example.com"));
        assert!(covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(covers("*.example.com", "*.a.example.com"));
        assert!(covers("*.example.com", "*.example.com"));
        assert!(!covers("a.example.com", "b.example.com"));
    }

    #[test]
    fn intersection_follows_the_spec() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(intersect(None, &[]), r(&["*"]));
        assert_eq!(
            intersect(Some("*.example.com"), &r(&["foo.example.com", "bar.org"])),
            r(&["foo.example.com"])
        );
        assert_eq!(
            intersect(Some("foo.example.com"), &r(&["*.example.com"])),
            r(&["foo.example.com"])
        );
        assert_eq!(
            intersect(Some("*.example.com"), &r(&["*.foo.example.com"])),
            r(&["*.foo.example.com"])
        );
        assert!(intersect(Some("a.com"), &r(&["b.com"])).is_empty());
    }
}
