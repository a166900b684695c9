//! `kind: http-repeat` (SCHEMA.md §6.4): `count` single round trips without retry, each echoed
//! request checked on its own (HTTPRouteRequestHeaderModifierBackendWeights).

use serde_json::Value;

use crate::http;
use crate::traffic::{build, Target, REQUEST_TIMEOUT};

/// The echoed values of a request header (`headers` keys are canonical names; matched
/// case-insensitively like every header name in the expectations).
fn echoed_values(echoed: &Value, name: &str) -> Vec<String> {
    echoed
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Checks `perResponse` on one echoed request.
fn check(per: &Value, echoed: &Value) -> Result<(), String> {
    for (name, want) in per
        .get("echoedHeaderValueCount")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let got = echoed_values(echoed, name);
        if Some(got.len() as u64) != want.as_u64() {
            return Err(format!(
                "header {name} has values {got:?}, want {want} of them"
            ));
        }
    }
    if let Some(name) = per.get("podStartsWithEchoedHeader").and_then(Value::as_str) {
        let pod = echoed.get("pod").and_then(Value::as_str).unwrap_or("");
        let prefix = echoed_values(echoed, name)
            .into_iter()
            .next()
            .ok_or(format!("header {name} not echoed"))?;
        if !pod.starts_with(&prefix) {
            return Err(format!("pod {pod:?} does not start with {name} {prefix:?}"));
        }
    }
    Ok(())
}

/// Sends the round trips; any transport error or failed check fails the entry at once.
pub fn run(e: &Value, t: &Target) -> Result<(), String> {
    let count = e.get("count").and_then(Value::as_u64).unwrap_or(1);
    let per = e.get("perResponse").cloned().unwrap_or_default();
    for i in 0..count {
        let req = build(e, t)?;
        let r = http::send(t.addr, &req, None, REQUEST_TIMEOUT)
            .map_err(|m| format!("round trip {i}: {m}"))?;
        let echoed: Value = serde_json::from_slice(&r.body)
            .map_err(|m| format!("round trip {i}: status {}, echo body: {m}", r.status))?;
        check(&per, &echoed).map_err(|m| format!("round trip {i}: {m}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backend_header_and_pod_prefix() {
        let per = json!({"echoedHeaderValueCount": {"Backend": 1}, "podStartsWithEchoedHeader": "Backend"});
        let ok = json!({"pod": "infra-backend-v1-abc-def", "headers": {"Backend": ["infra-backend-v1"]}});
        assert!(check(&per, &ok).is_ok());
        let two = json!({"pod": "infra-backend-v1-abc-def", "headers": {"Backend": ["infra-backend-v1", "x"]}});
        assert!(check(&per, &two).is_err());
        let wrong = json!({"pod": "infra-backend-v2-abc-def", "headers": {"Backend": ["infra-backend-v1"]}});
        assert!(check(&per, &wrong).is_err());
    }
}
