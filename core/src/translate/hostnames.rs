//! Hostname matching between listeners and routes, with `*.` wildcards as the spec defines them.

use smallvec::SmallVec;

/// The hostnames a route serves through one listener. Most routes serve one there: held
/// inline, the list costs no allocation of its own.
pub type Hosts = SmallVec<[String; 1]>;

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
pub fn intersect(listener: Option<&str>, route: &[String]) -> Hosts {
    let mut out: Hosts = match (listener, route.is_empty()) {
        (None, true) => smallvec::smallvec!["*".to_string()],
        (None, false) => route.iter().cloned().collect(),
        (Some(l), true) => smallvec::smallvec![l.to_string()],
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

/// Of the hostnames of a listener's siblings (`None`: any host), those strictly more specific
/// than its own `own`: the listeners that take hosts away from it.
pub fn narrower(own: Option<&str>, siblings: &[Option<&str>]) -> Vec<String> {
    siblings
        .iter()
        .filter(|s| more_specific(**s, own))
        .filter_map(|s| s.map(str::to_string))
        .collect()
}

/// Listener isolation (GatewayHTTPListenerIsolation): of the hostnames a route serves through a
/// listener, drops those that a strictly more specific listener of the same port (`narrower`,
/// see [`narrower`]) covers, since requests for them belong to that listener alone.
pub fn isolate(hosts: Hosts, narrower: &[String]) -> Hosts {
    if narrower.is_empty() {
        // The usual listener: nothing to take away.
        return hosts;
    }
    hosts
        .into_iter()
        .filter(|h| !taken_by_sibling(h, narrower))
        .collect()
}

/// Whether every host `host` (a hostname or `*.` wildcard) matches belongs to one of the more
/// specific sibling listeners whose hostnames are `narrower`.
pub fn taken_by_sibling(host: &str, narrower: &[String]) -> bool {
    narrower.iter().any(|pattern| covers(pattern, host))
}

/// Misdirected requests (GatewayHTTPSListenerDetectMisdirectedRequests): on the TLS chain of an
/// HTTPS listener whose hostname is `own`, a request whose Host the hostname of another HTTPS
/// listener of the port (`siblings`, `None` for any host) matches better than `own` belongs to
/// that listener and is answered 421, so that the client opens a connection with that SNI.
///
/// Returns the virtual hosts to answer 421 on (the siblings' hostnames, `*` for a catch-all
/// sibling) and whether `own` needs a virtual host of its own: when a sibling covers `own`, the
/// hosts `own` is the best match for would otherwise fall into that sibling's 421 rather than
/// get the 404 of a host no route serves. Envoy picks the most specific virtual host (exact,
/// then longest wildcard suffix, then `*`), which is the spec's listener precedence.
pub fn misdirected(own: Option<&str>, siblings: &[Option<&str>]) -> (Vec<String>, bool) {
    let mut hosts: Vec<String> = siblings
        .iter()
        .filter(|s| **s != own)
        .map(|s| s.unwrap_or("*").to_string())
        .collect();
    hosts.sort();
    hosts.dedup();
    let own_needed = own.is_some() && siblings.iter().any(|s| more_specific(own, *s));
    (hosts, own_needed)
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
        let served =
            |own: Option<&str>| isolate(intersect(own, &route), &narrower(own, &siblings)).to_vec();
        assert_eq!(served(None), ["bar.com"]);
        assert_eq!(served(Some("*.example.com")), ["*.example.com"]);
        assert_eq!(served(Some("*.foo.example.com")), ["*.foo.example.com"]);
        assert_eq!(served(Some("abc.foo.example.com")), ["abc.foo.example.com"]);
        // A catch-all route keeps `*`: the more specific virtual hosts already win in Envoy.
        assert_eq!(
            isolate(intersect(None, &[]), &narrower(None, &siblings)).to_vec(),
            ["*"]
        );
    }

    /// The listeners of HTTPRouteHTTPSListenerDetectMisdirectedRequests: each listener's chain
    /// answers 421 for the other listeners' hostnames, and a listener a sibling covers keeps a
    /// virtual host of its own.
    #[test]
    fn misdirected_hosts_are_the_siblings() {
        let all = [
            None,
            Some("second-example.org"),
            Some("*.wildcard.org"),
            Some("fourth-example.wildcard.org"),
        ];
        let of = |own: Option<&str>| {
            let siblings: Vec<Option<&str>> = all.iter().copied().filter(|s| *s != own).collect();
            misdirected(own, &siblings)
        };
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            of(None),
            (
                strs(&[
                    "*.wildcard.org",
                    "fourth-example.wildcard.org",
                    "second-example.org"
                ]),
                false
            )
        );
        assert_eq!(
            of(Some("*.wildcard.org")),
            (
                strs(&["*", "fourth-example.wildcard.org", "second-example.org"]),
                true
            )
        );
        assert_eq!(
            of(Some("fourth-example.wildcard.org")),
            (strs(&["*", "*.wildcard.org", "second-example.org"]), true)
        );
        // A route hostname of the catch-all listener inside a sibling's hostname is the
        // sibling's; one that only contains it stays (its more specific host wins in Envoy).
        let of_catch_all = narrower(None, &all[1..]);
        assert!(taken_by_sibling("a.wildcard.org", &of_catch_all));
        assert!(taken_by_sibling("*.wildcard.org", &of_catch_all));
        assert!(!taken_by_sibling("*.org", &of_catch_all));
        let own = "fourth-example.wildcard.org";
        assert!(narrower(Some(own), &all[..3]).is_empty());
        assert!(!taken_by_sibling(own, &narrower(Some(own), &all[..3])));
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
        assert_eq!(intersect(None, &[]).to_vec(), r(&["*"]));
        assert_eq!(
            intersect(Some("*.example.com"), &r(&["foo.example.com", "bar.org"])).to_vec(),
            r(&["foo.example.com"])
        );
        assert_eq!(
            intersect(Some("foo.example.com"), &r(&["*.example.com"])).to_vec(),
            r(&["foo.example.com"])
        );
        assert_eq!(
            intersect(Some("*.example.com"), &r(&["*.foo.example.com"])).to_vec(),
            r(&["*.foo.example.com"])
        );
        assert!(intersect(Some("a.com"), &r(&["b.com"])).is_empty());
    }
}
