//! Checks of route filters the CRDs let through (or that input skipping the API server
//! carries) but that cannot be programmed: such a rule is not served, and the route says so
//! with `UnsupportedValue`, as Envoy Gateway does.

use crate::model::*;

/// Why a filter of a rule cannot be programmed.
pub type FilterError = String;

/// Checks the filters of an HTTPRoute rule.
pub fn check_http_rule(rule: &HttpRouteRule) -> Result<(), FilterError> {
    let filters = rule.filters.as_deref().unwrap_or_default();
    let count = |t: &str| filters.iter().filter(|f| f.type_ == t).count();
    if count("URLRewrite") > 1 {
        return Err("a rule may have at most one URLRewrite filter".into());
    }
    if count("RequestRedirect") > 1 {
        return Err("a rule may have at most one RequestRedirect filter".into());
    }
    if count("URLRewrite") > 0 && count("RequestRedirect") > 0 {
        return Err("URLRewrite and RequestRedirect cannot be combined in a rule".into());
    }
    for f in filters {
        match f.type_.as_str() {
            "RequestHeaderModifier" => header_modifier(f.request_header_modifier.as_ref())?,
            "ResponseHeaderModifier" => header_modifier(f.response_header_modifier.as_ref())?,
            "URLRewrite" => {
                let Some(r) = &f.url_rewrite else {
                    return Err("URLRewrite filter without urlRewrite".into());
                };
                if let Some(h) = &r.hostname {
                    hostname(h)?;
                }
                if let Some(p) = &r.path {
                    path_modifier(p)?;
                }
            }
            "RequestRedirect" => {
                let Some(r) = &f.request_redirect else {
                    return Err("RequestRedirect filter without requestRedirect".into());
                };
                if let Some(s) = &r.scheme {
                    if s != "http" && s != "https" {
                        return Err(format!("redirect scheme {s:?} is not http or https"));
                    }
                }
                if let Some(code) = r.status_code {
                    if ![301, 302, 303, 307, 308].contains(&code) {
                        return Err(format!("redirect status code {code} is not supported"));
                    }
                }
                if let Some(h) = &r.hostname {
                    hostname(h)?;
                }
                if let Some(p) = &r.path {
                    path_modifier(p)?;
                }
            }
            "RequestMirror" | "CORS" => {}
            other => return Err(format!("filter type {other} is not supported")),
        }
    }
    Ok(())
}

/// Checks the filters of a GRPCRoute rule.
pub fn check_grpc_rule(rule: &GrpcRouteRule) -> Result<(), FilterError> {
    for f in rule.filters.iter().flatten() {
        match f.type_.as_str() {
            "RequestHeaderModifier" => header_modifier(f.request_header_modifier.as_ref())?,
            "ResponseHeaderModifier" => header_modifier(f.response_header_modifier.as_ref())?,
            "RequestMirror" => {}
            other => return Err(format!("filter type {other} is not supported")),
        }
    }
    Ok(())
}

/// Checks backendRef-level filters: only header modifiers and a hostname-only URLRewrite
/// can be applied per backend (Envoy's weighted clusters cannot rewrite paths).
pub fn check_backend_filters(filters: &[HttpRouteFilter]) -> Result<(), FilterError> {
    let count = |t: &str| filters.iter().filter(|f| f.type_ == t).count();
    if count("URLRewrite") > 1 {
        return Err("a backendRef may have at most one URLRewrite filter".into());
    }
    for f in filters {
        match f.type_.as_str() {
            "RequestHeaderModifier" => header_modifier(f.request_header_modifier.as_ref())?,
            "ResponseHeaderModifier" => header_modifier(f.response_header_modifier.as_ref())?,
            "URLRewrite" if f.url_rewrite.as_ref().is_some_and(|r| r.path.is_none()) => {
                if let Some(h) = f.url_rewrite.as_ref().and_then(|r| r.hostname.as_ref()) {
                    hostname(h)?;
                }
            }
            "URLRewrite" => {
                return Err("URLRewrite path modifier is not supported within a backendRef".into())
            }
            other => {
                return Err(format!(
                    "filter type {other} is not supported within a backendRef"
                ))
            }
        }
    }
    Ok(())
}

/// Checks GRPCRoute backendRef-level filters: only header modifiers can be applied per
/// backend (a mirror per backend has no Envoy equivalent).
pub fn check_grpc_backend_filters(filters: &[GrpcRouteFilter]) -> Result<(), FilterError> {
    for f in filters {
        match f.type_.as_str() {
            "RequestHeaderModifier" => header_modifier(f.request_header_modifier.as_ref())?,
            "ResponseHeaderModifier" => header_modifier(f.response_header_modifier.as_ref())?,
            other => {
                return Err(format!(
                    "filter type {other} is not supported within a backendRef"
                ))
            }
        }
    }
    Ok(())
}

/// A header name: an RFC 7230 token, and never a pseudo-header or `Host`.
fn header_name(name: &str) -> Result<(), FilterError> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(tchar) {
        return Err(format!("header name {name:?} is not valid"));
    }
    // Envoy Gateway refuses `Host` in either direction.
    if name.eq_ignore_ascii_case("host") {
        return Err("the Host header cannot be modified by a header filter".into());
    }
    Ok(())
}

fn header_modifier(m: Option<&HttpHeaderFilter>) -> Result<(), FilterError> {
    let Some(m) = m else {
        return Ok(());
    };
    for h in m.set.iter().flatten().chain(m.add.iter().flatten()) {
        header_name(&h.name)?;
        if h.value.is_empty() {
            return Err(format!("header {} has an empty value", h.name));
        }
        if h.value.contains(['\r', '\n', '\0']) {
            return Err(format!("header {} value contains a line break", h.name));
        }
    }
    for name in m.remove.iter().flatten() {
        header_name(name)?;
    }
    Ok(())
}

fn path_modifier(p: &HttpPathModifier) -> Result<(), FilterError> {
    match p.type_.as_str() {
        "ReplaceFullPath" if p.replace_full_path.is_some() && p.replace_prefix_match.is_none() => {
            Ok(())
        }
        "ReplacePrefixMatch"
            if p.replace_prefix_match.is_some() && p.replace_full_path.is_none() =>
        {
            Ok(())
        }
        "ReplaceFullPath" | "ReplacePrefixMatch" => Err(format!(
            "path modifier {} must set exactly its own field",
            p.type_
        )),
        other => Err(format!("path modifier type {other:?} is not supported")),
    }
}

/// A DNS-1123 subdomain.
fn hostname(h: &str) -> Result<(), FilterError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if h.len() > 253 || !h.split('.').all(label_ok) {
        return Err(format!("hostname {h:?} is not a valid DNS name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_tokens() {
        assert!(header_name("x-good").is_ok());
        assert!(header_name("bad:header").is_err());
        assert!(header_name("example/2").is_err());
        assert!(header_name("").is_err());
        assert!(header_name("Host").is_err());
    }

    #[test]
    fn hostnames_follow_dns_1123() {
        assert!(hostname("rewrite.com").is_ok());
        assert!(hostname("-rewrite.com").is_err());
        assert!(hostname("Rewrite.com").is_err());
    }
}
